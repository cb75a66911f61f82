"""Private helpers of :mod:`xlstm_ts.data.validation`: dtype conversion, timestamp and frequency checks,
missing-value handling, message formatting.

All functions work on data already grouped by series: rows of series ``i`` are ``bounds[i]:bounds[i + 1]``
of the concatenated arrays.  ``labels[i]`` is how messages name series ``i`` (e.g. ``"series 'A'"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pandas.tseries.frequencies import to_offset

from .errors import ColumnError, FrequencyError, MissingValueError, TimestampError

FILL_METHODS = ("ffill", "interpolate", "zero")
_SHOW = 5  # how many offending series / timestamps a message lists before "and N more"


# ------------------------------------------------------------------------------------------------ messages
def fmt_id(value: object) -> str:
    """``'A'`` for strings, ``3`` for numbers, ``2020-01-01 00:00:00`` for timestamps."""
    return repr(value) if isinstance(value, str) else str(value)


def fmt_list(items: Sequence[str], limit: int = _SHOW) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


def check_fill_method(fill_method: str | None) -> None:
    if fill_method is not None and fill_method not in FILL_METHODS:
        raise ValueError(
            f"fill_method must be None or one of {', '.join(map(repr, FILL_METHODS))}; got {fill_method!r}. "
            "'ffill' carries the last value forward (then back-fills leading gaps), 'interpolate' draws a "
            "straight line between neighbours, 'zero' writes 0."
        )


# ---------------------------------------------------------------------------------------------- conversion
def to_float(values: pd.Series | pd.Index, name: object, role: str) -> np.ndarray:
    """A numeric or bool column as a new float64 array (``pd.NA`` becomes NaN); else :class:`ColumnError`."""
    dtype = values.dtype
    if ptypes.is_bool_dtype(dtype) or (ptypes.is_numeric_dtype(dtype) and not ptypes.is_complex_dtype(dtype)):
        return np.array(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    raise ColumnError(
        f"The {role} column {fmt_id(name)} must be numeric or bool; got dtype {dtype}. Convert it first, "
        f"e.g. pd.to_numeric(df[{fmt_id(name)}], errors='coerce') (unparseable entries become NaN)"
        + (", or leave it out of the covariates." if "covariate" in role else ".")
    )


def time_values(values: pd.Series | pd.Index, what: str) -> tuple[str, pd.DatetimeIndex | np.ndarray]:
    """``("datetime", DatetimeIndex)`` or ``("int", int64 array)``; else :class:`ColumnError`.

    NaT or missing integers raise :class:`TimestampError`.
    """
    dtype = values.dtype
    if ptypes.is_datetime64_any_dtype(dtype):
        idx = pd.DatetimeIndex(values)
        if idx.hasnans:
            raise TimestampError(
                f"{what} has {int(idx.isna().sum())} missing timestamp(s) (NaT); every row needs a "
                "timestamp. Drop those rows (e.g. df.dropna(subset=[time column])) or fill them."
            )
        return "datetime", idx
    if ptypes.is_integer_dtype(dtype) and not ptypes.is_bool_dtype(dtype):
        if pd.isna(values).any():
            raise TimestampError(f"{what} has missing (NA) integer time steps; every row needs one.")
        return "int", np.asarray(values, dtype=np.int64)
    hint = (
        " It looks like text: convert it with pd.to_datetime(...)."
        if ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype)
        else " A PeriodIndex can be converted with .to_timestamp()."
        if isinstance(dtype, pd.PeriodDtype)
        else ""
    )
    raise ColumnError(
        f"{what} must hold datetimes (datetime64) or integer time steps; got dtype {dtype}.{hint}"
    )


def time_keys(time: pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """int64 keys that order like the timestamps (comparable within one array only)."""
    return time.asi8 if isinstance(time, pd.DatetimeIndex) else time


def time_str(time: pd.DatetimeIndex | np.ndarray, row: int) -> str:
    return str(time[row])


# ------------------------------------------------------------------------------------------------ timestamps
def series_codes(bounds: np.ndarray) -> np.ndarray:
    """Series number of every row."""
    return np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))


def check_timestamps(
    time: pd.DatetimeIndex | np.ndarray, bounds: np.ndarray, labels: list[str], hints: dict[str, str]
) -> None:
    """Unique and increasing timestamps within each series, else :class:`TimestampError`."""
    keys = time_keys(time)
    codes = series_codes(bounds)
    order = np.lexsort((keys, codes))
    same = (codes[order][1:] == codes[order][:-1]) & (keys[order][1:] == keys[order][:-1])
    if same.any():
        rows = order[1:][same]
        bad = np.unique(codes[rows])
        first = int(bad[0])
        in_first = rows[codes[rows] == first]
        stamps = pd.unique(np.array([time_str(time, r) for r in in_first], dtype=object)).tolist()
        others = f" Also affected: {fmt_list([labels[b] for b in bad[1:]])}." if len(bad) > 1 else ""
        raise TimestampError(
            f"Expected unique timestamps within each series, but {labels[first]} has duplicated "
            f"timestamps: {fmt_list(stamps)} ({len(rows)} extra row(s) in {len(bad)} series in total).{others} "
            f"Drop or aggregate the duplicates, e.g. {hints['dedupe']}."
        )
    within = codes[1:] == codes[:-1]
    back = within & (keys[1:] < keys[:-1])
    if back.any():
        row = int(np.flatnonzero(back)[0])
        n_bad = len(np.unique(codes[1:][back]))
        raise TimestampError(
            f"Expected timestamps sorted in increasing order within each series, but in {labels[codes[row]]} "
            f"{time_str(time, row + 1)} comes after {time_str(time, row)} ({n_bad} series unsorted). The data "
            f"are not sorted silently; sort them first: {hints['sort']}."
        )


# ------------------------------------------------------------------------------------------------- frequency
def to_offset_checked(freq: str) -> pd.DateOffset:
    try:
        return to_offset(freq)
    except (ValueError, TypeError) as err:
        raise FrequencyError(
            f"freq={freq!r} is not a pandas offset alias ({err}). Use e.g. 'h' (hourly), 'D' (daily), "
            "'MS' (month start), '15min', 'W' (weekly)."
        ) from None


def infer_offset(index: pd.DatetimeIndex) -> pd.DateOffset | None:
    """``pd.infer_freq`` as an offset (or None), without pandas' future warning about its return type."""
    try:
        with pd.option_context("future.infer_freq_returns_offset", True):
            found = pd.infer_freq(index)
    except (KeyError, pd.errors.OptionError):  # pandas without that option: returns a string
        found = pd.infer_freq(index)
    except (ValueError, TypeError):
        return None
    return None if found is None else to_offset(found)


