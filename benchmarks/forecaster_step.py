"""Where the time of one training step of ``xLSTMForecaster`` goes (ETTh1, the LTSF protocol's data).

Fits with ``max_steps`` and, after a warm-up, measures two windows of ``--steps`` steps each:

1. **timing** (no profiler): wall time per step, the device synchronised once at the start and once at
   the end of the window, never inside it;
2. **profile**: ``torch.profiler`` over the same number of steps -- the kernel time per step on the device
   (its sum of CUDA kernel times), kernel launches per step, host-to-device copies, and the top operators --
   with ``torch.cuda.set_sync_debug_mode("warn")`` on, so that every host-device synchronisation inside
   a step is counted and its source printed.

Usage::

    python benchmarks/forecaster_step.py --data-home ../shared/data --config '{"embedding_dim": 64}'
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
import traceback
import warnings
from pathlib import Path

import lightning as L
import torch

sys.path.insert(0, str(Path(__file__).parent))
from ltsf import BASE, protocol_frame, rows_before


class StepWindows(L.Callback):
    """Times steps ``[first, first + count)`` and profiles ``[first + count, first + 2 count)``."""

    def __init__(self, first: int, count: int) -> None:
        self.first, self.count = first, count
        self.wall: float | None = None
        self.profiler = None
        self.syncs: collections.Counter = collections.Counter()
        self._catch = None

    @staticmethod
    def _sync(module) -> None:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        step = trainer.global_step
        if step == self.first:
            self._sync(module)
            self.start = time.perf_counter()
        elif step == self.first + self.count:
            self._sync(module)
            self.wall = (time.perf_counter() - self.start) / self.count
            activities = [torch.profiler.ProfilerActivity.CPU]
            if module.device.type == "cuda":
                activities.append(torch.profiler.ProfilerActivity.CUDA)
                torch.cuda.set_sync_debug_mode("warn")
                self._catch = warnings.catch_warnings()
                self._catch.__enter__()
                warnings.simplefilter("always")
                warnings.showwarning = self._record
            self.profiler = torch.profiler.profile(activities=activities)
            self.profiler.__enter__()

    def _record(self, message, category, filename, lineno, file=None, line=None) -> None:
        if "synchroniz" in str(message).lower():
            stack = [f for f in traceback.extract_stack()[:-2] if "site-packages/torch" not in f.filename]
            where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stack[-4:][::-1])
            self.syncs[where] += 1

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.first + 2 * self.count and self.profiler is not None:
            self._sync(module)
            self.profiler.__exit__(None, None, None)
            if self._catch is not None:
                torch.cuda.set_sync_debug_mode(0)
                self._catch.__exit__(None, None, None)
                self._catch = None
            self.done_profile = self.profiler
            self.profiler = None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--config", default="{}", help="JSON of xLSTMForecaster arguments")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    from xlstm_ts import xLSTMForecaster

    long, ends = protocol_frame("ETTh1", args.data_home)
    frame = rows_before(long, ends["val"])
    windows = StepWindows(args.warmup, args.steps)
    params = {**BASE, **json.loads(args.config), "horizon": args.horizon, "validation_size": 0.0}
    shown = dict(params)
    params["trainer_kwargs"] = {"max_steps": args.warmup + 2 * args.steps + 1, "callbacks": [windows]}
    xLSTMForecaster(**params).fit(frame)
    events = windows.done_profile.key_averages()
    n = args.steps
    kernel_us = sum(
        e.self_device_time_total for e in events if e.device_type == torch.autograd.DeviceType.CUDA
    )
    launches = sum(
        e.count for e in events if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC")
    )
    h2d = sum(e.count for e in events if "HtoD" in e.key)
    print(json.dumps(shown))
    print(
        f"wall {windows.wall * 1e3:.2f} ms/step (no profiler) | kernels {kernel_us / n / 1e3:.2f} ms/step | "
        f"launches {launches / n:.0f}/step | H2D copies {h2d / n:.2f}/step | "
        f"synchronisations {sum(windows.syncs.values()) / n:.2f}/step"
    )
    for where, count in windows.syncs.most_common(8):
        print(f"  sync x{count}: {where}")
    sort = "self_cuda_time_total" if kernel_us else "self_cpu_time_total"
    print(events.table(sort_by=sort, row_limit=20))


if __name__ == "__main__":
    main()
