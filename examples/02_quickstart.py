"""Quickstart: forecast the airline passengers series and backtest it against a seasonal naive baseline.

Runs on a CPU in well under a minute::

    python examples/02_quickstart.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for a much smaller model and fewer epochs (used by the test suite; the
forecasts are then rough).

What it shows
-------------
1. ``xLSTMForecaster(horizon=12).fit(y)`` on a pandas Series with a monthly DatetimeIndex, and
   ``predict()``: the 12 months after the data (1961), in passengers, as a Series.
2. ``backtest(y, n_windows=2, refit=True)``: rolling-origin evaluation, a fresh model trained on the
   history before each cutoff, with MAE / MSE / MASE per window.
3. The seasonal naive baseline (each month forecast by the same month one year earlier), next to the
   model, window by window.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from xlstm_ts import xLSTMForecaster
from xlstm_ts.datasets import load_airline

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"
SEASON = 12  # months


def settings() -> dict:
    """Model settings: the library defaults, or a tiny model in fast mode."""
    if FAST:
        return dict(max_epochs=2, embedding_dim=16, num_blocks=1, num_heads=2)
    return {}


def main() -> None:
    y = load_airline()
    print(f"airline passengers: {len(y)} months, {y.index[0]:%Y-%m} .. {y.index[-1]:%Y-%m}")

    # --- fit on everything, forecast the next 12 months ------------------------------------
    start = time.perf_counter()
    model = xLSTMForecaster(horizon=12, random_state=0, verbose=False, **settings()).fit(y)
    print(f"fitted in {time.perf_counter() - start:.1f} s ({model.n_epochs_} epochs)")
    forecast = model.predict()
    print("\nforecast for 1961:")
    print(forecast.round(1).to_string())

    # --- backtest: the model vs the seasonal naive forecast ---------------------------------
    start = time.perf_counter()
    result = model.backtest(y, n_windows=2, refit=True)
    print(f"\nbacktest (2 windows of 12 months, refitted each time) in {time.perf_counter() - start:.1f} s")
    table = result.forecasts.copy()
    table["naive"] = y.shift(SEASON).reindex(table["ds"]).to_numpy()  # same month, one year earlier
    rows = []
    for window, group in table.groupby("window"):
        cutoff = result.windows.loc[result.windows["window"] == window, "cutoff"].iloc[0]
        rows.append(
            {
                "window": window,
                "cutoff": f"{cutoff:%Y-%m}",
                "xLSTM MAE": np.abs(group["y_pred"] - group["y_true"]).mean(),
                "naive MAE": np.abs(group["naive"] - group["y_true"]).mean(),
                "xLSTM MASE": result.windows.loc[result.windows["window"] == window, "mase"].iloc[0],
            }
        )
    summary = pd.DataFrame(rows)
    print(summary.round(2).to_string(index=False))
    print(
        f"overall: xLSTM MAE {result.overall['mae']:.2f}, "
        f"seasonal naive MAE {np.abs(table['naive'] - table['y_true']).mean():.2f}"
    )

    last = table[table["window"] == table["window"].max()]
    side = pd.DataFrame(
        {
            "actual": last["y_true"].to_numpy(),
            "xLSTM": last["y_pred"].to_numpy(),
            "naive": last["naive"].to_numpy(),
        },
        index=pd.DatetimeIndex(last["ds"]).strftime("%Y-%m"),
    )
    print("\nlast window, month by month:")
    print(side.round(1).to_string())


if __name__ == "__main__":
    main()
