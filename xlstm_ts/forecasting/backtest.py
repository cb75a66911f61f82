"""Rolling-origin backtesting: where the windows lie, and their metrics (MAE, MSE, MASE, quantile loss).

The forecasts themselves come from the estimator (``BaseForecaster.backtest``); this module holds the
estimator-free parts: the cutoffs, the slicing of refit histories and the scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.errors import SeriesTooShortError
from ..data.validation import ColumnSpec, PanelData
from ._constraints import Param
from .output import quantile_label

#: Constraint table of the arguments of ``backtest`` (checked with the estimator's class name).
BACKTEST_CONSTRAINTS = {
    "n_windows": Param("int", low=1),
    "step": Param("int", low=1, none=True),
    "refit": Param("bool"),
    "season_length": Param("int", low=1, none=True),
}

#: Seasonal period used by MASE when ``season_length`` is not given, by pandas frequency alias.
SEASON_BY_FREQ = {
    "h": 24,
    "H": 24,
    "D": 7,
    "B": 5,
    "W": 52,
    "MS": 12,
    "ME": 12,
    "M": 12,
    "QS": 4,
    "QE": 4,
    "Q": 4,
    "15min": 96,
    "30min": 48,
    "10min": 144,
    "min": 60,
    "T": 60,
}


def season_for(freq: str | None) -> int:
    """Seasonal period for MASE: known calendar cycles by frequency, else 1 (naive random walk)."""
    if freq is None:
        return 1
    return SEASON_BY_FREQ.get(freq.split("-")[0], 1)


@dataclass
class BacktestResult:
    """Result of :func:`backtest`.

    Attributes
    ----------
    windows : DataFrame
        One row per (window, series): ``window``, ``cutoff`` (last time of the history),
        ``unique_id``, ``mae``, ``mse``, ``mase`` and ``quantile_loss`` when trained with quantiles.
    forecasts : DataFrame
        Long table of every forecast: ``window``, ``unique_id``, ``ds``, ``y_true``, ``y_pred`` (+ quantiles).
    overall : dict
        Metrics over all windows and series (MASE averaged over windows x series).
    """

    windows: pd.DataFrame
    forecasts: pd.DataFrame
    overall: dict


def mase_denominator(history: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast (falls back to lag 1 for short histories)."""
    m = season if len(history) > season else 1
    diffs = np.abs(history[m:] - history[:-m])
    scale = float(diffs.mean()) if diffs.size else float("nan")
    return scale if scale > 0 else float("nan")


def _prefix_mase_denominators(y: np.ndarray, cuts: np.ndarray, season: int) -> np.ndarray:
    """``mase_denominator(y[:c], season)`` for every ``c`` in ``cuts``, via cumulative sums."""
    out = np.empty(len(cuts))
    for m in {season, 1}:
        diffs = np.abs(y[m:] - y[:-m]) if len(y) > m else np.zeros(0)
        csum = np.concatenate([[0.0], np.cumsum(diffs)])
        use = (cuts > season) if m == season else (cuts <= season)
        n = np.maximum(cuts[use] - m, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[use] = np.where(n > 0, csum[n] / np.maximum(n, 1), np.nan)
    out[~(out > 0)] = np.nan
    return out


def backtest_cutoffs(lengths: list[int], horizon: int, n_windows: int, step: int) -> list[np.ndarray]:
    """History ends (exclusive rows) of the ``n_windows`` windows of each series, oldest first.

    The last window forecasts the final ``horizon`` rows of each series; earlier ones move back by ``step``.
    """
    backs = (n_windows - 1 - np.arange(n_windows)) * step
    cuts = [T - horizon - backs for T in lengths]
    if min(int(c.min()) for c in cuts) < 1:
        raise SeriesTooShortError(
            f"{n_windows} windows with step {step} and horizon {horizon} need series longer than "
            f"{horizon + (n_windows - 1) * step} steps; the shortest has {min(lengths)}."
        )
    return cuts


def split_at(X, panel: PanelData, columns: ColumnSpec, cut: list[int], upto: list[int]):
    """Rows [0, cut_i) of each series of ``X`` (and, separately, rows [cut_i, upto_i)) in X's layout."""
    if panel.layout == "long":
        pos = X.groupby(columns.id_col, sort=False).cumcount().to_numpy()
        cut_of = X[columns.id_col].map(dict(zip(panel.ids, cut))).to_numpy()
        upto_of = X[columns.id_col].map(dict(zip(panel.ids, upto))).to_numpy()
        return X[pos < cut_of], X[(pos >= cut_of) & (pos < upto_of)]
    return X.iloc[: cut[0]], X.iloc[cut[0] : upto[0]]


def backtest(
    est, X, n_windows: int = 3, step: int | None = None, refit: bool = False, season_length: int | None = None
) -> BacktestResult:
    """Rolling-origin evaluation of the forecaster ``est`` on ``X``: the same as ``est.backtest(...)``."""
    return est.backtest(X, n_windows=n_windows, step=step, refit=refit, season_length=season_length)


def score_windows(
    panel: PanelData, cuts: list[np.ndarray], values: np.ndarray, quantiles: tuple[float, ...], season: int
) -> BacktestResult:
    """Metrics of forecasts ``values`` ``[N, W, H, Q]`` (original scale) of the windows ending at ``cuts``."""
    H = values.shape[2]
    levels = np.asarray(quantiles)
    point_col = quantiles.index(0.5) if quantiles else 0
    records, frames = [], []
    for i, sid in enumerate(panel.ids):
        c = cuts[i]
        rows = c[:, None] + np.arange(H)  # [W, H]
        actual = panel.target[i][rows]
        point = values[i, :, :, point_col]
        err = point - actual
        mae, mse = np.abs(err).mean(1), (err**2).mean(1)
        rec = {
            "window": np.arange(len(c)),
            "cutoff": panel.index[i][c - 1],
            "unique_id": [sid] * len(c),
            "mae": mae,
            "mse": mse,
            "mase": mae / _prefix_mase_denominators(panel.target[i], c, season),
        }
        frame = {
            "window": np.repeat(np.arange(len(c)), H),
            "unique_id": [sid] * rows.size,
            "ds": panel.index[i][rows.reshape(-1)],
            "y_true": actual.reshape(-1),
            "y_pred": point.reshape(-1),
        }
        if levels.size:
            diff = actual[..., None] - values[i]
            rec["quantile_loss"] = np.maximum(levels * diff, (levels - 1) * diff).mean((1, 2))
            for j, q in enumerate(quantiles):
                frame[f"y_{quantile_label(q)}"] = values[i, :, :, j].reshape(-1)
        records.append(pd.DataFrame(rec))
        frames.append(pd.DataFrame(frame))
    windows = pd.concat(records, ignore_index=True).sort_values(["window"], kind="stable", ignore_index=True)
    forecasts = pd.concat(frames, ignore_index=True).sort_values(["window"], kind="stable", ignore_index=True)
    err = forecasts["y_pred"] - forecasts["y_true"]
    overall = {
        "mae": float(err.abs().mean()),
        "mse": float((err**2).mean()),
        "mase": float(windows["mase"].mean()),
    }
    if "quantile_loss" in windows:
        overall["quantile_loss"] = float(windows["quantile_loss"].mean())
    return BacktestResult(windows=windows, forecasts=forecasts, overall=overall)
