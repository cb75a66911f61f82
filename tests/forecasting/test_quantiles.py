"""``loss="quantile"``: one output per quantile level, the 0.5 level as the point forecast, in every layout.

A model trained for one or two epochs need not have ordered quantiles, so ordering is not asserted
here; a longer fit below only checks that the band is wide on average in the right direction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .conftest import SYN_H, SYN_L, tiny


def test_long_quantile_columns(long_q_model, long_df):
    forecast = long_q_model.predict()
    assert list(forecast.columns) == ["unique_id", "ds", "y", "y_q0.1", "y_q0.5", "y_q0.9"]
    assert len(forecast) == long_df["unique_id"].nunique() * SYN_H
    values = forecast[["y", "y_q0.1", "y_q0.5", "y_q0.9"]].to_numpy()
    assert np.isfinite(values).all()
    np.testing.assert_array_equal(forecast["y"].to_numpy(), forecast["y_q0.5"].to_numpy())


def test_series_quantile_columns(series_q_model):
    forecast = series_q_model.predict()
    assert isinstance(forecast, pd.DataFrame)
    assert list(forecast.columns) == ["passengers", "q0.1", "q0.5", "q0.9"]
    assert list(forecast.index) == list(pd.date_range("1961-01-01", periods=12, freq="MS"))
    assert np.isfinite(forecast.to_numpy()).all()
    np.testing.assert_array_equal(forecast["passengers"].to_numpy(), forecast["q0.5"].to_numpy())


def test_wide_quantile_columns(wide_q_model, wide_df):
    forecast = wide_q_model.predict()
    assert isinstance(forecast.columns, pd.MultiIndex)
    expected = [(sid, label) for sid in wide_df.columns for label in ("point", "q0.1", "q0.5", "q0.9")]
    assert list(forecast.columns) == expected
    assert np.isfinite(forecast.to_numpy()).all()
    for sid in wide_df.columns:
        np.testing.assert_array_equal(forecast[(sid, "point")].to_numpy(), forecast[(sid, "q0.5")].to_numpy())


def test_custom_quantile_levels(airline):
    est = tiny(horizon=3, lookback=6, max_epochs=1, loss="quantile", quantiles=(0.05, 0.25, 0.5, 0.75, 0.95))
    forecast = est.fit(airline).predict()
    assert list(forecast.columns) == ["passengers", "q0.05", "q0.25", "q0.5", "q0.75", "q0.95"]
    np.testing.assert_array_equal(forecast["passengers"].to_numpy(), forecast["q0.5"].to_numpy())


def test_point_losses_have_no_quantile_columns(long_model):
    assert list(long_model.predict().columns) == ["unique_id", "ds", "y"]


def test_quantile_band_is_mostly_ordered_after_some_training(long_df):
    est = tiny(horizon=SYN_H, lookback=SYN_L, loss="quantile", max_epochs=8, learning_rate=1e-2)
    forecast = est.fit(long_df).predict()
    lower, upper = forecast["y_q0.1"].to_numpy(), forecast["y_q0.9"].to_numpy()
    assert (upper - lower).mean() > 0
    assert (upper >= lower).mean() >= 0.5
