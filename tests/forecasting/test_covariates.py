"""Future-known, past-only and static covariates (``make_synthetic``): fit, ``X_future`` at predict time,
and the typed errors when it is missing or incomplete."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlstm_ts.data.errors import ColumnError, InputDataError, MissingValueError

from .conftest import COVARIATES, SYN_H, SYN_L, tiny


def test_fit_predict_with_every_covariate_kind(cov_model, cov_data):
    full, history, future = cov_data
    forecast = cov_model.predict(history, X_future=future)
    assert list(forecast.columns) == ["unique_id", "ds", "y"]
    assert len(forecast) == history["unique_id"].nunique() * SYN_H
    for sid, group in forecast.groupby("unique_id", sort=False):
        expected = full.loc[full["unique_id"] == sid, "ds"].iloc[-SYN_H:]
        assert list(group["ds"]) == list(expected), sid
        level = history.loc[history["unique_id"] == sid, "y"].to_numpy()[-SYN_L:]
        assert np.isfinite(group["y"]).all()
        assert level.min() - 2 * np.ptp(level) < group["y"].min()
        assert group["y"].max() < level.max() + 2 * np.ptp(level)
    assert cov_model.network_.n_future == 2
    assert cov_model.network_.n_past == 1
    assert cov_model.network_.n_static == 1


def test_predict_without_x_uses_the_stored_context_and_x_future(cov_model, cov_data):
    """``predict(X_future=...)`` (no new history) forecasts the ``horizon`` steps right after the
    training data, so ``X_future`` holds exactly those steps."""
    _, history, future = cov_data
    forecast = cov_model.predict(X_future=future)
    expected = cov_model.predict(history, X_future=future)
    pd.testing.assert_frame_equal(forecast, expected)


def test_predict_without_x_future_raises_column_error(cov_model, cov_data):
    _, history, _ = cov_data
    with pytest.raises(ColumnError, match=r"X_future"):
        cov_model.predict(history)
    with pytest.raises(ColumnError, match=r"X_future"):
        cov_model.predict()


def test_x_future_without_a_covariate_column_raises_column_error(cov_model, cov_data):
    _, history, future = cov_data
    with pytest.raises(ColumnError, match=r"season_sin"):
        cov_model.predict(history, X_future=future.drop(columns="season_sin"))


def test_x_future_lacking_rows_raises_a_typed_error(cov_model, cov_data):
    """Missing rows are a :class:`MissingValueError` (the data layer documents it so:
    ``xlstm_ts.data.errors.MissingValueError`` covers "rows missing from future covariates")."""
    _, history, future = cov_data
    short = future.groupby("unique_id", sort=False).head(SYN_H - 2)
    with pytest.raises(MissingValueError, match=r"X_future lacks 4 of the 12 rows") as info:
        cov_model.predict(history, X_future=short)
    assert isinstance(info.value, InputDataError)
    one_series = future[future["unique_id"] == future["unique_id"].iloc[0]]
    with pytest.raises(MissingValueError, match=r"series_1"):
        cov_model.predict(history, X_future=one_series)


def test_x_future_with_extra_rows_and_columns_is_accepted(cov_model, cov_data):
    full, history, future = cov_data
    expected = cov_model.predict(history, X_future=future)
    extra = full.copy()  # every row of every series, the target and the other covariates too
    pd.testing.assert_frame_equal(cov_model.predict(history, X_future=extra), expected)


def test_future_covariates_change_the_forecast(cov_model, cov_data):
    _, history, future = cov_data
    base = cov_model.predict(history, X_future=future)["y"].to_numpy()
    flipped = future.assign(promo=1 - future["promo"])
    changed = cov_model.predict(history, X_future=flipped)["y"].to_numpy()
    assert not np.allclose(base, changed)


def test_past_covariates_change_the_forecast(cov_model, cov_data):
    _, history, future = cov_data
    base = cov_model.predict(history, X_future=future)["y"].to_numpy()
    moved = history.assign(sensor=history["sensor"] * 0.5)
    assert not np.allclose(base, cov_model.predict(moved, X_future=future)["y"].to_numpy())


def test_static_covariates_change_the_forecast(cov_model, cov_data):
    _, history, future = cov_data
    base = cov_model.predict(history, X_future=future)["y"].to_numpy()
    bigger = history.assign(store_size=history["store_size"] * 2.0)
    assert not np.allclose(base, cov_model.predict(bigger, X_future=future)["y"].to_numpy())


def test_predict_history_without_a_past_covariate_raises_column_error(cov_model, cov_data):
    _, history, future = cov_data
    with pytest.raises(ColumnError, match=r"sensor"):
        cov_model.predict(history.drop(columns="sensor"), X_future=future)


def test_fit_without_a_declared_covariate_column_raises_column_error(cov_data):
    _, history, _ = cov_data
    with pytest.raises(ColumnError, match=r"store_size"):
        tiny(horizon=SYN_H, lookback=SYN_L, **COVARIATES).fit(history.drop(columns="store_size"))


def test_static_covariate_that_varies_raises_column_error(cov_data):
    _, history, _ = cov_data
    varying = history.assign(store_size=np.arange(len(history), dtype=float))
    with pytest.raises(ColumnError, match=r"constant within each series"):
        tiny(horizon=SYN_H, lookback=SYN_L, static_covariates=("store_size",)).fit(varying)


def test_covariates_need_the_long_layout(airline):
    with pytest.raises(ColumnError, match=r"long layout"):
        tiny(horizon=3, lookback=6, past_covariates=("sensor",)).fit(airline)


def test_only_past_covariates_need_no_x_future(cov_data):
    _, history, _ = cov_data
    est = tiny(horizon=SYN_H, lookback=SYN_L, past_covariates=("sensor",)).fit(history)
    forecast = est.predict()
    assert np.isfinite(forecast["y"]).all() and len(forecast) == 2 * SYN_H


def test_backtest_with_covariates(cov_model, cov_data):
    full, _, _ = cov_data
    result = cov_model.backtest(full, n_windows=2)
    assert len(result.windows) == 2 * full["unique_id"].nunique()
    assert np.isfinite(result.windows[["mae", "mse", "mase"]].to_numpy()).all()


def test_predict_without_x_integer_time(cov_data):
    """The same with integer time steps (the stored context's index is rebuilt from the last step)."""
    full, _, _ = cov_data
    full = full.assign(ds=full.groupby("unique_id").cumcount() + 100)
    history = full.groupby("unique_id", sort=False).head(len(full) // 2 - SYN_H)
    future = full.groupby("unique_id", sort=False).tail(SYN_H)[["unique_id", "ds", "promo", "season_sin"]]
    est = tiny(horizon=SYN_H, lookback=SYN_L, max_epochs=1, **COVARIATES).fit(history)
    forecast = est.predict(X_future=future)
    pd.testing.assert_frame_equal(forecast, est.predict(history, X_future=future))
    assert list(forecast["ds"].iloc[:SYN_H]) == list(range(174, 174 + SYN_H))
