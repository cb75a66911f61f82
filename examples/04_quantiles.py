"""Probabilistic forecasts: ``loss="quantile"`` trains one output per quantile level.

Runs on a CPU in well under a minute::

    python examples/04_quantiles.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for a much smaller model and fewer epochs (used by the test suite; the
band is then rough).

What it shows
-------------
The airline series with its last 12 months held out, a model trained with the pinball loss for the
levels 0.1, 0.5 and 0.9, the forecast band month by month next to the actual values, and the share of
held-out months that fall inside the 10%-90% band.  With matplotlib installed the plot is saved to a
temporary PNG.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from xlstm_ts import xLSTMForecaster
from xlstm_ts.datasets import load_airline

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"
QUANTILES = (0.1, 0.5, 0.9)


def settings() -> dict:
    if FAST:
        return dict(max_epochs=2, embedding_dim=16, num_blocks=1, num_heads=2)
    return {}


def main() -> None:
    y = load_airline()
    train, test = y.iloc[:-12], y.iloc[-12:]
    model = xLSTMForecaster(
        horizon=12, loss="quantile", quantiles=QUANTILES, random_state=0, verbose=False, **settings()
    ).fit(train)

    forecast = model.predict()  # DataFrame: the point forecast (= median) and one column per quantile
    print("columns:", list(forecast.columns))
    band = pd.DataFrame(
        {
            "actual": test.to_numpy(),
            "q0.1": forecast["q0.1"].to_numpy(),
            "median": forecast["q0.5"].to_numpy(),
            "q0.9": forecast["q0.9"].to_numpy(),
        },
        index=forecast.index.strftime("%Y-%m"),
    )
    band["inside"] = (band["q0.1"] <= band["actual"]) & (band["actual"] <= band["q0.9"])
    print(band.round(1).to_string())
    coverage = band["inside"].mean()
    width = (band["q0.9"] - band["q0.1"]).mean()
    mae = np.abs(band["median"] - band["actual"]).mean()
    print(f"\n10%-90% band: {coverage:.0%} of held-out months inside (nominal 80%), mean width {width:.1f}")
    print(f"median forecast MAE: {mae:.2f}")

    result = model.backtest(y, n_windows=1)
    print(f"mean quantile (pinball) loss on the last 12 months: {result.overall['quantile_loss']:.2f}")

    try:
        import matplotlib

        matplotlib.use("Agg")
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'xlstm-ts[plot]')")
        return
    fig = model.plot(train, forecast=forecast)
    path = Path(tempfile.gettempdir()) / "xlstm_ts_quantiles.png"
    fig.savefig(path, dpi=80)
    print(f"plot saved to {path}")


if __name__ == "__main__":
    main()