def _step_hint(index: pd.DatetimeIndex) -> str:
    """A suggestion for ``freq=`` from the most common step of an irregular index."""
    steps = pd.Series(index[1:] - index[:-1])
    if steps.empty:
        return ""
    step = steps.mode().iloc[0]
    if step <= pd.Timedelta(0):
        return ""
    day = pd.Timedelta(days=1)
    if step >= pd.Timedelta(days=28):  # month-like steps vary in days: try the calendar grids
        for alias in ("MS", "ME", "QS", "QE", "YS", "YE"):
            try:
                grid = pd.date_range(index[0], index[-1], freq=alias)
            except ValueError:  # pragma: no cover - pandas without the alias
                continue
            if len(grid) and index.isin(grid).all():
                return f" Its timestamps lie on the {alias!r} grid with gaps; if that is the frequency, pass freq={alias!r}."
    alias = to_offset(f"{step // day}D" if step % day == pd.Timedelta(0) else step).freqstr
    return f" Its most common step is {step}; if that is the frequency, pass freq={alias!r}."


def _grid_failures(
    time: pd.DatetimeIndex | np.ndarray, bounds: np.ndarray, offset: pd.DateOffset | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(bad_rows, bad_starts)``: rows ``r`` where row ``r + 1`` is not one step after row ``r`` in the
    same series, and series whose first timestamp is not on the offset's grid."""
    codes = series_codes(bounds)
    within = codes[1:] == codes[:-1]
    if offset is None:  # integer time: step 1
        ok = np.diff(time) == 1
        return np.flatnonzero(within & ~ok), np.array([], dtype=np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        expected = time[:-1] + offset
    ok = np.asarray(expected == time[1:])
    starts = np.array(
        [
            i
            for i in range(len(bounds) - 1)
            if bounds[i + 1] > bounds[i] and not offset.is_on_offset(time[bounds[i]])
        ],
        dtype=np.int64,
    )
    return np.flatnonzero(within & ~ok), starts


def _raise_grid(
    time: pd.DatetimeIndex | np.ndarray,
    bounds: np.ndarray,
    offset: pd.DateOffset | None,
    labels: list[str],
    how: str,
    hints: dict[str, str],
) -> None:
    bad_rows, bad_starts = _grid_failures(time, bounds, offset)
    if not len(bad_rows) and not len(bad_starts):
        return
    if offset is None:
        codes = series_codes(bounds)
        row = int(bad_rows[0])
        bad = np.unique(codes[bad_rows])
        raise FrequencyError(
            f"Integer time steps must advance by exactly 1 within each series, but {labels[codes[row]]} goes "
            f"from {time[row]} to {time[row + 1]} ({len(bad)} series with gaps: "
            f"{fmt_list([labels[b] for b in bad])}). Add the missing steps as rows (NaN values can then be "
            "filled with fill_method=), or use a DatetimeIndex / datetime time column with freq=."
        )
    alias = offset.freqstr
    if len(bad_starts):
        i = int(bad_starts[0])
        raise FrequencyError(
            f"Expected every timestamp on the {alias!r} grid ({how}), but {labels[i]} starts at "
            f"{time[bounds[i]]}, which is not on it ({len(bad_starts)} series affected). Check freq=, "
            "or align the timestamps (e.g. df['ds'].dt.to_period(...).dt.to_timestamp())."
        )
    codes = series_codes(bounds)
    row = int(bad_rows[0])
    bad = np.unique(codes[bad_rows])
    n_first = int((codes[bad_rows] == codes[row]).sum())
    expected = time[row] + offset
    raise FrequencyError(
        f"Expected regular {alias!r} steps ({how}) with no gaps, but {labels[codes[row]]} jumps from "
        f"{time[row]} to {time[row + 1]} (expected {expected} next; {n_first} irregular step(s) in this "
        f"series, {len(bad)} series affected: {fmt_list([labels[b] for b in bad])}). Add the missing "
        f"timestamps as rows, e.g. {hints['reindex'].format(freq=alias)}, then fill the new NaN values "
        "with fill_method='ffill', 'interpolate' or 'zero'; or pass the right freq= if the steps are "
        "meant to be different."
    )


def resolve_freq(
    kind: str,
    time: pd.DatetimeIndex | np.ndarray,
    bounds: np.ndarray,
    labels: list[str],
    freq: str | None,
    hints: dict[str, str],
) -> str | None:
    """Check (``freq`` given) or infer the common frequency of all series; the offset alias, or None for
    integer time."""
    if kind == "int":
        if freq is not None:
            raise FrequencyError(
                f"freq={freq!r} was given but the time steps are integers; integer time needs freq=None "
                "(steps of exactly 1). Pass datetime timestamps to use a calendar frequency."
            )
        _raise_grid(time, bounds, None, labels, "integer time", hints)
        return None
    if freq is not None:
        offset = to_offset_checked(freq)
        _raise_grid(time, bounds, offset, labels, f"freq={freq!r} given", hints)
        return offset.freqstr
    lengths = np.diff(bounds)
    by_length = [int(i) for i in np.argsort(-lengths, kind="stable") if lengths[i] >= 3]
    if not by_length:
        raise FrequencyError(
            "Cannot infer the frequency: every series has fewer than 3 timestamps. Pass it explicitly, "
            "e.g. freq='h' or freq='D'."
        )
    offset = None
    for i in by_length:
        offset = infer_offset(time[bounds[i] : bounds[i + 1]])
        if offset is not None:
            break
    if offset is None:
        i = by_length[0]
        raise FrequencyError(
            f"Cannot infer a regular frequency: pd.infer_freq found none for any series, e.g. {labels[i]} "
            f"(timestamps are irregular or have gaps).{_step_hint(time[bounds[i] : bounds[i + 1]])} "
            "With freq= given, the error names the gaps to fill."
        )
    bad_rows, bad_starts = _grid_failures(time, bounds, offset)
    codes = series_codes(bounds)
    bad = np.unique(np.concatenate([codes[bad_rows], bad_starts]))
    for b in bad:
        other = infer_offset(time[bounds[b] : bounds[b + 1]]) if lengths[b] >= 3 else None
        if other is not None and other != offset:
            raise FrequencyError(
                f"All series must share one frequency, but {labels[by_length[0]]} has {offset.freqstr!r} and "
                f"{labels[b]} has {other.freqstr!r}. Resample the series to one common frequency first, or "
                "pass freq= to say which one is meant (the error then names the series off that grid)."
            )
    _raise_grid(time, bounds, offset, labels, "inferred with pd.infer_freq from the other series", hints)
    return offset.freqstr


# -------------------------------------------------------------------------------------------- missing values
def _report(
    mask: np.ndarray,
    bounds: np.ndarray,
    time: pd.DatetimeIndex | np.ndarray,
    where: Callable[[int, int], str],
) -> tuple[list[str], int]:
    """``("<where>: N value(s), first at <t>", ...)`` per (series, column) with ``mask`` set, and the total."""
    codes = series_codes(bounds)
    lines: list[tuple[int, int, str]] = []
    for c in np.flatnonzero(mask.any(axis=0)):
        rows = np.flatnonzero(mask[:, c])
        series, first, counts = np.unique(codes[rows], return_index=True, return_counts=True)
        for s, f, n in zip(series, first, counts):
            lines.append(
                (int(rows[f]), int(c), f"{where(int(s), int(c))}: {n} value(s), first at {time[rows[f]]}")
            )
    lines.sort()
    return [text for _, _, text in lines], int(mask.sum())


def fill_missing(
    values: np.ndarray,
    bounds: np.ndarray,
    time: pd.DatetimeIndex | np.ndarray,
    where: Callable[[int, int], str],
    fill_method: str | None,
) -> np.ndarray:
    """Raise on inf; raise on NaN unless ``fill_method``; fill NaN within each series (in place)."""
    inf = np.isinf(values)
    if inf.any():
        lines, total = _report(inf, bounds, time, where)
        raise MissingValueError(
            f"Expected finite values, but found {total} infinite value(s) (inf/-inf) in: {fmt_list(lines)}. "
            "fill_method= does not touch inf; turn them into NaN first, e.g. "
            "df.replace([np.inf, -np.inf], np.nan), then pass fill_method='ffill', 'interpolate' or 'zero'."
        )
    nan = np.isnan(values)
    if not nan.any():
        return values
    if fill_method is None:
        lines, total = _report(nan, bounds, time, where)
        raise MissingValueError(
            f"Expected no missing values, but found {total} NaN value(s) in: {fmt_list(lines)}. Pass "
            "fill_method='ffill' (last value carried forward), 'interpolate' (linear) or 'zero', or clean "
            "the data before calling."
        )
    codes = series_codes(bounds)
    for c in np.flatnonzero(nan.any(axis=0)):
        for s in np.unique(codes[nan[:, c]]):
            _fill_1d(values[bounds[s] : bounds[s + 1], c], fill_method)
    still = np.isnan(values)
    if still.any():
        lines, _ = _report(still, bounds, time, where)
        raise MissingValueError(
            f"fill_method={fill_method!r} cannot fill a column that is entirely NaN within a series: "
            f"{fmt_list(lines)}. Drop that series or column, or use fill_method='zero'."
        )
    return values


def _fill_1d(a: np.ndarray, method: str) -> None:
    """Fill the NaN of one series' column in place (a view into the value matrix)."""
    nan = np.isnan(a)
    if method == "zero":
        a[nan] = 0.0
        return
    valid = ~nan
    if not valid.any():
        return
    pos = np.arange(len(a))
    if method == "ffill":
        src = np.maximum.accumulate(np.where(valid, pos, -1))
        src[src < 0] = np.argmax(valid)  # leading NaN: back-fill from the first valid value
        a[:] = a[src]
    else:  # "interpolate": linear in position; np.interp holds the end values (= ffill / bfill at the ends)
        a[nan] = np.interp(pos[nan], pos[valid], a[valid])
