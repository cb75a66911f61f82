"""future_index, make_future_frame, parse_future_covariates and check_min_length."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlstm_ts.data import (
    ColumnError,
    ColumnSpec,
    MissingValueError,
    SeriesTooShortError,
    TimestampError,
    check_min_length,
    future_index,
    make_future_frame,
    parse_future_covariates,
    parse_panel,
)

FUTURE = ColumnSpec(future_covariates=("promo", "price"))


def panel_with_future(freq="h", tz=None):
    parts = []
    for sid, n in (("a", 5), ("b", 3)):
        ds = pd.RangeIndex(n) if freq is None else pd.date_range("2024-01-01", periods=n, freq=freq, tz=tz)
        parts.append(
            pd.DataFrame(
                {"unique_id": sid, "ds": ds, "y": np.arange(n, dtype=float), "promo": 0, "price": 1.0}
            )
        )
    return parse_panel(pd.concat(parts, ignore_index=True), columns=FUTURE)


def x_future(panel, horizon):
    frame = make_future_frame(panel, horizon)
    return frame.assign(promo=np.arange(len(frame)), price=np.arange(len(frame)) * 10.0)


@pytest.mark.parametrize("freq", ["h", "MS", "15min", "W"])
def test_future_index_continues_the_grid(freq):
    history = pd.date_range("2024-01-07", periods=4, freq=freq)
    expected = pd.date_range(history[0], periods=7, freq=freq)[4:]
    got = future_index(history[-1], freq, 3)
    pd.testing.assert_index_equal(got, expected, exact=False)


def test_future_index_integer_and_bad_horizon():
    assert future_index(4, None, 2).tolist() == [5, 6]
    assert len(future_index(pd.Timestamp("2024-01-01"), "D", 0)) == 0
    with pytest.raises(ValueError, match="horizon must be an int >= 0; got -1"):
        future_index(4, None, -1)
    with pytest.raises(TypeError, match="integer time"):
        future_index(pd.Timestamp("2024-01-01"), None, 2)


@pytest.mark.parametrize(("freq", "tz"), [("h", None), ("MS", "UTC"), (None, None)])
def test_parse_future_covariates_picks_the_horizon_rows(freq, tz):
    panel = panel_with_future(freq, tz)
    frame = x_future(panel, 2)
    extra = frame.assign(
        ds=[future_index(t, panel.freq, 4)[3] for t in [panel.last_time(0)] * 2 + [panel.last_time(1)] * 2]
    )
    shuffled = pd.concat([extra, frame.iloc[::-1]], ignore_index=True)  # extra rows and any order are fine
    out = parse_future_covariates(shuffled, panel, 2)
    assert [a.shape for a in out] == [(2, 2), (2, 2)] and all(a.dtype == np.float64 for a in out)
    np.testing.assert_array_equal(out[0], [[0, 0], [1, 10]])
    np.testing.assert_array_equal(out[1], [[2, 20], [3, 30]])


def test_no_future_covariates_gives_zero_width_arrays():
    panel = parse_panel(pd.Series(np.arange(4.0), index=pd.date_range("2024-01-01", periods=4, freq="D")))
    out = parse_future_covariates(None, panel, 3)
    assert [a.shape for a in out] == [(3, 0)]


def test_future_covariate_errors():
    panel = panel_with_future()
    frame = x_future(panel, 2)
    with pytest.raises(
        ColumnError,
        match=r"X_future must be a long DataFrame with the columns 'unique_id', 'ds', 'promo', 'price'.*got None",
    ):
        parse_future_covariates(None, panel, 2)
    with pytest.raises(ColumnError, match=r"lacks the column\(s\) 'price'"):
        parse_future_covariates(frame.drop(columns="price"), panel, 2)
    with pytest.raises(
        MissingValueError,
        match=r"lacks 2 of the 4 rows needed: series 'b': 2024-01-01 03:00:00, 2024-01-01 04:00:00",
    ):
        parse_future_covariates(frame[frame["unique_id"] == "a"], panel, 2)
    with pytest.raises(MissingValueError, match=r"None of X_future's ids match"):
        parse_future_covariates(frame.assign(unique_id=1), panel, 2)
    with pytest.raises(TimestampError, match=r"more than one row for series 'a' at 2024-01-01 05:00:00"):
        parse_future_covariates(pd.concat([frame, frame.iloc[[0]]]), panel, 2)
    with pytest.raises(ColumnError, match=r"holds int values, but the history has datetime"):
        parse_future_covariates(frame.assign(ds=0), panel, 2)
    with pytest.raises(ColumnError, match=r"time zone UTC, but the history has None"):
        parse_future_covariates(frame.assign(ds=frame["ds"].dt.tz_localize("UTC")), panel, 2)
    with_nan = frame.assign(price=[1.0, np.nan, 2.0, 3.0])
    with pytest.raises(MissingValueError, match=r"column 'price' of X_future for series 'a': 1 value"):
        parse_future_covariates(with_nan, panel, 2)
    assert parse_future_covariates(with_nan, panel, 2, fill_method="ffill")[0][:, 1].tolist() == [1.0, 1.0]


def test_check_min_length_lists_every_short_series():
    panel = panel_with_future()
    check_min_length(panel, 3, "lookback (2) + horizon (1)")
    with pytest.raises(
        SeriesTooShortError,
        match=r"2 of 2 series are too short: lookback \(4\) \+ horizon \(2\) needs at least 6 time steps per series, but series 'a' has 5, series 'b' has 3",
    ):
        check_min_length(panel, 6, "lookback (4) + horizon (2)")
    with pytest.raises(SeriesTooShortError, match=r"1 of 2 series is too short.*series 'b' has 3\. "):
        check_min_length(panel, 4, "lookback (3) + horizon (1)")
