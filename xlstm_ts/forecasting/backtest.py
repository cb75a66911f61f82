"""Rolling-origin backtesting and forecast metrics (MAE, MSE, MASE, quantile loss)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from ..data.validation import parse_panel
from .output import quantile_label

#: Seasonal period used by MASE when ``season_length`` is not given, by pandas frequency alias.
SEASON_BY_FREQ = {"h": 24, "H": 24, "D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4,
                  "Q": 4, "15min": 96, "30min": 48, "10min": 144, "min": 60, "T": 60}


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


def _slice(est, X, panel, cut: list[int], upto: list[int]):
    """Rows [0, cut_i) of each series of ``X`` (and, separately, rows [cut_i, upto_i)) in X's layout."""
    if panel.layout == "long":
        pos = X.groupby(est.id_col, sort=False).cumcount().to_numpy()
        cut_of = X[est.id_col].map(dict(zip(panel.ids, cut))).to_numpy()
        upto_of = X[est.id_col].map(dict(zip(panel.ids, upto))).to_numpy()
        return X[pos < cut_of], X[(pos >= cut_of) & (pos < upto_of)]
    return X.iloc[: cut[0]], X.iloc[cut[0] : upto[0]]


def _as_arrays(est, out, ids: list, H: int) -> np.ndarray:
    """predict()'s output as ``[N, H, Q]`` (Q = 1 for point forecasts; point first otherwise)."""
    quantiles = est._output_quantiles()
    labels = [quantile_label(q) for q in quantiles]
    if est.layout_ == "long":
        grouped = {sid: g for sid, g in out.groupby(est.id_col, sort=False)}
        cols = [f"{est.target_col}_{lab}" for lab in labels] or [est.target_col]
        arr = np.stack([grouped[s][cols].to_numpy() for s in ids])
    elif est.layout_ == "wide":
        arr = np.stack([out[[(s, lab) for lab in labels]].to_numpy() if labels else out[[s]].to_numpy() for s in ids])
    else:
        arr = (out[labels] if labels else out.to_frame()).to_numpy()[None]
    return arr.reshape(len(ids), H, -1)


def backtest(est, X, n_windows: int = 3, step: int | None = None, refit: bool = False,
             season_length: int | None = None) -> BacktestResult:
    """Rolling-origin evaluation of ``est`` on ``X``.

    The last of the ``n_windows`` windows forecasts the final ``horizon`` steps of each series;
    earlier windows move back by ``step`` (default ``horizon``). With ``refit=False`` the fitted
    model forecasts every window in one batched pass; with ``refit=True`` a clone is trained on
    each window's history and forecasts through ``predict``.
    """
    if not refit:
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(est, "network_")
    if n_windows < 1:
        raise ValueError(f"n_windows must be >= 1, got {n_windows}.")
    H = est.horizon
    step = H if step is None else step
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}.")
    panel = parse_panel(X, columns=est._columns(), freq=getattr(est, "freq_", None) or est.freq,
                        fill_method=est.fill_method)
    season = season_length or season_for(panel.freq)
    backs = (n_windows - 1 - np.arange(n_windows)) * step
    cuts = [T - H - backs for T in panel.lengths()]  # [W] per series
    if min(int(c.min()) for c in cuts) < 1:
        raise ValueError(f"{n_windows} windows with step {step} and horizon {H} need series longer than "
                         f"{H + (n_windows - 1) * step} steps.")
    if refit:
        values = np.stack([_refit_window(est, X, panel, [int(c[w]) for c in cuts]) for w in range(n_windows)], 1)
    else:
        values = est._predict_windows(panel, cuts)  # [N, W, H, Q]
    return _score(est, panel, cuts, values, season)


def _refit_window(est, X, panel, cut: list[int]) -> np.ndarray:
    history, future_rows = _slice(est, X, panel, cut, [c + est.horizon for c in cut])
    model = clone(est).fit(history)
    out = model.predict(history, X_future=future_rows if est.future_covariates else None)
    return _as_arrays(model, out, list(panel.ids), est.horizon)


def _score(est, panel, cuts, values: np.ndarray, season: int) -> BacktestResult:
    H = est.horizon
    quantiles = np.asarray(est._output_quantiles())
    point_col = int(np.argmin(np.abs(quantiles - 0.5))) if quantiles.size else 0
    records, frames = [], []
    for i, sid in enumerate(panel.ids):
        c = cuts[i]
        rows = c[:, None] + np.arange(H)  # [W, H]
        actual = panel.target[i][rows]
        point = values[i, :, :, point_col]
        err = point - actual
        mae, mse = np.abs(err).mean(1), (err**2).mean(1)
        rec = {"window": np.arange(len(c)), "cutoff": panel.index[i][c - 1], "unique_id": [sid] * len(c),
               "mae": mae, "mse": mse, "mase": mae / _prefix_mase_denominators(panel.target[i], c, season)}
        frame = {"window": np.repeat(np.arange(len(c)), H), "unique_id": [sid] * rows.size,
                 "ds": panel.index[i][rows.reshape(-1)], "y_true": actual.reshape(-1), "y_pred": point.reshape(-1)}
        if quantiles.size:
            diff = actual[..., None] - values[i]
            rec["quantile_loss"] = np.maximum(quantiles * diff, (quantiles - 1) * diff).mean((1, 2))
            for j, q in enumerate(quantiles):
                frame[f"y_{quantile_label(q)}"] = values[i, :, :, j].reshape(-1)
        records.append(pd.DataFrame(rec))
        frames.append(pd.DataFrame(frame))
    windows = pd.concat(records, ignore_index=True).sort_values(["window"], kind="stable", ignore_index=True)
    forecasts = pd.concat(frames, ignore_index=True).sort_values(["window"], kind="stable", ignore_index=True)
    err = forecasts["y_pred"] - forecasts["y_true"]
    overall = {"mae": float(err.abs().mean()), "mse": float((err**2).mean()), "mase": float(windows["mase"].mean())}
    if "quantile_loss" in windows:
        overall["quantile_loss"] = float(windows["quantile_loss"].mean())
    return BacktestResult(windows=windows, forecasts=forecasts, overall=overall)
