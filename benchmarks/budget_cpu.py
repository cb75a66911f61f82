"""Is a time budget a budget?  ``xLSTMForecaster`` with only ``horizon``, ``lookback``, the protocol's
validation rows and ``trainer_kwargs={"max_time": ...}`` on a long-horizon dataset, on this machine's CPU:
the wall time of ``fit`` (which must not exceed the budget), the backtest over every test window, and the
test MSE beside the closed-form NLinear-OLS floor of the same data.

Usage::

    python benchmarks/budget_cpu.py --data-home ../shared/data --dataset ETTm1 --budget 00:00:04:00
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from ltsf import nlinear_ols, protocol_frame, rows_before


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--dataset", default="ETTm1")
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--budget", default="00:00:04:00")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from xlstm_ts import xLSTMForecaster

    long, ends = protocol_frame(args.dataset, args.data_home)
    frame = rows_before(long, ends["val"])
    validation = (ends["val"] - ends["train"]) / ends["val"]
    params = dict(horizon=args.horizon, lookback=336, validation_size=validation, device=args.device,
                  trainer_kwargs={"max_time": args.budget})  # fmt: skip
    start = time.perf_counter()
    model = xLSTMForecaster(**params).fit(frame)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    result = model.backtest(long, n_windows=ends["test"] - ends["val"] - args.horizon + 1, step=1)
    eval_s = time.perf_counter() - start
    floor, _, _ = nlinear_ols(long, ends, 336, args.horizon)
    print(json.dumps({
        "dataset": args.dataset, "horizon": args.horizon, "budget": args.budget, "fit_s": round(fit_s, 1),
        "backtest_s": round(eval_s, 1), "test_mse": round(float(result.overall["mse"]), 4),
        "nlinear_ols": round(floor, 4), "epochs": model.n_epochs_, "best_epoch": model.best_epoch_,
        "windows": int(result.windows.shape[0]), "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d"), "torch": torch.__version__,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
