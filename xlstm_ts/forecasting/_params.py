"""Validation of the estimator's flat hyperparameters and the backbone config they describe."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from sklearn.utils._param_validation import InvalidParameterError

from ..nn import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStackConfig,
)
from .losses import LOSSES

SCALERS = ("standard", "robust", "none")
BACKBONES = ("mlstm", "slstm", "mixed")
FILL_METHODS = (None, "ffill", "interpolate", "zero")


def _fail(name: str, expected: str, value: Any) -> None:
    raise InvalidParameterError(
        f"The {name!r} parameter of xLSTMForecaster must be {expected}. Got {value!r} instead."
    )


def check_int(name: str, value: Any, low: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        _fail(name, f"an int in the range [{low}, inf)" + (" or None" if allow_none else ""), value)


def check_float(name: str, value: Any, low: float, high: float, high_open: bool = False) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and low <= value
    ok = ok and (value < high if high_open else value <= high)
    if not ok:
        _fail(name, f"a float in the range [{low}, {high}{')' if high_open else ']'}", value)


def check_choice(name: str, value: Any, options: Sequence[Any]) -> None:
    if value not in options:
        _fail(name, f"one of {list(options)}", value)


def check_quantiles(quantiles: Any) -> tuple[float, ...]:
    try:
        qs = tuple(float(q) for q in quantiles)
    except TypeError:
        qs = ()
    if not qs or any(not 0 < q < 1 for q in qs) or len(set(qs)) != len(qs) or list(qs) != sorted(qs):
        _fail("quantiles", "a non-empty increasing sequence of distinct floats in (0, 1)", quantiles)
    if 0.5 not in qs:
        _fail("quantiles", "a sequence containing 0.5 (the median is the point forecast)", quantiles)
    return qs


def stack_config(
    backbone: str | xLSTMBlockStackConfig,
    embedding_dim: int,
    num_blocks: int,
    num_heads: int,
    slstm_at: Sequence[int] | None,
    dropout: float,
) -> xLSTMBlockStackConfig:
    """The backbone config described by the flat hyperparameters (or ``backbone`` itself if a config)."""
    if isinstance(backbone, xLSTMBlockStackConfig):
        return xLSTMBlockStackConfig.from_dict(backbone.to_dict())
    check_choice("backbone", backbone, BACKBONES)
    mlstm = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=num_heads))
    slstm = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=num_heads), feedforward=FeedForwardConfig())
    common = dict(num_blocks=num_blocks, embedding_dim=embedding_dim, dropout=dropout)
    try:
        if backbone == "mlstm":
            return xLSTMBlockStackConfig(mlstm_block=mlstm, **common)
        if backbone == "slstm":
            return xLSTMBlockStackConfig(slstm_block=slstm, **common)
        at = [num_blocks // 2] if slstm_at is None else list(slstm_at)
        return xLSTMBlockStackConfig(mlstm_block=mlstm, slstm_block=slstm, slstm_at=at, **common)
    except ValueError as err:  # e.g. heads not dividing the width, slstm_at out of range
        raise InvalidParameterError(f"Invalid backbone hyperparameters for xLSTMForecaster: {err}") from err


def validate_params(est) -> None:
    """Check every hyperparameter of ``est`` (called at the start of ``fit``)."""
    check_int("horizon", est.horizon, 1)
    check_int("lookback", est.lookback, 1, allow_none=True)
    check_int("embedding_dim", est.embedding_dim, 4)
    check_int("num_blocks", est.num_blocks, 1)
    check_int("num_heads", est.num_heads, 1)
    check_float("dropout", est.dropout, 0.0, 1.0, high_open=True)
    check_choice("loss", est.loss, LOSSES)
    check_choice("scaler", est.scaler, SCALERS)
    check_float("learning_rate", est.learning_rate, 1e-12, 10.0)
    check_int("batch_size", est.batch_size, 1)
    check_int("max_epochs", est.max_epochs, 1)
    if est.weight_averaging is not None:
        check_float("weight_averaging", est.weight_averaging, 0.0, 1.0, high_open=True)
    check_int("early_stopping_patience", est.early_stopping_patience, 1, allow_none=True)
    check_int("stride", est.stride, 1)
    check_int("patch_size", est.patch_size, 1)
    check_float("validation_size", est.validation_size, 0.0, 1.0, high_open=True)
    check_choice("fill_method", est.fill_method, FILL_METHODS)
    check_choice("device", est.device, ("auto", "cpu", "cuda", "gpu", "mps"))
    if est.random_state is not None:
        check_int("random_state", est.random_state, 0)
    if est.trainer_kwargs is not None and not isinstance(est.trainer_kwargs, dict):
        _fail("trainer_kwargs", "a dict or None", est.trainer_kwargs)
    if est.loss == "quantile":
        check_quantiles(est.quantiles)
