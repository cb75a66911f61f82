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
    base = freq.split("-")[0]
    return SEASON_BY_FREQ.get(base, 1)


@dataclass
class BacktestResult:
    """Result of :func:`backtest`.

    Attributes
    ----------
    windows : DataFrame
        One row per (window, series): ``window``, ``cutoff`` (last time of the history),
        ``unique_id``, ``mae``, ``mse``, ``mase`` and ``quantile_loss`` when trained with quantiles.
    forecasts : DataFrame
        Long table of every forecast: window, series, time, ``y_true``, ``y_pred`` (+ quantiles).
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


def _slice(est, X, panel, cut: list[int], upto: list[int]):
    """Rows [0, cut_i) of each series of ``X`` (and, separately, rows [cut_i, upto_i)) in X's layout."""
    if panel.layout == "long":
        pos = X.groupby(est.id_col, sort=False).cumcount().to_numpy()
        cut_of = X[est.id_col].map(dict(zip(panel.ids, cut))).to_numpy()
        upto_of = X[est.id_col].map(dict(zip(panel.ids, upto))).to_numpy()
        return X[pos < cut_of], X[(pos >= cut_of) & (pos < upto_of)]
    return X.iloc[: cut[0]], X.iloc[cut[0] : upto[0]]


def _as_arrays(est, out, ids: list, H: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Point forecasts ``[N, H]`` and quantiles ``[N, H, Q]`` (or None) from predict()'s output."""
    quantiles = est._output_quantiles()
    if est.layout_ == "long":
        grouped = {sid: g for sid, g in out.groupby(est.id_col, sort=False)}
        point = np.stack([grouped[s][est.target_col].to_numpy() for s in ids])
        qs = [np.stack([grouped[s][f"{est.target_col}_{quantile_label(q)}"].to_numpy() for s in ids])
              for q in quantiles]
    elif est.layout_ == "wide":
        point = np.stack([(out[(s, "point")] if quantiles else out[s]).to_numpy() for s in ids])
        qs = [np.stack([out[(s, quantile_label(q))].to_numpy() for s in ids]) for q in quantiles]
    else:
        point = (out.iloc[:, 0] if quantiles else out).to_numpy()[None]
        qs = [out[quantile_label(q)].to_numpy()[None] for q in quantiles]
    return point.reshape(len(ids), H), (np.stack(qs, axis=-1) if quantiles else None)


def backtest(est, X, n_windows: int = 3, step: int | None = None, refit: bool = False,
             season_length: int | None = None) -> BacktestResult:
    """Rolling-origin evaluation of ``est`` on ``X``.

    The last of the ``n_windows`` windows forecasts the final ``horizon`` steps of each series;
    earlier windows move back by ``step`` (default ``horizon``). With ``refit=False`` the fitted
    model forecasts from each history; with ``refit=True`` a clone is trained on each history.
    """
    if n_windows < 1:
        raise ValueError(f"n_windows must be >= 1, got {n_windows}.")
    H = est.horizon
    step = H if step is None else step
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}.")
    panel = parse_panel(X, columns=est._columns(), freq=getattr(est, "freq_", None) or est.freq,
                        fill_method=est.fill_method)
    season = season_length or season_for(panel.freq)
    rows, records = [], []
    for w in range(n_windows):
        back = (n_windows - 1 - w) * step
        cut = [T - H - back for T in panel.lengths()]
        if min(cut) < 1:
            raise ValueError(f"Window {w} would start before the data: {n_windows} windows with step {step} and "
                             f"horizon {H} need series longer than {H + (n_windows - 1) * step} steps.")
        history, future_rows = _slice(est, X, panel, cut, [c + H for c in cut])
        model = clone(est).fit(history) if refit else est
        x_future = future_rows if est.future_covariates else None
        out = model.predict(history, X_future=x_future)
        point, quant = _as_arrays(model, out, list(panel.ids), H)
        for i, sid in enumerate(panel.ids):
            actual = panel.target[i][cut[i] : cut[i] + H]
            err = point[i] - actual
            rec = {"window": w, "cutoff": panel.index[i][cut[i] - 1], "unique_id": sid,
                   "mae": float(np.abs(err).mean()), "mse": float((err**2).mean()),
                   "mase": float(np.abs(err).mean() / mase_denominator(panel.target[i][: cut[i]], season))}
            if quant is not None:
                q = np.asarray(est._output_quantiles())
                diff = actual[:, None] - quant[i]
                rec["quantile_loss"] = float(np.maximum(q * diff, (q - 1) * diff).mean())
            records.append(rec)
            frame = {"window": w, "unique_id": sid, "ds": panel.index[i][cut[i] : cut[i] + H],
                     "y_true": actual, "y_pred": point[i]}
            if quant is not None:
                for j, qv in enumerate(est._output_quantiles()):
                    frame[f"y_{quantile_label(qv)}"] = quant[i, :, j]
            rows.append(pd.DataFrame(frame))
    windows = pd.DataFrame(records)
    forecasts = pd.concat(rows, ignore_index=True)
    err = forecasts["y_pred"] - forecasts["y_true"]
    overall = {"mae": float(err.abs().mean()), "mse": float((err**2).mean()), "mase": float(windows["mase"].mean())}
    if "quantile_loss" in windows:
        overall["quantile_loss"] = float(windows["quantile_loss"].mean())
    return BacktestResult(windows=windows, forecasts=forecasts, overall=overall)
