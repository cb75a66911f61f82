"""Read forecasting data into a validated :class:`PanelData`: one set of numpy arrays per series.

Three input layouts are accepted:

* **long**: a DataFrame with an id column, a time column, the target and covariate columns (one row per
  series and time step), like ``unique_id, ds, y`` in neuralforecast;
* **wide**: a DataFrame indexed by time (DatetimeIndex or integers), one numeric column per series;
* **series**: a single pandas Series indexed by time.

Nothing is fixed silently: duplicated or unsorted timestamps, gaps, NaN, inf and non-numeric columns raise
a typed :class:`~xlstm_ts.data.errors.InputDataError` that says what was expected, what was found and how to
fix it.  The input is never modified.

Examples
--------
>>> import pandas as pd
>>> from xlstm_ts.data.validation import parse_panel
>>> df = pd.DataFrame({
...     "unique_id": ["a"] * 4 + ["b"] * 3,
...     "ds": list(pd.date_range("2024-01-01", periods=4, freq="h"))
...     + list(pd.date_range("2024-01-01", periods=3, freq="h")),
...     "y": [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0],
... })
>>> panel = parse_panel(df)
>>> panel.ids, panel.freq, panel.lengths()
(['a', 'b'], 'h', [4, 3])
>>> panel.last_time(1)
Timestamp('2024-01-01 02:00:00')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._checks import (
    check_fill_method,
    check_timestamps,
    fill_missing,
    fmt_id,
    resolve_freq,
)
from ._future import future_index, make_future_frame, parse_future_covariates
from ._layouts import HINTS, check_static, from_long, from_series, from_wide
from .errors import ColumnError, SeriesTooShortError

__all__ = [
    "ColumnSpec",
    "PanelData",
    "check_min_length",
    "future_index",
    "make_future_frame",
    "parse_future_covariates",
    "parse_panel",
]


def _as_names(value: object, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):  # a bare string would otherwise become a tuple of characters
        return (value,)
    try:
        return tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be a sequence of column names; got {value!r}.") from None


@dataclass(frozen=True)
class ColumnSpec:
    """Names of the columns of a long DataFrame and the role of each covariate.

    Frozen (use :func:`dataclasses.replace` to change a field).  Covariate lists are stored as tuples; a
    single string is read as one column name.

    Parameters
    ----------
    id_col : str
        Series identifier column.
    time_col : str
        Timestamp column (datetime or integer).
    target_col : str
        Target column.
    future_covariates : tuple of str
        Known in advance over the forecast horizon (calendar features, planned prices); needed again at
        predict time for the horizon.
    past_covariates : tuple of str
        Observed only up to the present (e.g. other measurements).
    static_covariates : tuple of str
        Constant within each series (e.g. store size).

    Examples
    --------
    >>> ColumnSpec(future_covariates="holiday").future_covariates
    ('holiday',)
    """

    id_col: str = "unique_id"
    time_col: str = "ds"
    target_col: str = "y"
    future_covariates: tuple[str, ...] = ()
    past_covariates: tuple[str, ...] = ()
    static_covariates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("future_covariates", "past_covariates", "static_covariates"):
            object.__setattr__(self, name, _as_names(getattr(self, name), name))
        roles = [self.id_col, self.time_col, self.target_col, *self.covariates]
        repeated = sorted({fmt_id(c) for c in roles if roles.count(c) > 1})
        if repeated:
            raise ColumnError(
                f"Each column may have one role only (id, time, target, future, past or static), but "
                f"{', '.join(repeated)} appear(s) more than once in {self!r}."
            )

    @property
    def covariates(self) -> tuple[str, ...]:
        """Future, past and static covariate names, in that order."""
        return (*self.future_covariates, *self.past_covariates, *self.static_covariates)


@dataclass(repr=False)
class PanelData:
    """Validated series as numpy arrays (see :func:`parse_panel`).

    Attributes
    ----------
    ids : list
        Series ids as Python scalars: first-appearance order of the id column (long), column labels (wide),
        ``[Series.name or "series"]`` (series).
    index : list of pandas.Index
        Timestamps of each series: a DatetimeIndex (its ``freq`` attribute is not set; see ``freq``) or a
        RangeIndex of consecutive integers.
    target : list of ndarray
        float64 ``[T_i]`` per series.
    future, past : list of ndarray
        float64 ``[T_i, F]`` and ``[T_i, P]`` per series (zero-width when there are no such covariates).
    static : ndarray
        float64 ``[n_series, K]``.
    freq : str or None
        pandas offset alias shared by all series (``"h"``, ``"MS"``, ``"15min"``); None for integer time.
    layout : str
        ``"long"``, ``"wide"`` or ``"series"``: the input's shape, to return predictions in the same shape.
    columns : ColumnSpec
        The column names used (for wide and series input: the defaults passed to :func:`parse_panel`).
    target_name : object
        ``Series.name`` for the series layout, else None.
    """

    ids: list
    index: list[pd.Index]
    target: list[np.ndarray]
    future: list[np.ndarray]
    past: list[np.ndarray]
    static: np.ndarray
    freq: str | None
    layout: str
    columns: ColumnSpec = field(default_factory=ColumnSpec)
    target_name: object = None

    @property
    def n_series(self) -> int:
        """Number of series."""
        return len(self.ids)

    def lengths(self) -> list[int]:
        """Number of time steps of each series."""
        return [len(t) for t in self.target]

    def last_time(self, i: int) -> pd.Timestamp | int:
        """Last timestamp (or integer step) of series number ``i`` (a position, not an id)."""
        return self.index[i][-1]

    def __repr__(self) -> str:
        lengths = self.lengths()
        return (
            f"PanelData(layout={self.layout!r}, n_series={self.n_series}, lengths={min(lengths)}..{max(lengths)}, "
            f"freq={self.freq!r}, future={len(self.columns.future_covariates)}, "
            f"past={len(self.columns.past_covariates)}, static={self.static.shape[1]})"
        )


# ------------------------------------------------------------------------------------------------ parse
def parse_panel(
    X: pd.DataFrame | pd.Series,
    *,
    columns: ColumnSpec | None = None,
    freq: str | None = None,
    fill_method: str | None = None,
) -> PanelData:
    """Validate forecasting data and split it into per-series arrays.

    Parameters
    ----------
    X : DataFrame or Series
        Long DataFrame (has the ``columns.id_col`` or ``columns.time_col`` column), wide DataFrame (time
        index, one numeric column per series) or Series (time index).  Not modified.
    columns : ColumnSpec, optional
        Column names and covariate roles; defaults to ``ColumnSpec()`` (``unique_id``, ``ds``, ``y``).
    freq : str, optional
        pandas offset alias.  Given: every series must lie on that grid without gaps.  None: inferred per
        series with ``pd.infer_freq`` (series with fewer than 3 points take the others'); all must agree.
        Must be None for integer time (steps of exactly 1).
    fill_method : {None, "ffill", "interpolate", "zero"}
        What to do with NaN in target and covariates, within each series: None raises
        :class:`~xlstm_ts.data.errors.MissingValueError`; ``"ffill"`` carries values forward and back-fills
        leading NaN; ``"interpolate"`` is linear, with ``ffill``/``bfill`` at the ends; ``"zero"`` writes 0.
        inf always raises.

    Returns
    -------
    PanelData

    Raises
    ------
    ColumnError, TimestampError, FrequencyError, MissingValueError
        See :mod:`xlstm_ts.data.errors`.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"a": [1.0, 2.0, float("nan")], "b": [4.0, 5.0, 6.0]},
    ...                     index=pd.date_range("2024-01-01", periods=3, freq="MS"))
    >>> panel = parse_panel(wide, fill_method="ffill")
    >>> panel.layout, panel.ids, panel.freq, panel.target[0].tolist()
    ('wide', ['a', 'b'], 'MS', [1.0, 2.0, 2.0])
    >>> parse_panel(pd.Series([1.0, 2.0, 3.0], name="sales")).index[0]
    RangeIndex(start=0, stop=3, step=1)
    """
    columns = ColumnSpec() if columns is None else columns
    if not isinstance(columns, ColumnSpec):
        raise TypeError(f"columns must be a ColumnSpec; got {type(columns).__name__}.")
    check_fill_method(fill_method)
    if isinstance(X, pd.Series):
        raw, layout = from_series(X, columns), "series"
    elif isinstance(X, pd.DataFrame):
        if columns.id_col in X.columns or columns.time_col in X.columns:
            raw, layout = from_long(X, columns), "long"
        else:
            raw, layout = from_wide(X, columns), "wide"
    else:
        raise TypeError(
            f"Expected a pandas DataFrame (long or wide) or Series; got {type(X).__name__}. Wrap arrays, "
            "e.g. pd.Series(values, index=pd.date_range(start, periods=len(values), freq='h'))."
        )
    hints = {k: v.format(id=columns.id_col, time=columns.time_col) for k, v in HINTS[layout].items()}
    n = len(raw.ids)
    if layout == "long":
        labels = [f"series {fmt_id(i)}" for i in raw.ids]
        time_bounds, time_labels = raw.bounds, labels
    else:  # wide / series: one index shared by all series, checked once
        if layout == "wide":
            labels, index_label = [f"series {fmt_id(i)}" for i in raw.ids], "the index"
        else:
            labels = [f"series {fmt_id(X.name)}" if X.name is not None else "the series"]
            index_label = labels[0]
        time_bounds, time_labels = raw.bounds[:2], [index_label]
    check_time = raw.time[: int(time_bounds[-1])]
    check_timestamps(check_time, time_bounds, time_labels, hints)
    found_freq = resolve_freq(raw.kind, check_time, time_bounds, time_labels, freq, hints)

    value_names = [columns.target_col, *columns.covariates]

    def where(s: int, c: int) -> str:
        return labels[s] if layout != "long" else f"column {fmt_id(value_names[c])} of {labels[s]}"

    values = fill_missing(raw.values, raw.bounds, raw.time, where, fill_method)
    n_f, n_p = len(columns.future_covariates), len(columns.past_covariates)
    starts = raw.bounds[:-1]
    static = values[starts, 1 + n_f + n_p :].copy()
    check_static(values[:, 1 + n_f + n_p :], static, raw.bounds, labels, columns)

    index: list[pd.Index] = []
    for i in range(n):
        lo, hi = int(raw.bounds[i]), int(raw.bounds[i + 1])
        if raw.shared_index is not None:
            index.append(
                raw.shared_index
                if raw.kind == "datetime"
                else pd.RangeIndex(int(raw.time[0]), int(raw.time[0]) + (hi - lo), name=raw.time_name)
            )
        elif raw.kind == "datetime":
            index.append(pd.DatetimeIndex(raw.time[lo:hi]).rename(raw.time_name))
        else:
            index.append(pd.RangeIndex(int(raw.time[lo]), int(raw.time[lo]) + (hi - lo), name=raw.time_name))
    split = [values[int(raw.bounds[i]) : int(raw.bounds[i + 1])] for i in range(n)]
    return PanelData(
        ids=raw.ids,
        index=index,
        target=[v[:, 0].copy() for v in split],
        future=[v[:, 1 : 1 + n_f].copy() for v in split],
        past=[v[:, 1 + n_f : 1 + n_f + n_p].copy() for v in split],
        static=static,
        freq=found_freq,
        layout=layout,
        columns=columns,
        target_name=X.name if layout == "series" else None,
    )


def check_min_length(panel: PanelData, min_length: int, what: str) -> None:
    """Raise :class:`~xlstm_ts.data.errors.SeriesTooShortError` listing every series shorter than ``min_length``.

    Parameters
    ----------
    panel : PanelData
    min_length : int
        Required number of time steps per series.
    what : str
        What needs them, for the message, e.g. ``"lookback (24) + horizon (12)"``.

    Examples
    --------
    >>> import pandas as pd
    >>> panel = parse_panel(pd.Series([1.0, 2.0, 3.0], name="sales"))
    >>> check_min_length(panel, 3, "lookback (2) + horizon (1)")
    >>> check_min_length(panel, 5, "lookback (4) + horizon (1)")
    Traceback (most recent call last):
    ...
    xlstm_ts.data.errors.SeriesTooShortError: 1 of 1 series is too short: lookback (4) + horizon (1) needs at least 5 time steps per series, but series 'sales' has 3. ...
    """
    short = [(i, n) for i, n in enumerate(panel.lengths()) if n < min_length]
    if not short:
        return
    names = [
        "the series"
        if panel.target_name is None and panel.layout == "series"
        else f"series {fmt_id(panel.ids[i])}"
        for i, _ in short
    ]
    listing = ", ".join(f"{name} has {n}" for name, (_, n) in zip(names, short))
    verb = "is" if len(short) == 1 else "are"
    drop = {
        "long": f"drop the short series, e.g. df.groupby({panel.columns.id_col!r}).filter(lambda g: len(g) >= {min_length})",
    }.get(panel.layout, "provide a longer history")
    raise SeriesTooShortError(
        f"{len(short)} of {panel.n_series} series {verb} too short: {what} needs at least {min_length} time "
        f"steps per series, but {listing}. Use a smaller lookback or horizon, or {drop}."
    )
