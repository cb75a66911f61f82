"""Plot of history, forecast and quantile band (matplotlib is an optional extra)."""

from __future__ import annotations

import numpy as np


def plot_forecast(
    history_index,
    history,
    future_index,
    values: np.ndarray,
    quantiles: tuple[float, ...],
    title: str = "forecast",
    ax=None,
):
    """Draw ``history`` (on ``history_index``), the point forecast and the outer quantile band.

    ``values`` is ``[H, Q]``: one column per quantile level in ``quantiles`` (or one point column when
    ``quantiles`` is empty).  Returns the matplotlib Figure.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plot() needs matplotlib: pip install 'xlstm-ts[plot]'") from err
    point = values[:, quantiles.index(0.5)] if quantiles else values[:, 0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4))
    else:
        fig = ax.figure
    ax.plot(history_index, history, color="black", lw=1.2, label="history")
    ax.plot(future_index, point, color="tab:blue", lw=1.6, label="forecast")
    if quantiles:
        ax.fill_between(
            future_index,
            values[:, 0],
            values[:, -1],
            color="tab:blue",
            alpha=0.2,
            label=f"{quantiles[0]:g}-{quantiles[-1]:g} quantiles",
        )
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
