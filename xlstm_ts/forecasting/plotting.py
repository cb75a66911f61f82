"""Plot of history, forecast and quantile band (matplotlib is an optional extra)."""

from __future__ import annotations

from ..data.validation import future_index, parse_panel
from .backtest import _as_arrays
from .output import history_index


def plot_forecast(est, X=None, forecast=None, ax=None, series=None):
    """Draw the last ``4 * horizon`` points of history, the forecast and its outer quantile band.

    ``X`` defaults to the stored context; ``forecast`` to ``est.predict(X)``; ``series`` picks one
    series id (default: the first). Returns the matplotlib Figure.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plot() needs matplotlib: pip install 'xlstm-ts[plot]'") from err
    if forecast is None:
        forecast = est.predict(X)
    if X is not None:
        panel = parse_panel(X, columns=est._columns(), freq=est.freq_, fill_method=est.fill_method)
        ids, hist_index, hist = panel.ids, panel.index, panel.target
    else:
        ids, hist_index, hist = est.ids_, None, list(est.context_["target"])
    sid = ids[0] if series is None else series
    i = list(ids).index(sid)
    arr = _as_arrays(est, forecast, list(ids), est.horizon)  # [N, H, Q]
    qs = est._output_quantiles()
    point = arr[..., qs.index(0.5)] if qs else arr[..., 0]
    quant = arr if qs else None
    last = est.last_time_[i] if X is None else panel.last_time(i)
    fut = future_index(last, est.freq_, est.horizon)
    n_hist = min(len(hist[i]), 4 * est.horizon)
    if hist_index is not None:
        past_index = hist_index[i][-n_hist:]
    else:
        past_index = history_index(last, est.freq_, n_hist)
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4))
    else:
        fig = ax.figure
    ax.plot(past_index, hist[i][-n_hist:], color="black", lw=1.2, label="history")
    ax.plot(fut, point[i], color="tab:blue", lw=1.6, label="forecast")
    if quant is not None:
        ax.fill_between(fut, quant[i, :, 0], quant[i, :, -1], color="tab:blue", alpha=0.2,
                        label=f"{qs[0]:g}-{qs[-1]:g} quantiles")
    ax.set_title(f"xLSTMForecaster: {sid}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
