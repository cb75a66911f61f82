"""xlstm-ts: xLSTM time-series forecasting with a scikit-learn-style API.

The forecaster is :class:`xLSTMForecaster`; hyperparameter search is :func:`tune` (with
:class:`PanelTimeSeriesSplit`, from :mod:`xlstm_ts.tuning`; Optuna is imported only when ``tune`` runs);
:class:`xLSTMEmbedder`, :class:`xLSTMRegressor` and :class:`xLSTMClassifier` (from :mod:`xlstm_ts.pipeline`)
are estimators on sequences; the backbone lives in :mod:`xlstm_ts.nn` and its kernels in
:mod:`xlstm_ts.kernels`.  The names below are imported on first use (PEP 562), so ``import xlstm_ts`` -- and
the ``xlstm-ts --help`` command -- does not load torch, pandas or Lightning until something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: Public name -> the submodule that defines it.
_LAZY = {
    "xLSTMForecaster": "forecasting",
    "tune": "tuning",
    "PanelTimeSeriesSplit": "tuning",
    "xLSTMEmbedder": "pipeline",
    "xLSTMRegressor": "pipeline",
    "xLSTMClassifier": "pipeline",
    "FeedForwardConfig": "nn",
    "mLSTMBlockConfig": "nn",
    "mLSTMLayerConfig": "nn",
    "sLSTMBlockConfig": "nn",
    "sLSTMLayerConfig": "nn",
    "xLSTMBlockStack": "nn",
    "xLSTMBlockStackConfig": "nn",
    "xLSTMLMModel": "nn",
    "xLSTMLMModelConfig": "nn",
    "xLSTMLargeConfig": "nn",
    "xLSTMLargeForCausalLM": "nn",
}

if TYPE_CHECKING:
    from .forecasting import xLSTMForecaster
    from .nn import (
        FeedForwardConfig,
        mLSTMBlockConfig,
        mLSTMLayerConfig,
        sLSTMBlockConfig,
        sLSTMLayerConfig,
        xLSTMBlockStack,
        xLSTMBlockStackConfig,
        xLSTMLMModel,
        xLSTMLMModelConfig,
        xLSTMLargeConfig,
        xLSTMLargeForCausalLM,
    )
    from .pipeline import xLSTMClassifier, xLSTMEmbedder, xLSTMRegressor
    from .tuning import PanelTimeSeriesSplit, tune


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "xLSTMForecaster",
    "tune",
    "PanelTimeSeriesSplit",
    "xLSTMEmbedder",
    "xLSTMRegressor",
    "xLSTMClassifier",
    "FeedForwardConfig",
    "__version__",
    "mLSTMBlockConfig",
    "mLSTMLayerConfig",
    "sLSTMBlockConfig",
    "sLSTMLayerConfig",
    "xLSTMBlockStack",
    "xLSTMBlockStackConfig",
    "xLSTMLMModel",
    "xLSTMLMModelConfig",
    "xLSTMLargeConfig",
    "xLSTMLargeForCausalLM",
]
