"""parse_panel: layouts, immutability of the input, frequency inference, filling, and every error type."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlstm_ts.data import (
    ColumnError,
    ColumnSpec,
    FrequencyError,
    InputDataError,
    MissingValueError,
    TimestampError,
    parse_panel,
)


def long_frame(lengths=(6, 4), freq="h", start="2024-01-01", ids=("a", "b")) -> pd.DataFrame:
    parts = []
    for k, (sid, n) in enumerate(zip(ids, lengths)):
        ds = pd.RangeIndex(n) if freq is None else pd.date_range(start, periods=n, freq=freq)
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": sid,
                    "ds": ds,
                    "y": np.arange(n, dtype=float) + 100 * k,
                    "promo": np.arange(n) % 2,
                    "temp": np.linspace(0, 1, n),
                    "size": float(k + 1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


ALL_COVARIATES = ColumnSpec(
    future_covariates=("promo",), past_covariates=("temp",), static_covariates=("size",)
)


# ------------------------------------------------------------------------------------------------ layouts
def test_long_layout_arrays():
    df = long_frame()
    panel = parse_panel(df, columns=ALL_COVARIATES)
    assert panel.layout == "long" and panel.ids == ["a", "b"] and panel.freq == "h"
    assert panel.lengths() == [6, 4] and panel.n_series == 2
    np.testing.assert_array_equal(panel.target[1], np.arange(4.0) + 100)
    assert panel.future[0].shape == (6, 1) and panel.past[1].shape == (4, 1)
    np.testing.assert_array_equal(panel.future[0][:, 0], np.arange(6) % 2)
    np.testing.assert_array_equal(panel.static, [[1.0], [2.0]])
    assert all(a.dtype == np.float64 for a in [*panel.target, *panel.future, *panel.past, panel.static])
    assert panel.last_time(0) == pd.Timestamp("2024-01-01 05:00")
    assert isinstance(panel.index[0], pd.DatetimeIndex) and panel.index[0].name == "ds"
    assert "n_series=2" in repr(panel)


def test_ids_keep_type_and_first_appearance_order():
    df = long_frame(ids=(7, 3))
    panel = parse_panel(df)
    assert panel.ids == [7, 3] and all(type(i) is int for i in panel.ids)
    cat = df.assign(unique_id=pd.Categorical(df["unique_id"], categories=[3, 7, 99]))
    assert parse_panel(cat).ids == [7, 3]


def test_interleaved_rows_are_grouped_without_reordering_time():
    df = long_frame()
    shuffled = pd.concat([df.iloc[[0, 6, 1, 7, 2]], df.iloc[[3, 8, 4, 9, 5]]])
    a, b = parse_panel(df), parse_panel(shuffled)
    for x, y in zip(a.target, b.target):
        np.testing.assert_array_equal(x, y)


def test_long_wide_series_round_trip_give_the_same_arrays():
    idx = pd.date_range("2024-01-01", periods=5, freq="D", name="ds")
    values = {"a": np.arange(5.0), "b": np.arange(5.0) * 2}
    wide = pd.DataFrame(values, index=idx)
    long = wide.reset_index().melt(id_vars="ds", var_name="unique_id", value_name="y")
    panels = [parse_panel(long), parse_panel(wide)]
    for p in panels:
        assert p.ids == ["a", "b"] and p.freq == "D"
        for i, key in enumerate(values):
            np.testing.assert_array_equal(p.target[i], values[key])
            pd.testing.assert_index_equal(p.index[i], idx, exact=False, check_names=False, check_freq=False)
        assert p.future[0].shape == (5, 0) and p.static.shape == (2, 0)
    assert [p.layout for p in panels] == ["long", "wide"]
    series = parse_panel(wide["a"])
    assert series.layout == "series" and series.ids == ["a"] and series.target_name == "a"
    np.testing.assert_array_equal(series.target[0], values["a"])
    unnamed = parse_panel(pd.Series(np.arange(3.0)))
    assert unnamed.ids == ["series"] and unnamed.target_name is None


def test_integer_time_everywhere():
    panel = parse_panel(long_frame(freq=None))
    assert panel.freq is None and panel.index[1].equals(pd.RangeIndex(4)) and panel.last_time(1) == 3
    wide = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=pd.Index([10, 11, 12]))
    assert parse_panel(wide).index[0].equals(pd.RangeIndex(10, 13))
    assert parse_panel(pd.Series([1.0, 2.0], dtype="float32")).target[0].dtype == np.float64


def test_bool_and_nullable_columns_are_numeric():
    df = long_frame().assign(promo=lambda d: d["promo"] == 1, temp=lambda d: d["temp"].astype("Float64"))
    panel = parse_panel(df, columns=ALL_COVARIATES)
    assert set(np.unique(panel.future[0])) == {0.0, 1.0}


@pytest.mark.parametrize(
    ("freq", "expected"), [("h", "h"), ("MS", "MS"), ("15min", "15min"), ("D", "D"), ("W", "W-SUN")]
)
def test_frequency_inference(freq, expected):
    assert parse_panel(long_frame(freq=freq)).freq == expected
    assert parse_panel(long_frame(freq=freq), freq=freq).freq == expected


def test_short_series_take_the_frequency_of_the_others_and_tz_is_kept():
    df = long_frame(lengths=(5, 2), freq="15min")
    assert parse_panel(df).freq == "15min"
    tz = df.assign(ds=df["ds"].dt.tz_localize("Europe/Berlin"))
    panel = parse_panel(tz)
    assert str(panel.index[0].tz) == "Europe/Berlin" and panel.freq == "15min"


# ------------------------------------------------------------------------------------- input not modified
def _frames():
    df = long_frame()
    df.loc[2, "y"] = np.nan
    df = df.assign(promo=df["promo"].astype("Int64"), ds=df["ds"].dt.tz_localize("UTC"))
    df.index = pd.Index(np.arange(100, 100 + len(df)), name="row")
    wide = pd.DataFrame({"a": [1.0, np.nan, 3.0]}, index=pd.date_range("2024-01-01", periods=3, freq="MS"))
    return df, wide


@pytest.mark.parametrize("fill_method", ["ffill", "interpolate", "zero", None])
def test_input_is_never_modified(fill_method):
    df, wide = _frames()
    for X, cols in [(df, ALL_COVARIATES), (wide, None), (wide["a"], None)]:
        before = X.copy(deep=True)
        try:
            parse_panel(X, columns=cols, fill_method=fill_method)
        except MissingValueError:
            assert fill_method is None
        if isinstance(X, pd.DataFrame):
            pd.testing.assert_frame_equal(X, before, check_exact=True)
        else:
            pd.testing.assert_series_equal(X, before, check_exact=True)
        assert X.index.equals(before.index) and X.index.name == before.index.name


# ----------------------------------------------------------------------------------------------- filling
@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("ffill", [1.0, 1.0, 1.0, 4.0, 4.0]),
        ("interpolate", [1.0, 1.0, 2.5, 4.0, 4.0]),
        ("zero", [0.0, 1.0, 0.0, 4.0, 0.0]),
    ],
)
def test_fill_methods(method, expected):
    s = pd.Series([np.nan, 1.0, np.nan, 4.0, np.nan], index=pd.date_range("2024-01-01", periods=5, freq="D"))
    assert parse_panel(s, fill_method=method).target[0].tolist() == expected


def test_fill_stays_within_each_series():
    df = long_frame(lengths=(3, 3))
    df.loc[3, "y"] = np.nan  # first value of series b: back-filled from b, not carried over from a
    assert parse_panel(df, fill_method="ffill").target[1].tolist() == [101.0, 101.0, 102.0]


def test_unknown_fill_method_lists_the_options():
    with pytest.raises(ValueError, match=r"'ffill', 'interpolate', 'zero'; got 'bfill'"):
        parse_panel(long_frame(), fill_method="bfill")


# -------------------------------------------------------------------------------------------------- errors
def test_missing_value_error_names_series_column_count_and_first_timestamp():
    df = long_frame()
    df.loc[[7, 9], "temp"] = np.nan
    with pytest.raises(
        MissingValueError,
        match=r"column 'temp' of series 'b': 2 value\(s\), first at 2024-01-01 01:00:00.*fill_method='ffill'",
    ):
        parse_panel(df, columns=ALL_COVARIATES)


def test_inf_is_always_an_error():
    df = long_frame()
    df.loc[1, "y"] = np.inf
    with pytest.raises(MissingValueError, match=r"infinite.*series 'a'.*df.replace"):
        parse_panel(df, fill_method="ffill")


def test_all_nan_column_cannot_be_filled():
    df = long_frame()
    df.loc[df["unique_id"] == "b", "temp"] = np.nan
    with pytest.raises(MissingValueError, match=r"entirely NaN.*column 'temp' of series 'b'"):
        parse_panel(df, columns=ALL_COVARIATES, fill_method="interpolate")


def test_missing_columns():
    with pytest.raises(ColumnError, match=r"missing: 'holiday'.*Got columns: 'unique_id', 'ds', 'y'"):
        parse_panel(long_frame(), columns=ColumnSpec(future_covariates=("holiday",)))


def test_non_numeric_target_and_text_time():
    df = long_frame()
    with pytest.raises(ColumnError, match=r"target column 'y' must be numeric.*got dtype"):
        parse_panel(df.assign(y=df["y"].astype(str)))
    with pytest.raises(ColumnError, match=r"time column 'ds' must hold datetimes.*pd.to_datetime"):
        parse_panel(df.assign(ds=df["ds"].astype(str)))


def test_static_covariate_must_be_constant():
    df = long_frame()
    df.loc[8, "size"] = 5.0
    with pytest.raises(ColumnError, match=r"constant within each series.*'size' of series 'b'.*2.0 and 5.0"):
        parse_panel(df, columns=ALL_COVARIATES)


def test_covariates_need_the_long_layout():
    wide = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(ColumnError, match=r"need the long layout.*wide DataFrame.*melt"):
        parse_panel(wide, columns=ColumnSpec(past_covariates=("x",)))
    with pytest.raises(ColumnError, match=r"read as wide.*set_index"):
        parse_panel(pd.DataFrame({"date": ["2024-01-01"], "value": [1.0]}))


def test_column_spec_roles_and_strings():
    assert ColumnSpec(static_covariates="size").static_covariates == ("size",)
    with pytest.raises(ColumnError, match=r"one role only.*'y'"):
        ColumnSpec(past_covariates=["y"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        ColumnSpec().target_col = "z"


def test_duplicated_timestamps():
    df = long_frame()
    df = pd.concat([df, df.iloc[[8]]], ignore_index=True)
    with pytest.raises(
        TimestampError,
        match=r"series 'b' has duplicated timestamps: 2024-01-01 02:00:00.*drop_duplicates\(\['unique_id', 'ds'\]\)",
    ):
        parse_panel(df)


def test_unsorted_timestamps_are_not_sorted_silently():
    df = long_frame().iloc[[0, 2, 1, 3, 4, 5, 6, 7, 8, 9]]
    with pytest.raises(
        TimestampError,
        match=r"series 'a' 2024-01-01 01:00:00 comes after 2024-01-01 02:00:00.*sort_values\(\['unique_id', 'ds'\]\)",
    ):
        parse_panel(df)
    wide = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0]}, index=pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-03"])
    )
    with pytest.raises(TimestampError, match=r"the index.*sort_index"):
        parse_panel(wide)


def test_missing_timestamps_and_ids():
    df = long_frame().astype({"ds": "datetime64[ns]"})
    df.loc[3, "ds"] = pd.NaT
    with pytest.raises(TimestampError, match=r"1 missing timestamp\(s\) \(NaT\)"):
        parse_panel(df)
    df = long_frame().astype({"unique_id": object})
    df.loc[4, "unique_id"] = None
    with pytest.raises(ColumnError, match=r"id column 'unique_id' has 1 missing value.*row 4"):
        parse_panel(df)


def test_gap_names_series_and_first_gap():
    df = long_frame().drop(index=[7, 8])
    with pytest.raises(
        FrequencyError,
        match=r"'h' steps.*series 'b' jumps from 2024-01-01 00:00:00 to 2024-01-01 03:00:00 \(expected 2024-01-01 01:00:00.*fill_method=",
    ):
        parse_panel(df)
    with pytest.raises(FrequencyError, match=r"freq='h' given.*series 'b'"):
        parse_panel(df, freq="h")


def test_frequency_disagreement_and_failures():
    df = long_frame()
    df.loc[df["unique_id"] == "b", "ds"] = pd.date_range("2024-01-01", periods=4, freq="2h")
    with pytest.raises(FrequencyError, match=r"one frequency.*series 'a' has 'h'.*series 'b' has '2h'"):
        parse_panel(df)
    with pytest.raises(FrequencyError, match=r"fewer than 3 timestamps.*freq="):
        parse_panel(long_frame(lengths=(2, 1)))
    irregular = pd.Series(
        1.0, index=pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 03:00"])
    )
    with pytest.raises(FrequencyError, match=r"Cannot infer.*most common step is 0 days 01:00:00.*freq='h'"):
        parse_panel(irregular)
    with pytest.raises(FrequencyError, match=r"freq='hourly' is not a pandas offset alias"):
        parse_panel(long_frame(), freq="hourly")
    with pytest.raises(FrequencyError, match=r"starts at 2024-01-15.*not on it"):
        parse_panel(long_frame(freq="MS").assign(ds=lambda d: d["ds"] + pd.Timedelta(days=14)), freq="MS")


def test_integer_time_rules():
    df = long_frame(freq=None)
    with pytest.raises(FrequencyError, match=r"integer time needs freq=None"):
        parse_panel(df, freq="D")
    df.loc[9, "ds"] = 7
    with pytest.raises(FrequencyError, match=r"exactly 1.*series 'b' goes from 2 to 7"):
        parse_panel(df)


def test_bad_input_types_and_empty_frames():
    with pytest.raises(TypeError, match=r"pandas DataFrame .* or Series; got ndarray"):
        parse_panel(np.zeros(3))
    with pytest.raises(InputDataError, match=r"no rows"):
        parse_panel(long_frame().iloc[:0])
    assert issubclass(MissingValueError, InputDataError) and issubclass(InputDataError, ValueError)


# ------------------------------------------------------------------------------------------ properties
@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    data=st.data(),
)
def test_property_long_round_trip_and_ffill(lengths, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    starts = data.draw(st.lists(st.integers(-5, 5), min_size=len(lengths), max_size=len(lengths)))
    frames, truth = [], []
    for k, (n, t0) in enumerate(zip(lengths, starts)):
        y = rng.normal(size=n)
        y[rng.random(n) < 0.3] = np.nan
        truth.append(y)
        frames.append(pd.DataFrame({"unique_id": f"s{k}", "ds": np.arange(t0, t0 + n), "y": y}))
    df = pd.concat(frames, ignore_index=True)
    if all(np.isnan(y).all() for y in truth) or any(np.isnan(y).all() for y in truth):
        with pytest.raises(MissingValueError):
            parse_panel(df, fill_method="ffill")
        return
    panel = parse_panel(df, fill_method="ffill")
    assert panel.ids == [f"s{k}" for k in range(len(lengths))] and panel.lengths() == list(lengths)
    for y, got, idx, t0 in zip(truth, panel.target, panel.index, starts):
        observed = ~np.isnan(y)
        np.testing.assert_array_equal(got[observed], y[observed])  # observed values untouched
        assert np.isfinite(got).all()
        first = np.argmax(observed)
        assert (got[:first] == y[first]).all()  # leading NaN back-filled
        assert idx[0] == t0
