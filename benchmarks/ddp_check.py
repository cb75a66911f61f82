"""Train an ``xLSTMForecaster`` with Lightning DDP on several GPUs and save it (for a CPU reload check).

Run on a machine with 2 GPUs::

    python benchmarks/ddp_check.py --devices 2 --out /tmp/ddp_model

Then, on any machine (CPU is fine), check that the saved model loads and predicts::

    python benchmarks/ddp_check.py --check /tmp/ddp_model

Rank 0 writes the model and a JSON report (devices, epochs, fit time, predictions) next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from xlstm_ts import xLSTMForecaster
from xlstm_ts.data.validation import make_future_frame, parse_panel
from xlstm_ts.datasets import SYNTHETIC_FUTURE_COVARIATES, make_synthetic

COVARIATES = dict(future_covariates=list(SYNTHETIC_FUTURE_COVARIATES))


def data():
    frame = make_synthetic(n_series=8, length=2000, covariates=True, seed=0)
    return frame[["unique_id", "ds", "y", *SYNTHETIC_FUTURE_COVARIATES]]


def future_covariates(model: xLSTMForecaster, frame):
    """The covariates of the horizon after each series' end, generated the same way as the data."""
    longer = make_synthetic(n_series=8, length=2000 + model.horizon, covariates=True, seed=0)
    template = make_future_frame(
        parse_panel(frame, columns=model.output_spec_.columns), model.output_spec_.horizon
    )
    return template.merge(longer[["unique_id", "ds", *SYNTHETIC_FUTURE_COVARIATES]], on=["unique_id", "ds"])


def train(devices: int, out: Path) -> None:
    frame = data()
    model = xLSTMForecaster(
        horizon=24,
        lookback=96,
        patch_size=8,
        embedding_dim=64,
        max_epochs=3,
        batch_size=64,
        verbose=False,
        trainer_kwargs={"devices": devices, "strategy": "ddp"},
        **COVARIATES,
    )
    start = time.perf_counter()
    model.fit(frame)
    seconds = time.perf_counter() - start
    if int(os.environ.get("LOCAL_RANK", "0")) != 0:
        return
    forecast = model.predict(X_future=future_covariates(model, frame))
    model.save(out)
    report = {
        "devices": devices,
        "cuda_devices_seen": torch.cuda.device_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "fit_seconds": seconds,
        "epochs": model.n_epochs_,
        "forecast_head": forecast["y"].to_numpy()[:5].tolist(),
        "forecast": forecast["y"].to_numpy().tolist(),
    }
    (out / "ddp_report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "forecast"}, indent=2))


def check(path: Path) -> None:
    model = xLSTMForecaster.load(path)
    frame = data()
    forecast = model.predict(X_future=future_covariates(model, frame))["y"].to_numpy()
    report = json.loads((path / "ddp_report.json").read_text())
    diff = float(np.abs(forecast - np.asarray(report["forecast"])).max())
    print(
        f"loaded on {'cuda' if torch.cuda.is_available() else 'cpu'}; trained on {report['devices']} x "
        f"{report['gpu']}; max |forecast difference| = {diff:.3g}; finite: {np.isfinite(forecast).all()}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("ddp_model"))
    parser.add_argument("--check", type=Path, default=None)
    args = parser.parse_args()
    if args.check is not None:
        check(args.check)
    else:
        train(args.devices, args.out)
