"""Turning network outputs into DataFrames/Series in the layout the user fitted on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.validation import future_index


def history_index(last, freq: str | None, length: int) -> pd.Index:
    """The ``length`` timestamps ending at ``last`` (inclusive) on ``freq`` (integers when ``freq`` is None)."""
    if freq is None:
        return pd.RangeIndex(int(last) - length + 1, int(last) + 1)
    return pd.date_range(end=last, periods=length, freq=freq)


def quantile_label(q: float) -> str:
    """Column suffix of quantile ``q``: 0.1 -> ``"q0.1"``."""
    return f"q{q:g}"


def format_forecast(est, values: np.ndarray, ids: list, last_times: list):
    """``values`` ``[N, H, Q]`` (original scale) -> long DataFrame, wide DataFrame or Series.

    Long: columns ``[id_col, time_col, target_col]`` plus ``f"{target_col}_q0.1"``... per quantile.
    Wide: one column per series (point forecast); with quantiles, ``(series, label)`` MultiIndex columns.
    Series: the point forecast as a Series; with quantiles a DataFrame with one column per label.
    """
    quantiles = est._output_quantiles()
    point_col = quantiles.index(0.5) if quantiles else 0
    H = values.shape[1]
    indexes = [future_index(last, est.freq_, H) for last in last_times]
    if est.layout_ == "long":
        frame = {
            est.id_col: np.repeat(np.asarray(ids, dtype=object), H),
            est.time_col: np.concatenate([np.asarray(ix) for ix in indexes]),
            est.target_col: values[:, :, point_col].reshape(-1),
        }
        for j, q in enumerate(quantiles):
            frame[f"{est.target_col}_{quantile_label(q)}"] = values[:, :, j].reshape(-1)
        out = pd.DataFrame(frame)
        if out[est.time_col].dtype == object:
            out[est.time_col] = pd.to_datetime(out[est.time_col])
        return out
    index = indexes[0]
    if est.layout_ == "wide":
        if not quantiles:
            return pd.DataFrame(values[:, :, 0].T, index=index, columns=pd.Index(ids))
        cols = pd.MultiIndex.from_tuples(
            [(sid, label) for sid in ids for label in ["point", *map(quantile_label, quantiles)]]
        )
        data = np.concatenate(
            [np.concatenate([values[i, :, point_col : point_col + 1], values[i]], axis=1) for i in range(len(ids))],
            axis=1,
        )
        return pd.DataFrame(data, index=index, columns=cols)
    name = est.target_name_
    if not quantiles:
        return pd.Series(values[0, :, 0], index=index, name=name)
    data = {name if name is not None else "point": values[0, :, point_col]}
    for j, q in enumerate(quantiles):
        data[quantile_label(q)] = values[0, :, j]
    return pd.DataFrame(data, index=index)
