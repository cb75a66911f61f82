"""Private readers of the three input layouts of :func:`xlstm_ts.data.validation.parse_panel`.

Each reader regroups the input by series into a :class:`_Raw` (fresh copies; the input is not modified)
and checks columns and dtypes; timestamps, frequency and values are checked afterwards on the regrouped
arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ._checks import fmt_id, time_values, to_float
from .errors import ColumnError, InputDataError

if TYPE_CHECKING:
    from .validation import ColumnSpec


# ------------------------------------------------------------------------------------------------ layouts
@dataclass
class Raw:
    """Input regrouped by series: rows of series i are ``bounds[i]:bounds[i + 1]``."""

    ids: list
    bounds: np.ndarray
    kind: str  # "datetime" | "int"
    time: pd.DatetimeIndex | np.ndarray
    values: np.ndarray  # float64 [rows, 1 + F + P + K], a fresh copy
    time_name: object
    shared_index: pd.Index | None = None  # wide / series: the one index of every series


def from_long(df: pd.DataFrame, cols: ColumnSpec) -> Raw:
    needed = [cols.id_col, cols.time_col, cols.target_col, *cols.covariates]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        in_index = [fmt_id(c) for c in missing if c in df.index.names]
        hint = f" {', '.join(in_index)} is in the index: call df.reset_index() first." if in_index else ""
        raise ColumnError(
            f"Expected a long DataFrame with the columns id_col={cols.id_col!r}, time_col={cols.time_col!r}, "
            f"target_col={cols.target_col!r} and the covariates named in `columns`; missing: "
            f"{', '.join(map(fmt_id, missing))}. Got columns: {', '.join(map(fmt_id, df.columns))}. Pass "
            "columns=ColumnSpec(id_col=..., time_col=..., target_col=...) if yours are named differently."
            + hint
        )
    doubled = [fmt_id(c) for c in needed if (df.columns == c).sum() > 1]
    if doubled:
        raise ColumnError(f"Column name(s) {', '.join(doubled)} appear more than once in the DataFrame.")
    if len(df) == 0:
        raise InputDataError("The DataFrame has no rows; expected at least one observation per series.")
    codes, uniques = pd.factorize(df[cols.id_col])
    if (codes < 0).any():
        raise ColumnError(
            f"The id column {cols.id_col!r} has {int((codes < 0).sum())} missing value(s) (first at row "
            f"{int(np.argmax(codes < 0))}); every row needs a series id."
        )
    order = np.argsort(codes, kind="stable")  # group rows by series, keeping their order within a series
    bounds = np.concatenate([[0], np.cumsum(np.bincount(codes))])
    kind, time = time_values(df[cols.time_col], f"The time column {cols.time_col!r}")
    roles = ["target"] + ["future covariate"] * len(cols.future_covariates)
    roles += ["past covariate"] * len(cols.past_covariates) + ["static covariate"] * len(
        cols.static_covariates
    )
    values = np.column_stack(
        [to_float(df[c], c, role)[order] for c, role in zip([cols.target_col, *cols.covariates], roles)]
    )
    return Raw(list(uniques.tolist()), bounds, kind, time[order], values, cols.time_col)


def _no_covariates(cols: ColumnSpec, layout: str) -> None:
    if cols.covariates:
        raise ColumnError(
            f"Covariates ({', '.join(map(fmt_id, cols.covariates))}) need the long layout, but got a {layout} "
            f"input. Convert it, e.g. for a wide frame: df.rename_axis({cols.time_col!r}).reset_index().melt("
            f"id_vars={cols.time_col!r}, var_name={cols.id_col!r}, value_name={cols.target_col!r}), then add "
            "the covariate columns."
        )


def from_wide(df: pd.DataFrame, cols: ColumnSpec) -> Raw:
    _no_covariates(cols, "wide DataFrame")
    if df.columns.has_duplicates:
        dup = df.columns[df.columns.duplicated()].unique().tolist()
        raise ColumnError(
            f"A wide DataFrame needs one column per series, but {', '.join(map(fmt_id, dup))} repeat."
        )
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise InputDataError(
            f"The wide DataFrame is empty (shape {df.shape}); expected time steps and series."
        )
    what = (
        f"The index of a wide DataFrame (no {cols.id_col!r} / {cols.time_col!r} column was found, so the "
        "frame was read as wide: one column per series)"
    )
    kind, time = time_values(df.index, what)
    try:
        values = np.concatenate(
            [to_float(df.iloc[:, j], name, "series") for j, name in enumerate(df.columns)]
        )
    except ColumnError as err:
        raise ColumnError(
            f"{err} The DataFrame was read as wide (time index, one numeric column per series) because it has "
            f"no {cols.id_col!r} or {cols.time_col!r} column. If a column holds the timestamps, make it the "
            f"index (df.set_index(...)); if the frame is long, pass columns=ColumnSpec(id_col=..., "
            "time_col=..., target_col=...)."
        ) from None
    n, t = df.shape[1], df.shape[0]
    bounds = np.arange(n + 1) * t
    tiled = time[np.tile(np.arange(t), n)]
    return Raw(df.columns.tolist(), bounds, kind, tiled, values[:, None], df.index.name, df.index)


def from_series(s: pd.Series, cols: ColumnSpec) -> Raw:
    _no_covariates(cols, "pandas Series")
    if len(s) == 0:
        raise InputDataError("The Series is empty; expected at least one observation.")
    kind, time = time_values(s.index, "The index of the Series")
    values = to_float(s, s.name if s.name is not None else "series", "target")[:, None]
    ids = [s.name if s.name is not None else "series"]
    return Raw(ids, np.array([0, len(s)]), kind, time, values, s.index.name, s.index)


HINTS = {
    "long": {
        "sort": "df.sort_values([{id!r}, {time!r}])",
        "dedupe": "df.drop_duplicates([{id!r}, {time!r}]) or df.groupby([{id!r}, {time!r}], as_index=False).mean()",
        "reindex": "per series: g.set_index({time!r}).asfreq({{freq!r}}) inside df.groupby({id!r})",
    },
    "wide": {
        "sort": "df.sort_index()",
        "dedupe": "df[~df.index.duplicated()] or df.groupby(level=0).mean()",
        "reindex": "df.asfreq({{freq!r}})",
    },
    "series": {
        "sort": "s.sort_index()",
        "dedupe": "s[~s.index.duplicated()] or s.groupby(level=0).mean()",
        "reindex": "s.asfreq({{freq!r}})",
    },
}


def check_static(
    values: np.ndarray, static: np.ndarray, bounds: np.ndarray, labels: list[str], columns: ColumnSpec
) -> None:
    if values.shape[1] == 0:
        return
    codes = np.repeat(np.arange(len(bounds) - 1), np.diff(bounds))
    differs = values != static[codes]
    if differs.any():
        row, col = (int(a[0]) for a in np.nonzero(differs))
        name = columns.static_covariates[col]
        raise ColumnError(
            f"Static covariates must be constant within each series, but column {fmt_id(name)} of "
            f"{labels[codes[row]]} takes the values {static[codes[row], col]} and {values[row, col]}. "
            "Move it to past_covariates or future_covariates if it changes over time."
        )
