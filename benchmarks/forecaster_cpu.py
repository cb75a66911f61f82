"""CPU benchmark: ``xlstm_ts.xLSTMForecaster`` against neuralforecast's ``xLSTM`` on ETTh1 (L=336, H=96).

Standard long-horizon protocol (docs/ltsf_protocol.md, sections 1 and 4): the 7 columns of ETTh1 as 7 channel-independent series, a StandardScaler (population std) fitted on
the train rows [0, 8640) and applied to everything, and MSE/MAE on the scaled values over ALL test windows
(forecasts starting at rows 11520 ... 14304: 2785 windows x 7 series, no drop_last).  The data is scaled here
once; both libraries get the scaled data with their own per-series scaling off (ours ``scaler="none"``,
neuralforecast ``local_scaler_type=None``).  Per-window normalisation is a model feature and stays at each
library's default: ours ``instance_norm=True`` (window mean/std), neuralforecast ``scaler_type="robust"``
(window median/MAD; ``--nf-kwargs '{"scaler_type": "identity"}'`` switches it off).

Both models train on the windows inside rows [0, 8640) for the same number of optimisation steps
(``--steps``) of ``--batch-size`` windows each (neuralforecast: ``windows_batch_size``; its ``batch_size``
counts series and all 7 fit in one), without a validation split, each with its own default architecture,
loss, optimiser and learning rate.  Then every test window is forecast without refitting: ours with
``backtest(n_windows, step=1)``, neuralforecast with ``cross_validation(use_fitted=True, step_size=1)`` and
``inference_windows_batch_size=256`` (per window, its default 1024 was slower on our CPU: see
docs/benchmarks.md, "neuralforecast's inference batch size").  Before
scoring, the forecasts of both are checked against the protocol's windows (count, timestamps, cutoffs, y).

Run it with an interpreter that has both libraries (``python-nf`` below: e.g. a virtual environment with
neuralforecast that reuses the system torch; docs/benchmarks.md has the commands)::

    python-nf benchmarks/forecaster_cpu.py --quick --memory   # 50 steps, last 200 windows
    python-nf benchmarks/forecaster_cpu.py --steps 1000 --memory
    python benchmarks/forecaster_cpu.py --only ours --ours-kwargs '{"patch_size": 16, "embedding_dim": 64}'

``--memory`` runs every (model, seed) in a fresh subprocess and reports its peak resident memory
(``VmHWM``, as benchmarks/backbone_cpu.py does) next to the memory after imports and data loading (base).
Wall times on a shared 2-core machine move a lot with other load: the 1-minute load average before and after
each run (the benchmark's own two threads count ~2), and the process CPU time are printed under the table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

LOOKBACK, HORIZON = 336, 96
DATASET = "ETTh1"
DEFAULT_DATA_HOME = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_STEPS, QUICK_STEPS, QUICK_WINDOWS = 1000, 50, 200
LABELS = {"ours": "xlstm_ts xLSTMForecaster", "nf": "neuralforecast xLSTM"}

# docs/ltsf_protocol.md, section 2, ETTh1 H=96 (L = lookback of the published run).
PUBLISHED = [
    ("closed-form linear, NLinear-OLS (docs/ltsf_protocol.md, L=336, all windows)", "0.370", "0.391"),
    ("DLinear (PatchTST Table 3, L=336)", "0.375", "0.399"),
    ("PatchTST/64 (PatchTST Table 3, L=512)", "0.370", "0.400"),
    ("PatchTST/42 (PatchTST Table 3, L=336)", "0.375", "0.399"),
    ("xLSTMTime (xLSTM-Mixer Table 6; checkpoint chosen on test)", "0.368", "0.395"),
    ("xLSTM-Mixer (xLSTM-Mixer Table 6, L=512, mean of 3 seeds)", "0.359", "0.386"),
]


# ---------------------------------------------------------------------------------------------- data
def load_scaled(data_home: str | os.PathLike) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """ETTh1 (wide, 7 columns) standardised with the train rows' statistics, and the protocol's borders."""
    from xlstm_ts.datasets import load_dataset, split_borders

    raw = load_dataset(DATASET, data_home=data_home, download=False)
    borders = split_borders(DATASET, len(raw), LOOKBACK)
    train = raw.iloc[slice(*borders["train"])]
    scaled = (raw - train.mean()) / train.std(ddof=0)  # sklearn's StandardScaler: population std
    return scaled, borders


def to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """``unique_id`` (column name), ``ds``, ``y``; grouped by series in column order, time ascending."""
    long = wide.rename_axis("ds").reset_index().melt(id_vars="ds", var_name="unique_id", value_name="y")
    return long[["unique_id", "ds", "y"]]


def n_test_windows(borders: dict[str, tuple[int, int]]) -> int:
    from xlstm_ts.datasets import count_windows

    start, stop = borders["test"]
    return count_windows(stop - start, LOOKBACK, HORIZON)


def test_cuts(borders: dict[str, tuple[int, int]], n_windows: int) -> np.ndarray:
    """Row of the first forecast step of each of the last ``n_windows`` test windows (stride 1)."""
    last = borders["test"][1] - HORIZON
    return np.arange(last - n_windows + 1, last + 1)


def as_cube(df: pd.DataFrame, ids: list[str], column: str, n_windows: int) -> np.ndarray:
    """A column of a long forecast table sorted by (series, window, ds), as ``[N, W, H]``."""
    if len(df) != len(ids) * n_windows * HORIZON:
        raise AssertionError(f"{len(df)} forecast rows, expected {len(ids)} series x {n_windows} x {HORIZON}")
    return df[column].to_numpy().reshape(len(ids), n_windows, HORIZON)


def check_and_score(name: str, scaled: pd.DataFrame, cuts: np.ndarray, pred, ds, y, cutoff=None) -> dict:
    """Check a model's forecasts against the protocol's windows, then MSE/MAE over all of them.

    ``pred``, ``ds`` and ``y`` (the library's copy of the truth) are ``[N, W, H]``, ``cutoff`` (last input
    time, if the library reports it) ``[N, W]``, all sorted by series (column order), window and time.
    """
    times, truth = scaled.index.to_numpy(), scaled.to_numpy().T  # [T], [N, T]
    rows = cuts[:, None] + np.arange(HORIZON)  # [W, H]
    if not (ds == times[rows][None]).all():
        raise AssertionError(f"{name}: forecast timestamps differ from the test windows")
    if cutoff is not None and not (cutoff == times[cuts - 1][None]).all():
        raise AssertionError(f"{name}: cutoffs differ from the last input rows of the test windows")
    if not np.allclose(y, truth[:, rows]):
        raise AssertionError(f"{name}: the library's y differs from the scaled data")
    if not np.isfinite(pred).all():
        raise AssertionError(f"{name}: non-finite forecasts")
    err = pred - truth[:, rows]
    print(
        f"# {name}: {pred.shape[1]} windows x {pred.shape[0]} series x {HORIZON} steps aligned; forecasts "
        f"start {scaled.index[cuts[0]]} (row {cuts[0]}) ... {scaled.index[cuts[-1]]} (row {cuts[-1]})",
        file=sys.stderr,
        flush=True,
    )
    return {"mse": float((err**2).mean()), "mae": float(np.abs(err).mean()), "windows": int(pred.shape[1])}


# ---------------------------------------------------------------------------------------------- models
@contextlib.contextmanager
def quiet():
    """Silence the libraries' informational logging and warnings during fit and predict."""
    names = ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning", "neuralforecast")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class Clock:
    """Wall and process CPU seconds of named phases."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, phase: str):
        w, c = time.perf_counter(), time.process_time()
        yield
        self.wall[phase], self.cpu[phase] = time.perf_counter() - w, time.process_time() - c


def run_ours(scaled, borders, cuts, steps: int, seed: int, batch_size: int, extra: dict) -> dict:
    from xlstm_ts import xLSTMForecaster

    ids = list(scaled.columns)
    train = to_long(scaled.iloc[slice(*borders["train"])])
    test = to_long(scaled.iloc[cuts[0] - LOOKBACK : cuts[-1] + HORIZON])
    kwargs = dict(
        horizon=HORIZON, lookback=LOOKBACK, scaler="none", validation_size=0.0, batch_size=batch_size
    )
    kwargs.update(random_state=seed, device="cpu", verbose=False)
    kwargs.update(extra)
    # (no callbacks here: trainer_kwargs' callbacks would replace the forecaster's own ones)
    kwargs["trainer_kwargs"] = {"max_steps": steps, "max_epochs": -1, **kwargs.get("trainer_kwargs", {})}
    model = xLSTMForecaster(**kwargs)
    clock = Clock()
    with quiet():
        with clock("fit"):
            model.fit(train)
        with clock("predict"):
            result = model.backtest(test, n_windows=len(cuts), step=1)
    fc = result.forecasts.assign(unique_id=lambda d: pd.Categorical(d["unique_id"], categories=ids))
    fc = fc.sort_values(["unique_id", "window", "ds"], kind="stable")
    cube = {c: as_cube(fc, ids, c, len(cuts)) for c in ("y_pred", "ds", "y_true")}
    scores = check_and_score("ours", scaled, cuts, cube["y_pred"], cube["ds"], cube["y_true"])
    if not np.isclose(result.overall["mse"], scores["mse"], rtol=1e-9, atol=0):
        raise AssertionError(f"ours: backtest's overall MSE {result.overall['mse']} != {scores['mse']}")
    params = sum(p.numel() for p in model.network_.parameters())
    return {**scores, "params": params, "steps_done": None, "wall": clock.wall, "cpu": clock.cpu}


def run_nf(scaled, borders, cuts, steps: int, seed: int, batch_size: int, extra: dict) -> dict:
    from neuralforecast import NeuralForecast
    from neuralforecast.models import xLSTM

    ids = list(scaled.columns)
    train = to_long(scaled.iloc[slice(*borders["train"])])
    test = to_long(scaled.iloc[cuts[0] - LOOKBACK : cuts[-1] + HORIZON])
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="nf_bench_") as workdir:
        kwargs = dict(
            h=HORIZON, input_size=LOOKBACK, max_steps=steps, batch_size=32, windows_batch_size=batch_size
        )
        kwargs.update(inference_windows_batch_size=256, random_seed=seed)
        kwargs.update(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False)
        kwargs.update(enable_model_summary=False, enable_checkpointing=False, default_root_dir=workdir)
        kwargs.update(extra)
        nf = NeuralForecast(models=[xLSTM(**kwargs)], freq="h", local_scaler_type=None)
        with quiet():
            with clock("fit"):
                nf.fit(train, val_size=0)
            with clock("predict"):
                cv = nf.cross_validation(test, n_windows=len(cuts), step_size=1, refit=False, use_fitted=True)
    fitted = nf.models[0]
    cv = cv.assign(unique_id=lambda d: pd.Categorical(d["unique_id"], categories=ids))
    cv = cv.sort_values(["unique_id", "cutoff", "ds"], kind="stable")
    per_series = cv.groupby("unique_id", observed=True)["cutoff"].nunique()
    print(
        f"# nf: cross_validation returned {len(cv)} rows, {per_series.min()}..{per_series.max()} cutoffs per series",
        file=sys.stderr,
    )
    cube = {c: as_cube(cv, ids, c, len(cuts)) for c in ("xLSTM", "ds", "y", "cutoff")}
    scores = check_and_score(
        "nf", scaled, cuts, cube["xLSTM"], cube["ds"], cube["y"], cube["cutoff"][:, :, 0]
    )
    params = sum(p.numel() for p in fitted.parameters())
    steps_done = len(fitted.train_trajectories)  # one (global_step, loss) entry per training step
    return {**scores, "params": params, "steps_done": steps_done, "wall": clock.wall, "cpu": clock.cpu}


RUNNERS = {"ours": run_ours, "nf": run_nf}


# ---------------------------------------------------------------------------------------------- harness
def vm_hwm_mb() -> float:
    """Peak resident memory of this process image (``VmHWM``; not inherited across fork/exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_one(job: dict) -> dict:
    """Train and evaluate one model with one seed in this process."""
    if job["model"] == "nf":
        import neuralforecast  # noqa: F401  (before the base measurement: it imports ray)
    import xlstm_ts  # noqa: F401

    scaled, borders = load_scaled(job["data_home"])
    cuts = test_cuts(borders, job["windows"])
    base, load0 = vm_hwm_mb(), os.getloadavg()[0]
    runner = RUNNERS[job["model"]]
    out = runner(scaled, borders, cuts, job["steps"], job["seed"], job["batch_size"], job["kwargs"])
    if out["steps_done"] not in (None, job["steps"]):
        warnings.warn(f"{job['model']}: {out['steps_done']} steps instead of {job['steps']}", stacklevel=1)
    return {**out, "base_mb": base, "peak_mb": vm_hwm_mb(), "load": (load0, os.getloadavg()[0])}


def run_child(job: dict) -> dict:
    """:func:`run_one` in a fresh interpreter (for its own VmHWM)."""
    cmd = [sys.executable, __file__, "--child", json.dumps(job)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{job['model']} (seed {job['seed']}) failed with exit status {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def versions() -> str:
    from importlib import metadata

    import torch

    out = [f"python {platform.python_version()}", f"torch {torch.__version__}"]
    for dist in ("lightning", "xlstm-ts", "neuralforecast", "xlstm"):
        try:
            out.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            out.append(f"{dist} (not installed)")
    return ", ".join(out)


def git_revision() -> str:
    """Commit of the checkout this xlstm_ts is imported from, with ``+dirty`` for local changes."""
    import xlstm_ts

    root = Path(xlstm_ts.__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--", "xlstm_ts", "kernels"],
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    return (rev.stdout.strip() or "unknown") + ("+dirty" if dirty.stdout.strip() else "")


def cpu_name() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def table_row(label: str, steps: int, rec: dict, memory: bool) -> str:
    mem = f"{rec['peak_mb']:.0f} MB (base {rec['base_mb']:.0f})" if memory else "-"
    return (
        f"| {label} | {rec['params']:,} | {steps} | {rec['wall']['fit']:.1f} | {rec['wall']['predict']:.1f} | "
        f"{mem} | {rec['mse']:.4f} | {rec['mae']:.4f} |"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, help=f"optimisation steps, both models (default {DEFAULT_STEPS})")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds: 0, 1, ... (default 1)")
    p.add_argument("--batch-size", type=int, default=32, help="training windows per step, both models")
    p.add_argument("--windows", type=int, help="score only the last N test windows (default all 2785)")
    p.add_argument("--only", choices=sorted(RUNNERS))
    p.add_argument("--memory", action="store_true", help="each run in a fresh subprocess; report its VmHWM")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps, last {QUICK_WINDOWS} windows")
    p.add_argument("--ours-kwargs", type=json.loads, default={}, help="JSON: more xLSTMForecaster arguments")
    p.add_argument(
        "--nf-kwargs", type=json.loads, default={}, help="JSON: more neuralforecast xLSTM arguments"
    )
    p.add_argument("--data-home", default=str(DEFAULT_DATA_HOME), help="folder with ETT-small/ETTh1.csv")
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        print(json.dumps(run_one(json.loads(a.child))), flush=True)
        return

    steps = a.steps or (QUICK_STEPS if a.quick else DEFAULT_STEPS)
    scaled, borders = load_scaled(a.data_home)
    n_test = n_test_windows(borders)
    windows = min(a.windows or (QUICK_WINDOWS if a.quick else n_test), n_test)
    models = [a.only] if a.only else list(RUNNERS)
    if "nf" in models:
        try:
            import neuralforecast  # noqa: F401
        except ImportError:
            sys.exit("neuralforecast is not importable: use the venv's python (see --help) or --only ours")

    import torch

    print(
        f"# {time.strftime('%Y-%m-%d')} | {cpu_name()} | threads={torch.get_num_threads()} | {versions()} (git {git_revision()})"
    )
    print(
        f"# {DATASET} L={LOOKBACK} H={HORIZON}: train rows [0, {borders['train'][1]}), {windows} of {n_test} test "
        f"windows x {scaled.shape[1]} series; {steps} steps of {a.batch_size} windows; seeds 0..{a.seeds - 1}"
    )
    print(f"# ours kwargs {json.dumps(a.ours_kwargs)}; nf kwargs {json.dumps(a.nf_kwargs)}")
    print("\n| model | params | steps | fit s | predict s | peak RSS | test MSE | test MAE |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    notes = []
    for name in models:
        records = []
        for seed in range(a.seeds):
            job = dict(model=name, seed=seed, steps=steps, windows=windows, batch_size=a.batch_size)
            job.update(kwargs=a.ours_kwargs if name == "ours" else a.nf_kwargs, data_home=a.data_home)
            rec = run_child(job) if a.memory else run_one(job)
            records.append(rec)
            print(table_row(f"{LABELS[name]} (seed {seed})", steps, rec, a.memory), flush=True)
            notes.append(
                f"# {name} seed {seed}: {rec['steps_done'] or f'{steps} (Lightning max_steps)'} steps; CPU s fit {rec['cpu']['fit']:.0f}, predict "
                f"{rec['cpu']['predict']:.0f}; 1-min load average {rec['load'][0]:.1f} -> {rec['load'][1]:.1f}"
            )
        if len(records) > 1:
            mse, mae = [r["mse"] for r in records], [r["mae"] for r in records]
            fit, pred = (statistics.mean(r["wall"][k] for r in records) for k in ("fit", "predict"))
            print(
                f"| {LABELS[name]} (mean ± sd of {len(records)}) | | {steps} | {fit:.1f} | {pred:.1f} | | "
                f"{statistics.mean(mse):.4f} ± {statistics.stdev(mse):.4f} | "
                f"{statistics.mean(mae):.4f} ± {statistics.stdev(mae):.4f} |",
                flush=True,
            )
    print("\n".join(["", *notes]))

    print("\n# published ETTh1 H=96 numbers for context (each at its own lookback and training budget)")
    print("| model | MSE | MAE |\n|---|---|---|")
    for label, mse, mae in PUBLISHED:
        print(f"| {label} | {mse} | {mae} |")


if __name__ == "__main__":
    main()
