"""Input layouts (long, wide, Series, integer time): predict returns the training layout, the right
future timestamps, the original scale and finite values; ``predict(X=...)`` forecasts from new history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from .conftest import SYN_H, SYN_L, long_panel, tiny


def assert_plausible_level(forecast: np.ndarray, history: np.ndarray) -> None:
    """Finite, and in the original scale: within the history's range widened by its span on each side
    (a forecast left in the scaled space would sit near 0, far below these series' levels)."""
    forecast = np.asarray(forecast, dtype=float)
    assert np.isfinite(forecast).all()
    lo, hi = float(np.min(history)), float(np.max(history))
    span = hi - lo
    assert lo - span <= forecast.min() and forecast.max() <= hi + span, (forecast, lo, hi)


# ---------------------------------------------------------------------------------------- Series
def test_series_forecast_is_the_next_twelve_months(series_model, airline):
    forecast = series_model.predict()
    assert isinstance(forecast, pd.Series)
    assert forecast.name == "passengers"
    expected = pd.date_range("1961-01-01", "1961-12-01", freq="MS")
    assert list(forecast.index) == list(expected)
    assert_plausible_level(forecast.to_numpy(), airline.to_numpy()[-36:])
    # The level of the last year (~476), not the scaled level (~0) nor the whole series' mean (~280).
    assert 300 < forecast.mean() < 700


def test_series_forecast_from_truncated_history(series_model, airline):
    forecast = series_model.predict(airline[:-12])
    assert list(forecast.index) == list(pd.date_range("1960-01-01", periods=12, freq="MS"))
    assert not np.allclose(forecast.to_numpy(), series_model.predict().to_numpy())


def test_series_predict_uses_the_new_context_shift(series_model, airline):
    """With per-window instance normalisation (the default) a history shifted up by c gives the
    forecast shifted up by c: the new context is really used."""
    base = series_model.predict(airline)
    shifted = series_model.predict(airline + 1000.0)
    np.testing.assert_allclose(shifted.to_numpy(), base.to_numpy() + 1000.0, rtol=1e-4)
    assert list(shifted.index) == list(base.index)


def test_predict_without_instance_norm_uses_the_new_context(airline):
    est = tiny(horizon=6, lookback=12, instance_norm=False).fit(airline)
    base = est.predict(airline)
    shifted = est.predict(airline + 200.0)
    assert np.isfinite(shifted.to_numpy()).all()
    assert not np.allclose(shifted.to_numpy(), base.to_numpy())


def test_predict_x_equal_to_training_data_matches_predict(series_model, airline):
    pd.testing.assert_series_equal(series_model.predict(airline), series_model.predict(), check_exact=True)


# ------------------------------------------------------------------------------------------ long
def test_long_forecast_layout_and_timestamps(long_model, long_df):
    forecast = long_model.predict()
    ids = list(long_df["unique_id"].unique())
    assert list(forecast.columns) == ["unique_id", "ds", "y"]
    assert len(forecast) == len(ids) * SYN_H
    assert list(forecast["unique_id"].unique()) == ids
    for sid, group in forecast.groupby("unique_id", sort=False):
        history = long_df[long_df["unique_id"] == sid]
        last = history["ds"].iloc[-1]
        expected = pd.date_range(last + pd.Timedelta(hours=1), periods=SYN_H, freq="h")
        assert list(group["ds"]) == list(expected), sid
        assert_plausible_level(group["y"].to_numpy(), history["y"].to_numpy()[-SYN_L:])
    assert pd.api.types.is_datetime64_any_dtype(forecast["ds"])
    assert pd.api.types.is_float_dtype(forecast["y"])


def test_long_series_of_different_ends_get_their_own_timestamps(long_model, long_df):
    last_id = long_df["unique_id"].iloc[-1]
    cut = long_df.drop(long_df.index[long_df["unique_id"] == last_id][-5:])
    forecast = long_model.predict(cut)
    for sid, group in forecast.groupby("unique_id", sort=False):
        end = cut.loc[cut["unique_id"] == sid, "ds"].max()
        assert group["ds"].iloc[0] == end + pd.Timedelta(hours=1), sid
        assert len(group) == SYN_H


def test_long_predict_on_a_subset_of_series(long_model, long_df):
    first = long_df["unique_id"].iloc[0]
    forecast = long_model.predict(long_df[long_df["unique_id"] == first])
    assert set(forecast["unique_id"]) == {first} and len(forecast) == SYN_H
    full = long_model.predict()
    np.testing.assert_allclose(
        forecast["y"].to_numpy(), full.loc[full["unique_id"] == first, "y"].to_numpy(), rtol=1e-6
    )


def test_long_rows_in_any_series_order(long_model, long_df):
    """Rows sorted by time first (series interleaved) are the same data: same forecast."""
    interleaved = long_df.sort_values(["ds", "unique_id"], kind="stable").reset_index(drop=True)
    a = long_model.predict(long_df).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    b = long_model.predict(interleaved).sort_values(["unique_id", "ds"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_long_custom_column_names(long_df):
    renamed = long_df.rename(columns={"unique_id": "store", "ds": "when", "y": "sales"})
    est = tiny(horizon=3, lookback=6, max_epochs=1, id_col="store", time_col="when", target_col="sales")
    forecast = est.fit(renamed).predict()
    assert list(forecast.columns) == ["store", "when", "sales"]
    assert np.isfinite(forecast["sales"]).all()


# ------------------------------------------------------------------------------------------ wide
def test_wide_forecast_layout_and_timestamps(wide_model, wide_df):
    forecast = wide_model.predict()
    assert isinstance(forecast, pd.DataFrame)
    assert list(forecast.columns) == list(wide_df.columns)
    expected = pd.date_range(wide_df.index[-1] + pd.Timedelta(hours=1), periods=SYN_H, freq="h")
    assert list(forecast.index) == list(expected)
    for col in wide_df.columns:
        assert_plausible_level(forecast[col].to_numpy(), wide_df[col].to_numpy()[-SYN_L:])


def test_wide_predict_uses_the_new_context(wide_model, wide_df):
    base = wide_model.predict(wide_df)
    shifted = wide_model.predict(wide_df + 50.0)
    np.testing.assert_allclose(shifted.to_numpy(), base.to_numpy() + 50.0, rtol=1e-4)
    earlier = wide_model.predict(wide_df.iloc[:-4])
    assert earlier.index[0] == wide_df.index[-4]


def test_wide_predict_on_unseen_series_uses_the_global_model(wide_model, wide_df):
    """A global model forecasts series it has not seen (scaled by their own context)."""
    renamed = wide_df.rename(columns=lambda c: f"new_{c}")
    forecast = wide_model.predict(renamed)
    assert list(forecast.columns) == list(renamed.columns)
    for col in renamed.columns:
        assert_plausible_level(forecast[col].to_numpy(), renamed[col].to_numpy()[-SYN_L:])


# ----------------------------------------------------------------------------------- integer time
def test_integer_index_series(airline):
    y = pd.Series(airline.to_numpy(), name="v")  # RangeIndex 0..143
    est = tiny(horizon=5, lookback=10).fit(y)
    forecast = est.predict()
    assert list(forecast.index) == [144, 145, 146, 147, 148]
    assert forecast.name == "v"
    assert_plausible_level(forecast.to_numpy(), y.to_numpy()[-10:])
    later = est.predict(pd.Series(y.to_numpy()[:100], index=pd.RangeIndex(20, 120), name="v"))
    assert list(later.index) == [120, 121, 122, 123, 124]


def test_integer_time_column_long():
    df = long_panel(n_series=2, length=40)
    df["ds"] = df.groupby("unique_id").cumcount() + 7  # integer steps 7..46
    est = tiny(horizon=4, lookback=8).fit(df)
    forecast = est.predict()
    assert pd.api.types.is_integer_dtype(forecast["ds"])
    for _, group in forecast.groupby("unique_id"):
        assert list(group["ds"]) == [47, 48, 49, 50]


def test_unnamed_series(airline):
    y = airline.rename(None)
    forecast = tiny(horizon=3, lookback=6, max_epochs=1).fit(y).predict()
    assert isinstance(forecast, pd.Series) and len(forecast) == 3


@pytest.mark.parametrize("freq", ["D", "15min", "W-SUN", "QS"])
def test_other_frequencies(freq):
    index = pd.date_range("2020-01-05", periods=40, freq=freq)
    y = pd.Series(np.sin(np.arange(40) / 3.0) + 10.0, index=index, name="s")
    forecast = tiny(horizon=3, lookback=6, max_epochs=1).fit(y).predict()
    expected = pd.date_range(index[-1], periods=4, freq=freq)[1:]
    assert list(forecast.index) == list(expected)


@pytest.mark.parametrize("lookback", [12, 10])  # a multiple of the patch size, and one that is not
def test_patch_size(lookback, long_df):
    est = tiny(horizon=SYN_H, lookback=lookback, patch_size=4).fit(long_df)
    forecast = est.predict()
    assert len(forecast) == long_df["unique_id"].nunique() * SYN_H
    for sid, group in forecast.groupby("unique_id", sort=False):
        assert_plausible_level(
            group["y"].to_numpy(), long_df.loc[long_df["unique_id"] == sid, "y"].to_numpy()
        )
    assert est.transform().shape == (long_df["unique_id"].nunique(), 8)
