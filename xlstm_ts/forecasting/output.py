"""Forecast arrays <-> DataFrames/Series in the layout the user fitted on.

Everything here is a plain function of a :class:`OutputSpec` (what a fitted forecaster returns: layout,
frequency, column names, quantile levels) and arrays; no estimator object is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.validation import ColumnSpec, future_index


@dataclass(frozen=True)
class OutputSpec:
    """The shape of a fitted forecaster's output.

    Attributes
    ----------
    layout : {"long", "wide", "series"}
        Layout of the training data, also that of the forecasts.
    freq : str or None
        pandas offset alias (None: integer time steps).
    columns : ColumnSpec
        Column names of the long layout.
    quantiles : tuple of float
        Quantile levels of the output (empty for point forecasts).
    horizon : int
        Forecast length.
    target_name : object
        ``Series.name`` of the training data for the series layout.
    """

    layout: str
    freq: str | None
    columns: ColumnSpec
    quantiles: tuple[float, ...]
    horizon: int
    target_name: object = None

    @property
    def point_column(self) -> int:
        """Position of the point forecast (the median) among the outputs."""
        return self.quantiles.index(0.5) if self.quantiles else 0


def history_index(last, freq: str | None, length: int) -> pd.Index:
    """The ``length`` timestamps ending at ``last`` (inclusive) on ``freq`` (integers when ``freq`` is None)."""
    if freq is None:
        return pd.RangeIndex(int(last) - length + 1, int(last) + 1)
    return pd.date_range(end=last, periods=length, freq=freq)


def quantile_label(q: float) -> str:
    """Column suffix of quantile ``q``: 0.1 -> ``"q0.1"``."""
    return f"q{q:g}"


def format_forecast(spec: OutputSpec, values: np.ndarray, ids: list, last_times: list):
    """``values`` ``[N, H, Q]`` (original scale) -> long DataFrame, wide DataFrame or Series.

    Long: columns ``[id_col, time_col, target_col]`` plus ``f"{target_col}_q0.1"``... per quantile.
    Wide: one column per series (point forecast); with quantiles, ``(series, label)`` MultiIndex columns.
    Series: the point forecast as a Series; with quantiles a DataFrame with one column per label.
    """
    quantiles, point_col, cols = spec.quantiles, spec.point_column, spec.columns
    H = values.shape[1]
    indexes = [future_index(last, spec.freq, H) for last in last_times]
    if spec.layout == "long":
        frame = {
            cols.id_col: np.repeat(np.asarray(ids, dtype=object), H),
            cols.time_col: np.concatenate([np.asarray(ix) for ix in indexes]),
            cols.target_col: values[:, :, point_col].reshape(-1),
        }
        for j, q in enumerate(quantiles):
            frame[f"{cols.target_col}_{quantile_label(q)}"] = values[:, :, j].reshape(-1)
        out = pd.DataFrame(frame)
        if out[cols.time_col].dtype == object:
            out[cols.time_col] = pd.to_datetime(out[cols.time_col])
        return out
    index = indexes[0]
    if spec.layout == "wide":
        if not quantiles:
            return pd.DataFrame(values[:, :, 0].T, index=index, columns=pd.Index(ids))
        labels = pd.MultiIndex.from_tuples(
            [(sid, label) for sid in ids for label in ["point", *map(quantile_label, quantiles)]]
        )
        data = np.concatenate(
            [
                np.concatenate([values[i, :, point_col : point_col + 1], values[i]], axis=1)
                for i in range(len(ids))
            ],
            axis=1,
        )
        return pd.DataFrame(data, index=index, columns=labels)
    name = spec.target_name
    if not quantiles:
        return pd.Series(values[0, :, 0], index=index, name=name)
    series = {name if name is not None else "point": values[0, :, point_col]}
    for j, q in enumerate(quantiles):
        series[quantile_label(q)] = values[0, :, j]
    return pd.DataFrame(series, index=index)


def forecast_arrays(spec: OutputSpec, out, ids: list) -> np.ndarray:
    """The inverse of :func:`format_forecast`: a forecast table as ``[N, H, Q]`` (Q = 1 for point
    forecasts, else one column per quantile level)."""
    labels = [quantile_label(q) for q in spec.quantiles]
    cols = spec.columns
    if spec.layout == "long":
        grouped = {sid: g for sid, g in out.groupby(cols.id_col, sort=False)}
        names = [f"{cols.target_col}_{lab}" for lab in labels] or [cols.target_col]
        arr = np.stack([grouped[s][names].to_numpy() for s in ids])
    elif spec.layout == "wide":
        arr = np.stack(
            [out[[(s, lab) for lab in labels]].to_numpy() if labels else out[[s]].to_numpy() for s in ids]
        )
    else:
        arr = (out[labels] if labels else out.to_frame()).to_numpy()[None]
    return arr.reshape(len(ids), spec.horizon, -1)
