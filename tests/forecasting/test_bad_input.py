"""Bad input data: every problem raises a typed error (``xlstm_ts.data.errors``) whose message says what
is wrong; filling is opt-in; the user's data is never modified."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from xlstm_ts.data.errors import (
    ColumnError,
    FrequencyError,
    InputDataError,
    MissingValueError,
    SeriesTooShortError,
    TimestampError,
)

from .conftest import COVARIATES, SYN_H, SYN_L, long_panel, tiny, wide_panel


def small(**params):
    return tiny(**{"horizon": 3, "lookback": 6, "max_epochs": 1, **params})


# ----------------------------------------------------------------------------------- missing values
def test_nan_in_target_raises_missing_value_error(airline):
    y = airline.copy()
    y.iloc[20] = np.nan
    with pytest.raises(MissingValueError, match=r"1 NaN value.*'passengers'.*1950-09-01.*fill_method"):
        small().fit(y)


def test_nan_in_long_target_names_the_series(long_df):
    df = long_df.copy()
    df.loc[df.index[-1], "y"] = np.nan
    with pytest.raises(MissingValueError, match=r"column 'y' of series 'series_2'"):
        small().fit(df)


def test_infinite_target_raises_missing_value_error(airline):
    y = airline.copy()
    y.iloc[3] = np.inf
    with pytest.raises(MissingValueError, match=r"infinite"):
        small(fill_method="ffill").fit(y)


@pytest.mark.parametrize("fill_method", ["ffill", "interpolate", "zero"])
def test_fill_method_accepts_nan(fill_method, airline):
    y = airline.copy()
    y.iloc[[20, 21, 100]] = np.nan
    est = small(fill_method=fill_method).fit(y)
    assert np.isfinite(est.predict().to_numpy()).all()
    assert np.isfinite(est.predict(y).to_numpy()).all()


def test_nan_in_predict_history_raises_without_fill_method(series_model, airline):
    y = airline.copy()
    y.iloc[-1] = np.nan
    with pytest.raises(MissingValueError, match=r"NaN"):
        series_model.predict(y)


def test_nan_in_covariate_raises_missing_value_error(cov_data):
    _, history, _ = cov_data
    df = history.copy()
    df.loc[df.index[5], "sensor"] = np.nan
    with pytest.raises(MissingValueError, match=r"column 'sensor'"):
        tiny(horizon=SYN_H, lookback=SYN_L, **COVARIATES).fit(df)


# ------------------------------------------------------------------------------------ too short
def test_series_too_short_names_series_and_lengths(airline):
    with pytest.raises(
        SeriesTooShortError,
        match=r"lookback \(36\) \+ horizon \(12\) needs at least 48 time steps.*series 'passengers' has 40",
    ):
        tiny(horizon=12).fit(airline[:40])


def test_one_short_series_in_a_long_frame_is_named(long_df):
    last_id = long_df["unique_id"].iloc[-1]
    df = long_df.drop(long_df.index[long_df["unique_id"] == last_id][7:])  # keep 7 rows of the last series
    with pytest.raises(SeriesTooShortError, match=rf"1 of 3 series is too short.*'{last_id}' has 7"):
        small(lookback=6, horizon=3).fit(df)


def test_validation_part_counts_towards_the_minimum_length(airline):
    with pytest.raises(SeriesTooShortError, match=r"validation part"):
        small(horizon=12, lookback=24, validation_size=0.5).fit(airline[:60])


def test_predict_history_shorter_than_lookback(series_model, airline):
    with pytest.raises(SeriesTooShortError, match=r"lookback \(36\).*has 20"):
        series_model.predict(airline[:20])


# ----------------------------------------------------------------------------------- timestamps
def test_duplicate_timestamps_raise_timestamp_error(long_df):
    df = pd.concat([long_df, long_df.iloc[[5]]], ignore_index=True).sort_values(
        ["unique_id", "ds"], kind="stable"
    )
    with pytest.raises(TimestampError, match=r"series 'series_0' has duplicated timestamps"):
        small().fit(df)


def test_duplicate_index_of_a_series_raises_timestamp_error(airline):
    y = pd.concat([airline.iloc[:10], airline.iloc[9:]])
    with pytest.raises(TimestampError, match=r"duplicated"):
        small().fit(y)


def test_unsorted_timestamps_raise_timestamp_error(long_df):
    df = long_df.copy()
    df.iloc[[3, 4]] = df.iloc[[4, 3]].to_numpy()
    with pytest.raises(TimestampError, match=r"sorted in increasing order.*sort"):
        small().fit(df)


def test_unsorted_series_index_raises_timestamp_error(airline):
    with pytest.raises(TimestampError, match=r"sorted"):
        small().fit(airline.iloc[::-1])


def test_missing_timestamp_raises_timestamp_error(long_df):
    df = long_df.copy()
    df["ds"] = df["ds"].astype("datetime64[ns]")
    df.loc[df.index[3], "ds"] = pd.NaT
    with pytest.raises(TimestampError, match=r"NaT"):
        small().fit(df)


# ------------------------------------------------------------------------------------ frequency
def test_mixed_frequency_across_series_raises_frequency_error():
    hourly = long_panel(n_series=1, length=30)
    daily = long_panel(n_series=1, length=30).assign(
        unique_id="daily", ds=pd.date_range("2024-01-01", periods=30, freq="D")
    )
    df = pd.concat([hourly, daily], ignore_index=True)
    with pytest.raises(FrequencyError, match=r"share one frequency.*'h'.*'D'|share one frequency.*'D'.*'h'"):
        small().fit(df)


def test_gap_in_a_series_raises_frequency_error(airline):
    with pytest.raises(FrequencyError, match=r"jumps from"):
        small(freq="MS").fit(airline.drop(airline.index[50]))


def test_predict_at_another_frequency_raises_frequency_error(series_model):
    daily = pd.Series(
        np.arange(60.0) + 100, index=pd.date_range("2020-01-01", periods=60, freq="D"), name="passengers"
    )
    with pytest.raises(FrequencyError):
        series_model.predict(daily)


# -------------------------------------------------------------------------------------- columns
def test_missing_target_column_raises_column_error(long_df):
    with pytest.raises(ColumnError, match=r"missing: 'y'"):
        small().fit(long_df.drop(columns="y"))


def test_non_numeric_target_raises_column_error(long_df):
    df = long_df.assign(y=long_df["y"].round(2).astype(str))
    with pytest.raises(ColumnError, match=r"target column 'y' must be numeric"):
        small().fit(df)


def test_non_numeric_wide_column_raises_column_error(wide_df):
    df = wide_df.copy()
    df["series_1"] = "x"
    with pytest.raises(ColumnError, match=r"'series_1' must be numeric"):
        small().fit(df)


def test_string_time_column_raises_column_error(long_df):
    df = long_df.assign(ds=long_df["ds"].astype(str))
    with pytest.raises(ColumnError, match=r"pd.to_datetime"):
        small().fit(df)


def test_predict_with_another_layout_raises_column_error(long_model, wide_model, wide_df, long_df):
    with pytest.raises(ColumnError, match=r"wide-layout data but the model was fitted on long-layout"):
        long_model.predict(wide_df)
    with pytest.raises(ColumnError, match=r"series-layout data but the model was fitted on long-layout"):
        long_model.predict(wide_df["series_0"])
    with pytest.raises(ColumnError, match=r"long-layout data but the model was fitted on wide-layout"):
        wide_model.predict(long_df)


def test_predict_with_different_columns_than_fit(cov_model, cov_data, long_model, long_df):
    _, history, future = cov_data
    with pytest.raises(ColumnError, match=r"missing: 'promo'"):
        cov_model.predict(history.drop(columns="promo"), X_future=future)
    with pytest.raises(ColumnError, match=r"missing: 'y'"):
        long_model.predict(long_df.rename(columns={"y": "sales"}))


def test_non_pandas_input_raises_type_error(airline):
    with pytest.raises(TypeError, match=r"pandas DataFrame"):
        small().fit(airline.to_numpy())


def test_empty_input_raises_input_data_error(airline):
    with pytest.raises(InputDataError):
        small().fit(airline.iloc[:0])


def test_input_errors_are_value_errors(long_df):
    with pytest.raises(ValueError):
        small().fit(long_df.drop(columns="y"))


# ------------------------------------------------------------------------------- no mutation
def _snapshot(data):
    return copy.deepcopy(data)


def _assert_unchanged(data, snapshot):
    if isinstance(data, pd.Series):
        pd.testing.assert_series_equal(data, snapshot, check_exact=True)
        assert data.index.freq == snapshot.index.freq
    else:
        pd.testing.assert_frame_equal(data, snapshot, check_exact=True)


@pytest.mark.parametrize("layout", ["series", "long", "wide"])
def test_user_data_unchanged_by_fit_predict_backtest(layout, airline):
    if layout == "series":
        data = airline.copy()
        data.iloc[[10, 11]] = np.nan  # filled internally, never in the user's object
    elif layout == "long":
        data = long_panel(n_series=2, length=40).sample(frac=1.0, random_state=0)  # shuffled rows
        data = data.sort_values(["unique_id", "ds"])  # sorted per series, non-default row index
        data.loc[data.index[4], "y"] = np.nan
    else:
        data = wide_panel(n_series=2, length=40)
        data.iloc[5, 1] = np.nan
    snapshot = _snapshot(data)
    est = small(fill_method="ffill").fit(data)
    _assert_unchanged(data, snapshot)
    est.predict(data)
    est.transform(data)
    est.backtest(data, n_windows=2)
    est.score(data)
    _assert_unchanged(data, snapshot)


def test_user_data_unchanged_with_covariates(cov_data):
    _, history, future = cov_data
    history, future = history.copy(), future.copy()
    snap_history, snap_future = _snapshot(history), _snapshot(future)
    est = tiny(horizon=SYN_H, lookback=SYN_L, **COVARIATES).fit(history)
    est.predict(history, X_future=future)
    pd.testing.assert_frame_equal(history, snap_history, check_exact=True)
    pd.testing.assert_frame_equal(future, snap_future, check_exact=True)
