"""Timestamps after the end of each series and the future-known covariates over the forecast horizon.

Public names are re-exported by :mod:`xlstm_ts.data.validation`.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._checks import fill_missing, fmt_id, fmt_list, time_values, to_float, to_offset_checked
from .errors import ColumnError, MissingValueError, TimestampError

if TYPE_CHECKING:
    from .validation import PanelData


def future_index(last: pd.Timestamp | int, freq: str | None, horizon: int) -> pd.Index:
    """The ``horizon`` timestamps after ``last``.

    Parameters
    ----------
    last : Timestamp or int
        Last observed timestamp (or integer step) of a series.
    freq : str or None
        pandas offset alias; None for integer time (step 1).
    horizon : int
        Number of steps, >= 0.

    Returns
    -------
    DatetimeIndex (with ``freq`` set) or RangeIndex

    Examples
    --------
    >>> import pandas as pd
    >>> future_index(pd.Timestamp("2024-01-01"), "MS", 2)
    DatetimeIndex(['2024-02-01', '2024-03-01'], dtype='datetime64[...]', freq='MS')
    >>> future_index(9, None, 3)
    RangeIndex(start=10, stop=13, step=1)
    """
    if not isinstance(horizon, numbers.Integral) or isinstance(horizon, bool) or horizon < 0:
        raise ValueError(f"horizon must be an int >= 0; got {horizon!r}.")
    if freq is None:
        if not isinstance(last, numbers.Integral):
            raise TypeError(f"freq=None means integer time, but last={last!r} is not an integer.")
        return pd.RangeIndex(int(last) + 1, int(last) + 1 + int(horizon))
    offset = to_offset_checked(freq)
    return pd.date_range(start=pd.Timestamp(last) + offset, periods=int(horizon), freq=offset)


def make_future_frame(panel: PanelData, horizon: int) -> pd.DataFrame:
    """A long DataFrame with the id and time columns of the ``horizon`` steps after each series.

    A template for ``X_future``: add the future covariate columns and pass it to
    :func:`parse_future_covariates`.

    Examples
    --------
    >>> import pandas as pd
    >>> from xlstm_ts.data.validation import parse_panel
    >>> panel = parse_panel(pd.Series([1.0, 2.0, 3.0], name="sales"))
    >>> make_future_frame(panel, 2)
      unique_id  ds
    0     sales   3
    1     sales   4
    """
    cols = panel.columns
    times = [future_index(panel.last_time(i), panel.freq, horizon) for i in range(panel.n_series)]
    ids = np.repeat(np.array(panel.ids, dtype=object), horizon)
    stamps = times[0].append(times[1:]) if times else pd.Index([])
    return pd.DataFrame({cols.id_col: ids.tolist(), cols.time_col: stamps})


def parse_future_covariates(
    X_future: pd.DataFrame | None, panel: PanelData, horizon: int, *, fill_method: str | None = None
) -> list[np.ndarray]:
    """Future covariates over the ``horizon`` steps after the end of each series of ``panel``.

    Parameters
    ----------
    X_future : DataFrame or None
        Long DataFrame with ``panel.columns``' id, time and future covariate columns.  Rows for other
        series or other timestamps are ignored.  May be None when there are no future covariates.
    panel : PanelData
        The history the forecast starts from.
    horizon : int
        Number of steps to forecast.
    fill_method : {None, "ffill", "interpolate", "zero"}, optional
        Fills NaN covariate values within each series' horizon (missing *rows* always raise).

    Returns
    -------
    list of ndarray
        float64 ``[horizon, F]`` per series, in ``panel.ids`` order (``F = 0``: zero-width arrays).

    Raises
    ------
    ColumnError
        ``X_future`` is None or lacks a column, or has a non-numeric covariate or a time column of another
        kind (datetime vs integer, time zone) than the history.
    MissingValueError
        Rows missing for some series or timestamps (all listed), or NaN / inf values.
    TimestampError
        A needed (series, timestamp) pair appears more than once.

    Examples
    --------
    >>> import pandas as pd
    >>> from xlstm_ts.data.validation import ColumnSpec, parse_panel
    >>> df = pd.DataFrame({"unique_id": "a", "ds": range(4), "y": [1.0, 2, 3, 4], "promo": [0, 1, 0, 1]})
    >>> panel = parse_panel(df, columns=ColumnSpec(future_covariates=("promo",)))
    >>> X_future = pd.DataFrame({"unique_id": "a", "ds": [4, 5], "promo": [1, 0]})
    >>> parse_future_covariates(X_future, panel, 2)[0].tolist()
    [[1.0], [0.0]]
    """
    cols = panel.columns
    names = list(cols.future_covariates)
    if not names:
        return [np.zeros((horizon, 0)) for _ in range(panel.n_series)]
    template = (
        f"a long DataFrame with the columns {cols.id_col!r}, {cols.time_col!r}, "
        f"{', '.join(map(fmt_id, names))} holding the {horizon} step(s) after the end of every series "
        "(make_future_frame(panel, horizon) builds the id/time part)"
    )
    if X_future is None:
        raise ColumnError(f"The model uses future covariates, so X_future must be {template}; got None.")
    if not isinstance(X_future, pd.DataFrame):
        raise TypeError(f"X_future must be {template}; got {type(X_future).__name__}.")
    missing = [c for c in [cols.id_col, cols.time_col, *names] if c not in X_future.columns]
    if missing:
        raise ColumnError(
            f"X_future lacks the column(s) {', '.join(map(fmt_id, missing))}; expected {template}. "
            f"Got columns: {', '.join(map(fmt_id, X_future.columns))}."
        )
    kind, time = time_values(X_future[cols.time_col], f"The time column {cols.time_col!r} of X_future")
    want = "int" if panel.freq is None else "datetime"
    if kind != want:
        raise ColumnError(
            f"The time column {cols.time_col!r} of X_future holds {kind} values, but the history has "
            f"{want} time steps; use the same kind."
        )
    tz = getattr(panel.index[0], "tz", None) if panel.n_series else None
    time_tz = getattr(time, "tz", None)
    if kind == "datetime" and str(time_tz) != str(tz):
        raise ColumnError(
            f"The time column {cols.time_col!r} of X_future has time zone {time_tz}, but the history has "
            f"{tz}; convert it (e.g. .dt.tz_localize / .dt.tz_convert)."
        )
    values = np.column_stack([to_float(X_future[c], c, "future covariate") for c in names])

    # Expected (series position, time) pairs, matched against X_future's rows.
    expected = [future_index(panel.last_time(i), panel.freq, horizon) for i in range(panel.n_series)]
    exp_pos = np.repeat(np.arange(panel.n_series), horizon)
    exp_t = np.concatenate([_keys(e) for e in expected]) if expected else np.array([], dtype=np.int64)
    pos = pd.Index(panel.ids).get_indexer(X_future[cols.id_col].tolist())
    x_keys = pd.MultiIndex.from_arrays([pos, _keys(time)])
    exp_keys = pd.MultiIndex.from_arrays([exp_pos, exp_t])
    wanted = np.flatnonzero(x_keys.isin(exp_keys))
    dup = x_keys[wanted].duplicated()
    if dup.any():
        p, t = x_keys[wanted][np.argmax(dup)]
        raise TimestampError(
            f"X_future has more than one row for series {fmt_id(panel.ids[p])} at {_show(t, panel.freq, time)}; "
            "keep one row per series and timestamp (e.g. X_future.drop_duplicates([id_col, time_col]))."
        )
    rows = x_keys[wanted].get_indexer(exp_keys)
    if (rows < 0).any():
        lost = np.flatnonzero(rows < 0)
        lines = []
        for p in np.unique(exp_pos[lost]):
            stamps = [str(expected[p][k]) for k in (lost[exp_pos[lost] == p] - p * horizon)]
            lines.append(f"series {fmt_id(panel.ids[p])}: {fmt_list(stamps, 3)}")
        unknown = (
            ""
            if (pos >= 0).any()
            else (
                f" None of X_future's ids match the fitted series ids (e.g. {fmt_id(panel.ids[0])}); check their "
                "spelling and type."
            )
        )
        raise MissingValueError(
            f"X_future lacks {len(lost)} of the {len(exp_keys)} rows needed: {fmt_list(lines)}.{unknown} "
            f"Expected {template}."
        )
    out = values[wanted[rows]]  # [n_series * horizon, F]
    bounds = np.arange(panel.n_series + 1) * horizon
    stamps = expected[0].append(expected[1:]) if expected else pd.Index([])

    def where(s: int, c: int) -> str:
        return f"column {fmt_id(names[c])} of X_future for series {fmt_id(panel.ids[s])}"

    out = fill_missing(out, bounds, np.asarray(stamps) if panel.freq is None else stamps, where, fill_method)
    return [out[bounds[i] : bounds[i + 1]] for i in range(panel.n_series)]


def _keys(time: pd.Index | np.ndarray) -> np.ndarray:
    """Integer keys comparable across arrays: nanoseconds since the epoch (UTC) or the integer steps."""
    if isinstance(time, pd.DatetimeIndex):
        return time.as_unit("ns").asi8
    return np.asarray(time, dtype=np.int64)


def _show(key: int, freq: str | None, time: pd.Index | np.ndarray) -> str:
    if freq is None:
        return str(key)
    stamp = pd.Timestamp(key, unit="ns", tz="UTC")
    tz = getattr(time, "tz", None)
    return str(stamp.tz_convert(tz) if tz is not None else stamp.tz_localize(None))
