"""Shared data and tiny fitted models for the ``xLSTMForecaster`` tests.

Every model here is deliberately tiny (one block of width 8, one or two epochs) so that the whole folder
runs in a few minutes on a 2-core CPU; the tests check the estimator's plumbing (layouts, timestamps,
scale, errors, persistence), not forecast quality (that is ``test_quality.py``, marked ``slow``).

Fitted models are session-scoped and shared: tests must not refit, ``set_params`` or otherwise mutate
them (use ``sklearn.base.clone`` or :func:`tiny` for a fresh estimator).

Threads: the folder runs with ``torch.set_num_threads(1)`` (restored afterwards). These models are far
too small to gain from intra-op parallelism, and on a 2-core machine shared with another busy process
torch's OpenMP threads contend badly (docs/benchmarks.md, "CPU threads").
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

from xlstm_ts import xLSTMForecaster
from xlstm_ts.datasets import load_airline, make_synthetic

#: Settings that make a fit take well under a second on a CPU (after the first one).
TINY = dict(
    embedding_dim=8,
    num_blocks=1,
    num_heads=2,
    max_epochs=2,
    batch_size=64,
    verbose=False,
    device="cpu",
)
#: The covariate roles of :func:`xlstm_ts.datasets.make_synthetic`.
COVARIATES = dict(
    future_covariates=("promo", "season_sin"),
    past_covariates=("sensor",),
    static_covariates=("store_size",),
)
SYN_H, SYN_L = 6, 12  # horizon and lookback of the synthetic-panel models


def tiny(**params) -> xLSTMForecaster:
    """A fresh, unfitted, tiny ``xLSTMForecaster`` (``params`` override :data:`TINY`)."""
    return xLSTMForecaster(**{**TINY, **params})


@pytest.fixture(scope="package", autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------------------------- data
def airline_series() -> pd.Series:
    return load_airline()


def long_panel(n_series: int = 3, length: int = 72) -> pd.DataFrame:
    """Hourly long frame (``unique_id``, ``ds``, ``y``) without covariates."""
    return make_synthetic(n_series=n_series, length=length, covariates=False)


def wide_panel(n_series: int = 3, length: int = 72) -> pd.DataFrame:
    """The same panel as a wide frame: DatetimeIndex, one column per series."""
    wide = long_panel(n_series, length).pivot(index="ds", columns="unique_id", values="y")
    wide.columns = list(wide.columns)  # plain column labels, no columns name
    wide.index = pd.DatetimeIndex(wide.index, name="ds")
    return wide


def covariate_panel(n_series: int = 2, length: int = 80) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(full, history, future)``: ``make_synthetic`` with every covariate kind; ``future`` holds the
    last ``SYN_H`` rows of each series (its id, time and future-covariate columns), ``history`` the rest."""
    full = make_synthetic(n_series=n_series, length=length)
    history = full.groupby("unique_id", sort=False).head(length - SYN_H).reset_index(drop=True)
    future = full.groupby("unique_id", sort=False).tail(SYN_H).reset_index(drop=True)
    future = future[["unique_id", "ds", *COVARIATES["future_covariates"]]]
    return full, history, future


@pytest.fixture(scope="session")
def airline() -> pd.Series:
    return airline_series()


@pytest.fixture(scope="session")
def long_df() -> pd.DataFrame:
    return long_panel()


@pytest.fixture(scope="session")
def wide_df() -> pd.DataFrame:
    return wide_panel()


@pytest.fixture(scope="session")
def cov_data() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return covariate_panel()


# ---------------------------------------------------------------------------------- fitted models
@pytest.fixture(scope="session")
def series_model(airline) -> xLSTMForecaster:
    return tiny(horizon=12).fit(airline)


@pytest.fixture(scope="session")
def series_q_model(airline) -> xLSTMForecaster:
    return tiny(horizon=12, loss="quantile").fit(airline)


@pytest.fixture(scope="session")
def long_model(long_df) -> xLSTMForecaster:
    return tiny(horizon=SYN_H, lookback=SYN_L).fit(long_df)


@pytest.fixture(scope="session")
def long_q_model(long_df) -> xLSTMForecaster:
    return tiny(horizon=SYN_H, lookback=SYN_L, loss="quantile").fit(long_df)


@pytest.fixture(scope="session")
def wide_model(wide_df) -> xLSTMForecaster:
    return tiny(horizon=SYN_H, lookback=SYN_L).fit(wide_df)


@pytest.fixture(scope="session")
def wide_q_model(wide_df) -> xLSTMForecaster:
    return tiny(horizon=SYN_H, lookback=SYN_L, loss="quantile").fit(wide_df)


@pytest.fixture(scope="session")
def cov_model(cov_data) -> xLSTMForecaster:
    _, history, _ = cov_data
    return tiny(horizon=SYN_H, lookback=SYN_L, **COVARIATES).fit(history)


# ----------------------------------------------------------------------------------------- helpers
def fitted_state(est) -> dict:
    """A deep snapshot of every fitted attribute (``name_``) of ``est``, network weights included."""
    state = {}
    for name, value in vars(est).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, torch.nn.Module):
            state[name] = {k: v.detach().clone() for k, v in value.state_dict().items()}
            state[name + "training"] = value.training
        else:
            state[name] = copy.deepcopy(value)
    return state


def assert_same_state(before: dict, after: dict) -> None:
    """``before == after`` for snapshots of :func:`fitted_state` (exact equality)."""
    assert before.keys() == after.keys()
    for name in before:
        _assert_equal(before[name], after[name], name)


def _assert_equal(a, b, where: str) -> None:
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_equal(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_equal(x, y, f"{where}[{i}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        assert type(a) is type(b), where
        _assert_equal(vars(a), vars(b), where)
    else:
        assert a == b, where
