"""CPU threads: time training steps and batched prediction of ``xLSTMForecaster`` with 1..N threads.

Prints, per configuration, the multiply-add estimate the ``num_threads="auto"`` rule uses (parameters x
windows x tokens per step), the thread count it picks, and the measured time per training step and per
prediction batch for each thread count.  Measured numbers only; nothing is hard-coded.

Usage::

    python benchmarks/threads_cpu.py               # threads 1 and all cores
    python benchmarks/threads_cpu.py --steps 20 --threads 1 2 4
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import torch

from xlstm_ts import xLSTMForecaster
from xlstm_ts.forecasting._training import auto_threads

CONFIGS = {
    # name: (estimator arguments, series length, number of series)
    "airline default (E=32, L=36)": (dict(horizon=12), 144, 1),
    "long hourly (E=64, L=336, patch 16)": (
        dict(horizon=96, lookback=336, patch_size=16, embedding_dim=64, batch_size=128),
        4000,
        7,
    ),
    "wide (E=128, 4 blocks, L=336, patch 8)": (
        dict(horizon=96, lookback=336, patch_size=8, embedding_dim=128, num_blocks=4, batch_size=128),
        4000,
        7,
    ),
}


def data(length: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    t = np.arange(length)
    values = np.stack([np.sin(2 * np.pi * t / 24 + i) + 0.1 * rng.normal(size=length) for i in range(n)], 1)
    return pd.DataFrame(
        values,
        index=pd.date_range("2020-01-01", periods=length, freq="h"),
        columns=[f"s{i}" for i in range(n)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10, help="training steps timed per run")
    parser.add_argument("--threads", type=int, nargs="+", default=None)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = args.threads or sorted({1, cores})
    print(
        f"# {time.strftime('%Y-%m-%d')} | {cores} usable cores | torch {torch.__version__} | load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    # warm-up: the first fit of a process pays for imports and Lightning's start-up
    xLSTMForecaster(horizon=3, lookback=6, max_epochs=1, verbose=False, device="cpu").fit(data(64, 1))
    for name, (params, length, n) in CONFIGS.items():
        frame = data(length, n)
        rows = []
        for k in threads:
            est = xLSTMForecaster(
                **params,
                max_epochs=1,
                verbose=False,
                device="cpu",
                num_threads=k,
                trainer_kwargs={"max_steps": args.steps + 2},
            )
            start = time.perf_counter()
            est.fit(frame)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            est.backtest(frame, n_windows=min(1024, length // 2), step=1)
            pred_s = time.perf_counter() - start
            rows.append((k, fit_s / (args.steps + 2) * 1e3, pred_s))
        work = est.work_per_window_ * est.params_["batch_size"]
        print(
            f"{name}: {work:.2g} MACs/step, auto picks {auto_threads(work) or 'torch default'} thread(s) for training, "
            f"{auto_threads(est.work_per_window_ * 1024) or 'torch default'} for prediction batches of 1024"
        )
        for k, step_ms, pred_s in rows:
            print(
                f"  threads {k}: {step_ms:8.1f} ms/step (fit incl. start-up)   backtest of up to 1024 windows "
                f"{pred_s:6.2f} s"
            )


if __name__ == "__main__":
    main()
