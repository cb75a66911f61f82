"""Rolling-origin ``backtest`` (per-window, per-series metrics and an overall summary) and ``score``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from .conftest import SYN_H, SYN_L, assert_same_state, fitted_state, tiny


def test_backtest_windows_and_overall(long_model, long_df):
    result = long_model.backtest(long_df, n_windows=2)
    n_series = long_df["unique_id"].nunique()
    windows = result.windows
    assert list(windows.columns) == ["window", "cutoff", "unique_id", "mae", "mse", "mase"]
    assert len(windows) == 2 * n_series
    assert sorted(windows["window"].unique()) == [0, 1]
    assert set(windows["unique_id"]) == set(long_df["unique_id"])
    metrics = windows[["mae", "mse", "mase"]].to_numpy()
    assert np.isfinite(metrics).all() and (metrics >= 0).all()
    assert set(result.overall) == {"mae", "mse", "mase"}
    assert all(np.isfinite(v) and v >= 0 for v in result.overall.values())
    assert (windows["mse"] >= windows["mae"] ** 2 - 1e-9).all()  # Jensen


def test_backtest_cutoffs_and_forecast_table(long_model, long_df):
    result = long_model.backtest(long_df, n_windows=2)
    last_times = long_df.groupby("unique_id")["ds"].max()
    for _, row in result.windows.iterrows():
        back = (1 - row["window"]) * SYN_H + SYN_H  # steps from the cutoff to the end of the series
        assert row["cutoff"] == last_times[row["unique_id"]] - pd.Timedelta(hours=back)
    forecasts = result.forecasts
    assert len(forecasts) == 2 * long_df["unique_id"].nunique() * SYN_H
    for (w, sid), group in forecasts.groupby(["window", "unique_id"]):
        row = result.windows[(result.windows["window"] == w) & (result.windows["unique_id"] == sid)].iloc[0]
        truth = long_df.set_index(["unique_id", "ds"]).loc[sid].loc[group["ds"], "y"].to_numpy()
        np.testing.assert_allclose(group["y_true"].to_numpy(), truth)
        err = group["y_pred"].to_numpy() - truth
        assert row["mae"] == pytest.approx(np.abs(err).mean())
        assert row["mse"] == pytest.approx((err**2).mean())
    assert result.overall["mae"] == pytest.approx((forecasts["y_pred"] - forecasts["y_true"]).abs().mean())


def test_backtest_last_window_matches_predict_on_the_history(series_model, airline):
    result = series_model.backtest(airline, n_windows=1)
    expected = series_model.predict(airline[:-12])
    np.testing.assert_allclose(result.forecasts["y_pred"].to_numpy(), expected.to_numpy())
    assert result.windows["cutoff"].iloc[0] == pd.Timestamp("1959-12-01")


def _history_and_future(df, cut_from_end: int, horizon: int):
    """Rows of each series before ``len - cut_from_end`` and the ``horizon`` rows after that."""
    pos = df.groupby("unique_id", sort=False).cumcount()
    length = df.groupby("unique_id", sort=False)["y"].transform("size")
    cut = length - cut_from_end
    return df[pos < cut], df[(pos >= cut) & (pos < cut + horizon)]


@pytest.mark.parametrize("fixture", ["long_model", "long_q_model", "cov_model"])
def test_backtest_windows_match_predict_on_each_history(fixture, request, long_df, cov_data):
    """Every backtest window (refit=False) forecasts what ``predict`` gives on that window's history
    (and, with future covariates, the covariates of that window's horizon)."""
    est = request.getfixturevalue(fixture)
    data = cov_data[0] if fixture == "cov_model" else long_df
    n_windows, step = 3, 2
    result = est.backtest(data, n_windows=n_windows, step=step)
    for w in range(n_windows):
        back = (n_windows - 1 - w) * step + SYN_H
        history, future = _history_and_future(data, back, SYN_H)
        x_future = future if est.future_covariates else None
        expected = est.predict(history, X_future=x_future)
        got = result.forecasts[result.forecasts["window"] == w]
        np.testing.assert_allclose(got["y_pred"].to_numpy(), expected["y"].to_numpy(), rtol=1e-5)
        np.testing.assert_array_equal(got["ds"].to_numpy(), expected["ds"].to_numpy())
        if est.loss == "quantile":
            np.testing.assert_allclose(got["y_q0.9"].to_numpy(), expected["y_q0.9"].to_numpy(), rtol=1e-5)


def test_backtest_mase_uses_the_seasonal_naive_scale(series_model, airline):
    result = series_model.backtest(airline, n_windows=1)
    history = airline.to_numpy()[:-12]
    scale = np.abs(history[12:] - history[:-12]).mean()  # monthly data: season 12
    assert result.windows["mase"].iloc[0] == pytest.approx(result.windows["mae"].iloc[0] / scale)
    custom = series_model.backtest(airline, n_windows=1, season_length=1)
    assert custom.windows["mase"].iloc[0] == pytest.approx(
        result.windows["mae"].iloc[0] / np.abs(np.diff(history)).mean()
    )


def test_backtest_step(series_model, airline):
    result = series_model.backtest(airline, n_windows=3, step=2)
    assert list(result.windows["cutoff"]) == list(pd.date_range("1959-08-01", periods=3, freq="2MS"))


def test_backtest_wide_layout(wide_model, wide_df):
    result = wide_model.backtest(wide_df, n_windows=2)
    assert len(result.windows) == 2 * wide_df.shape[1]
    assert set(result.windows["unique_id"]) == set(wide_df.columns)


def test_backtest_with_quantiles_has_quantile_loss(long_q_model, long_df):
    result = long_q_model.backtest(long_df, n_windows=2)
    assert "quantile_loss" in result.windows.columns
    assert np.isfinite(result.windows["quantile_loss"]).all() and (result.windows["quantile_loss"] >= 0).all()
    assert "quantile_loss" in result.overall
    assert {"y_q0.1", "y_q0.5", "y_q0.9"} <= set(result.forecasts.columns)


def test_backtest_with_quantiles_series_layout(series_q_model, airline):
    result = series_q_model.backtest(airline, n_windows=2)
    assert "quantile_loss" in result.windows.columns and "quantile_loss" in result.overall


def test_backtest_refit(airline):
    est = tiny(horizon=6, lookback=12, max_epochs=1).fit(airline)
    before = fitted_state(est)
    result = est.backtest(airline, n_windows=2, refit=True)
    assert len(result.windows) == 2 and np.isfinite(result.windows["mae"]).all()
    assert_same_state(before, fitted_state(est))  # the clones were trained, not est


def test_backtest_refit_needs_no_fitted_model(airline):
    est = tiny(horizon=6, lookback=12, max_epochs=1)
    result = est.backtest(airline, n_windows=1, refit=True)
    assert np.isfinite(result.overall["mae"])
    assert not hasattr(est, "network_")


def test_backtest_without_refit_needs_a_fitted_model(airline):
    with pytest.raises(NotFittedError):
        tiny().backtest(airline, n_windows=1)


def test_backtest_too_many_windows(series_model, airline):
    with pytest.raises(ValueError, match=r"20 windows"):
        series_model.backtest(airline, n_windows=20)


@pytest.mark.parametrize(("kwargs", "match"), [({"n_windows": 0}, "n_windows"), ({"step": 0}, "step")])
def test_backtest_bad_arguments(kwargs, match, series_model, airline):
    with pytest.raises(ValueError, match=match):
        series_model.backtest(airline, **{"n_windows": 2, **kwargs})


def test_score_is_negative_mae(series_model, airline):
    score = series_model.score(airline)
    assert isinstance(score, float)
    assert score < 0
    assert score == pytest.approx(-series_model.backtest(airline, n_windows=1).overall["mae"])


def test_score_ranks_a_worse_model_lower(series_model, airline):
    """Higher is better: the same model scored on data it forecasts badly (a level jump) scores lower."""
    jumped = airline.copy()
    jumped.iloc[-12:] += 500.0
    assert series_model.score(jumped) < series_model.score(airline)


def test_backtest_series_of_different_lengths(long_model, long_df):
    last_id = long_df["unique_id"].iloc[-1]
    ragged = long_df.drop(long_df.index[long_df["unique_id"] == last_id][-3:])
    result = long_model.backtest(ragged, n_windows=2)
    for w in range(2):
        history, _ = _history_and_future(ragged, (1 - w) * SYN_H + SYN_H, SYN_H)
        expected = long_model.predict(history)
        got = result.forecasts[result.forecasts["window"] == w]
        np.testing.assert_allclose(got["y_pred"].to_numpy(), expected["y"].to_numpy(), rtol=1e-5)
        np.testing.assert_array_equal(got["ds"].to_numpy(), expected["ds"].to_numpy())


def test_backtest_on_unseen_series_matches_predict_without_instance_norm(wide_df):
    """For series the model was not fitted on, ``predict`` scales by the history it is given; each
    backtest window must forecast what ``predict`` gives on that window's history.  (With instance
    normalisation the per-series scaling cancels out, so only ``instance_norm=False`` shows a mismatch.)"""
    est = tiny(horizon=SYN_H, lookback=SYN_L, instance_norm=False).fit(wide_df)
    unseen = wide_df.rename(columns=lambda c: f"new_{c}") * 2.0 + 5.0
    result = est.backtest(unseen, n_windows=2)
    for w in range(2):
        expected = est.predict(unseen.iloc[: len(unseen) - (1 - w) * SYN_H - SYN_H])
        got = result.forecasts[result.forecasts["window"] == w]
        for sid in unseen.columns:
            np.testing.assert_allclose(
                got.loc[got["unique_id"] == sid, "y_pred"].to_numpy(), expected[sid].to_numpy(), rtol=1e-5
            )
