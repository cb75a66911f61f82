"""The standard long-horizon (LTSF) protocol for ``xLSTMForecaster``: selection on validation, then test.

For each dataset and horizon:

1. **Selection** (validation only).  Every candidate configuration is fitted with the first seed on the
   rows before the test border (train rows for the windows, the protocol's validation rows for early
   stopping) and scored by its MSE over all validation windows.  The selection function receives a frame
   that *ends at the validation border*: it cannot see a single test row.
2. **Test.**  The candidate with the lowest validation MSE is fitted with every seed (the selection fit is
   reused for the first seed) and scored once over all test windows (no ``drop_last``).

A candidate may set ``lookback`` too (e.g. ``{"lookback": 512}``): the test windows do not depend on it,
so choosing the lookback on validation is choosing any other setting.  Two tables come out of one run:
``L=336`` selects only among the candidates whose lookback is ``--fixed-lookback`` (the published
PatchTST/42 and NLinear numbers use 336), ``tuned L`` among all of them.  When both pick the same
candidate its test fits serve both.

Every test score is also reported on the window set of PatchTST's evaluation script (``drop_last=True``
at batch 128: the chronologically last ``N mod 128`` test windows left out; docs/ltsf_protocol.md section
5a), for the floor too, so that a comparison with the PatchTST/42 column can be made like for like.  The
main columns always use every window.

Beside it, in the same run, the closed-form NLinear-OLS floor (ridge from the last-value-normalised
lookback to the horizon, one matrix for all channels, lambda = 1e-3 N, fitted on the train rows; see
docs/ltsf_protocol.md section 3) is computed on the same data.  Every fit and every score is one JSON line in
``--out``; ``--summary FILE`` prints the table of a finished run with the published anchors.

The protocol (docs/ltsf_protocol.md): the columns are series of one global model (channel-independent); a
StandardScaler fitted on the train rows scales every row and metrics are on the scaled values.

Usage::

    python benchmarks/ltsf.py --datasets ETTh1 --horizons 96 --seeds 0 1 2 --data-home ../shared/data \\
        --candidates '[{"embedding_dim": 64}, {"embedding_dim": 128}]' --out ltsf.jsonl
    python benchmarks/ltsf.py --summary ltsf.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

#: Published test MSE (docs/ltsf_protocol.md section 2; all test windows for NLinear-OLS, PatchTST's own
#: evaluation for PatchTST/42): (NLinear-OLS, PatchTST/42 at L=336, best published xLSTM model).
ANCHORS: dict[tuple[str, int], tuple[float, float, float]] = {
    ("ETTh1", 96): (0.370, 0.375, 0.359),
    ("ETTh1", 192): (0.403, 0.414, 0.401),
    ("ETTh1", 336): (0.426, 0.431, 0.408),
    ("ETTh1", 720): (0.422, 0.449, 0.419),
    ("ETTh2", 96): (0.273, 0.274, 0.267),
    ("ETTh2", 192): (0.334, 0.339, 0.338),
    ("ETTh2", 336): (0.358, 0.331, 0.367),
    ("ETTh2", 720): (0.385, 0.379, 0.388),
    ("ETTm1", 96): (0.300, 0.290, 0.275),
    ("ETTm1", 192): (0.336, 0.332, 0.319),
    ("ETTm1", 336): (0.370, 0.366, 0.353),
    ("ETTm1", 720): (0.426, 0.420, 0.409),
}

#: The test batch of PatchTST's published scripts for ETT (its loader drops the last partial batch).
PATCHTST_BATCH = 128

#: What every candidate starts from (a candidate overrides any of it).
BASE = dict(lookback=336, scaler="none", validation_size=0.25, verbose=False)


# ------------------------------------------------------------------------------------------------ data
def protocol_frame(dataset: str, data_home: str | None) -> tuple[pd.DataFrame, dict[str, int]]:
    """The scaled long frame of ``dataset`` up to its test border and the border rows
    (``train``, ``val``, ``test``: the exclusive ends of the train, validation and test targets)."""
    from xlstm_ts.datasets import load_dataset, split_borders

    df = load_dataset(dataset, data_home=data_home)
    borders = split_borders(dataset, len(df), 1)
    ends = {k: borders[k][1] for k in ("train", "val", "test")}
    train = df.iloc[: ends["train"]]
    scaled = (df - train.mean()) / train.std(ddof=0)
    name = df.index.name or "date"
    long = (
        scaled.iloc[: ends["test"]]
        .reset_index()
        .melt(id_vars=name, var_name="unique_id", value_name="y")
        .rename(columns={name: "ds"})[["unique_id", "ds", "y"]]
    )
    return long, ends


def rows_before(long: pd.DataFrame, end: int) -> pd.DataFrame:
    """Every series' rows before row ``end`` (the frame a stage may see)."""
    return long[long.groupby("unique_id").cumcount() < end].reset_index(drop=True)


def nlinear_ols(
    long: pd.DataFrame, ends: dict[str, int], lookback: int, horizon: int
) -> tuple[float, float, float]:
    """Test MSE, MAE and MSE on PatchTST's window set of the closed-form NLinear-OLS floor
    (docs/ltsf_protocol.md section 3)."""
    wide = long.pivot(index="ds", columns="unique_id", values="y").to_numpy()  # [T, C]

    def windows(lo: int, hi: int):  # windows whose targets lie in [lo, hi)
        starts = np.arange(lo - lookback, hi - lookback - horizon + 1)
        idx = starts[:, None] + np.arange(lookback + horizon)
        w = wide[idx]  # [N, L + H, C]
        w = np.moveaxis(w, 2, 1).reshape(-1, lookback + horizon)  # every channel is a window
        last = w[:, lookback - 1 : lookback]
        return w[:, :lookback] - last, w[:, lookback:] - last, last

    x, y, _ = windows(lookback, ends["train"])
    gram = x.T @ x + 1e-3 * len(x) * np.eye(lookback)
    weights = np.linalg.solve(gram, x.T @ y)
    xt, yt, _ = windows(ends["val"], ends["test"])
    err = xt @ weights - yt
    n = ends["test"] - ends["val"] - horizon + 1  # test windows; every one holds all channels
    kept = err.reshape(n, -1, horizon)[: n - n % PATCHTST_BATCH]
    return float(np.mean(err**2)), float(np.mean(np.abs(err))), float(np.mean(kept**2))


# ----------------------------------------------------------------------------------------------- stages
def lookback_of(config: dict) -> int:
    return int({**BASE, **config}["lookback"])


def _fit(frame: pd.DataFrame, config: dict, horizon: int, seed: int):
    from xlstm_ts import xLSTMForecaster

    params = {**BASE, **config, "horizon": horizon, "random_state": seed}
    start = time.perf_counter()
    model = xLSTMForecaster(**params).fit(frame)
    return model, time.perf_counter() - start


def _score(model, frame: pd.DataFrame, n_windows: int) -> dict:
    start = time.perf_counter()
    result = model.backtest(frame, n_windows=n_windows, step=1)
    per = result.windows  # one row per (window, series), every row the mean over the same horizon
    cutoffs = np.sort(per["cutoff"].unique())
    kept = cutoffs[: len(cutoffs) - len(cutoffs) % PATCHTST_BATCH]
    return {
        "mse": float(result.overall["mse"]),
        "mse_dl128": float(per.loc[per["cutoff"].isin(kept), "mse"].mean()),
        "mae": float(result.overall["mae"]),
        "eval_s": time.perf_counter() - start,
        "windows": int(result.windows.shape[0]),
    }


def select_one(job: dict) -> dict:
    """Fit one candidate on the rows before the validation border ... and score it on the validation
    windows.  ``job["frame"]`` ends at the validation border: no test row is reachable from here."""
    frame, ends, horizon = job["frame"], job["ends"], job["horizon"]
    model, fit_s = _fit(frame, job["config"], horizon, job["seed"])
    val = _score(model, frame, ends["val"] - ends["train"] - horizon + 1)
    return {"model": model, "fit_s": fit_s, "val": val}


def test_one(job: dict) -> dict:
    """Fit (or reuse) one seed of the selected configuration and score it on every test window."""
    model, fit_s = job.get("model"), job.get("fit_s")
    if model is None:
        model, fit_s = _fit(job["fit_frame"], job["config"], job["horizon"], job["seed"])
    test = _score(model, job["frame"], job["ends"]["test"] - job["ends"]["val"] - job["horizon"] + 1)
    return {
        "model": None,
        "fit_s": fit_s,
        "test": test,
        "epochs": model.n_epochs_,
        "best_epoch": model.best_epoch_,
    }


def _run_all(fn, jobs: list[dict], workers: int, done) -> list[dict]:
    """``fn`` over ``jobs`` (in parallel processes when ``workers > 1``); ``done(job, result)`` is called
    as each finishes, so a run cut short keeps what it finished."""
    import multiprocessing as mp
    from concurrent.futures import as_completed

    results: list = [None] * len(jobs)
    if workers <= 1:
        for k, job in enumerate(jobs):
            results[k] = fn(job)
            done(job, results[k])
        return results
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(fn, job): k for k, job in enumerate(jobs)}
        for future in as_completed(futures):
            k = futures[future]
            results[k] = future.result()
            done(jobs[k], results[k])
    return results


def run(args, environment: dict, out) -> None:
    """Selection for every cell, then the test stage for every cell (each stage one pool of fits)."""
    cells = [(d, h) for d in args.datasets for h in args.horizons]
    data = {d: protocol_frame(d, args.data_home) for d in args.datasets}
    candidates = json.loads(args.candidates)
    seed0, more = args.seeds[0], args.seeds[1:]

    def emit(dataset: str, horizon: int, record: dict) -> None:
        out.write(json.dumps({"dataset": dataset, "horizon": horizon, **environment, **record}) + "\n")
        out.flush()

    # 1. selection: validation only -- the frames end at the validation border
    view = {d: rows_before(long, ends["val"]) for d, (long, ends) in data.items()}
    jobs = [{"cell": (d, h), "frame": view[d], "ends": data[d][1], "horizon": h, "config": c, "k": k, "seed": seed0}
            for d, h in cells for k, c in enumerate(candidates)]  # fmt: skip
    # the longest fits (most rows) first, so that parallel workers finish together
    jobs.sort(key=lambda j: -len(j["frame"]) * j["horizon"] ** 0.5)

    def selected(job: dict, res: dict) -> None:
        (d, h), m = job["cell"], res["model"]
        emit(d, h, {"stage": "select", "config": job["config"], "seed": seed0, "val_mse": res["val"]["mse"],
                    "val_mae": res["val"]["mae"], "fit_s": res["fit_s"], "eval_s": res["val"]["eval_s"],
                    "epochs": m.n_epochs_, "best_epoch": m.best_epoch_})  # fmt: skip
        print(f"{d} H={h} select #{job['k']}: val MSE {res['val']['mse']:.4f} (fit {res['fit_s']:.1f} s, "
              f"best epoch {m.best_epoch_})", flush=True)  # fmt: skip

    picked = _run_all(select_one, jobs, args.jobs, selected)
    if args.select_only:  # exploring candidates: no test row is scored
        return
    # 2. test: the selected candidate of each cell, every seed, all test windows
    # per cell: the best candidate at the fixed lookback (table "L=336") and the best of all ("tuned L")
    tests = []
    for d, h in cells:
        mine = [(j, r) for j, r in zip(jobs, picked) if j["cell"] == (d, h)]
        fixed = [jr for jr in mine if lookback_of(jr[0]["config"]) == args.fixed_lookback]
        chosen: dict[int, list[str]] = {}
        for table, pool in ((f"L={args.fixed_lookback}", fixed), ("tuned L", mine)):
            if pool:
                j, _ = min(pool, key=lambda jr: jr[1]["val"]["mse"])
                chosen.setdefault(j["k"], []).append(table)
        long, ends = data[d]
        for k, tables in chosen.items():
            j, r = next(jr for jr in mine if jr[0]["k"] == k)
            common = {"cell": (d, h), "frame": long, "ends": ends, "horizon": h, "config": j["config"],
                      "k": k, "tables": tables}  # fmt: skip
            tests.append({**common, "model": r["model"], "fit_s": r["fit_s"], "seed": seed0})
            tests += [{**common, "fit_frame": view[d], "seed": s} for s in more]

    def tested(job: dict, res: dict) -> None:
        (d, h) = job["cell"]
        emit(d, h, {"stage": "test", "config": job["config"], "k": job["k"], "tables": job["tables"],
                    "seed": job["seed"], "test_mse": res["test"]["mse"], "test_mse_dl128": res["test"]["mse_dl128"],
                    "test_mae": res["test"]["mae"], "fit_s": res["fit_s"], "eval_s": res["test"]["eval_s"],
                    "windows": res["test"]["windows"], "epochs": res["epochs"], "best_epoch": res["best_epoch"]})  # fmt: skip
        print(f"{d} H={h} test #{job['k']} seed {job['seed']}: MSE {res['test']['mse']:.4f}", flush=True)

    _run_all(test_one, tests, args.jobs, tested)
    for d, h in cells:
        long, ends = data[d]
        floor_mse, floor_mae, floor_dl = nlinear_ols(long, ends, 336, h)
        emit(d, h, {"stage": "floor", "model": "NLinear-OLS", "lookback": 336, "test_mse": floor_mse,
                    "test_mae": floor_mae, "test_mse_dl128": floor_dl})  # fmt: skip


# ---------------------------------------------------------------------------------------------- summary
def summary(path: str) -> str:
    """The markdown tables of a finished run: mean +- sd test MSE per cell with the anchors beside it, one
    table per selection pool (records written before pools existed form one table)."""
    with open(path) as fh:
        records = [json.loads(line) for line in fh]
    tests = [r for r in records if r["stage"] == "test"]
    floors = {(r["dataset"], r["horizon"]): r for r in records if r["stage"] == "floor"}
    tables = sorted({t for r in tests for t in r.get("tables", ["all candidates"])})
    mark = lambda ok: "yes" if ok else "**no**"  # noqa: E731
    out = []
    for table in tables:
        out += [f"**{table}**", "",
                "| cell | L | ours: test MSE (mean ± sd, seeds) | NLinear-OLS (same run) | PatchTST/42 | best xLSTM | "
                "≤ floor | ≤ PatchTST/42 | ≤ best xLSTM | ours / floor on PatchTST's windows | best epochs | fit s | eval s |",
                "|" + "---|" * 13]  # fmt: skip
        mine = [r for r in tests if table in r.get("tables", ["all candidates"])]
        for dataset, horizon in sorted({(r["dataset"], r["horizon"]) for r in mine}):
            rs = [r for r in mine if (r["dataset"], r["horizon"]) == (dataset, horizon)]
            mse = np.array([r["test_mse"] for r in rs])
            sd = mse.std(ddof=1) if len(mse) > 1 else 0.0
            ols, patchtst, xlstm = ANCHORS.get((dataset, horizon), (np.nan,) * 3)
            floor = floors.get((dataset, horizon), {})
            own_floor = floor.get("test_mse", ols)
            dl = [r["test_mse_dl128"] for r in rs if "test_mse_dl128" in r]
            like = (f"{np.mean(dl):.4f} / {floor['test_mse_dl128']:.4f}"
                    if dl and "test_mse_dl128" in floor else "n/a")  # fmt: skip
            epochs = ", ".join(str(r.get("best_epoch")) for r in rs)
            rows = (f"| {dataset} H={horizon} | {lookback_of(rs[0]['config'])} | {mse.mean():.4f} ± {sd:.4f} ({len(mse)}) | "
                    f"{own_floor:.4f} | {patchtst:.3f} | {xlstm:.3f} | {mark(mse.mean() <= own_floor)} | "
                    f"{mark(mse.mean() <= patchtst)} | {mark(mse.mean() <= xlstm)} | {like} | {epochs} | "
                    f"{np.mean([r['fit_s'] for r in rs]):.1f} | {np.mean([r['eval_s'] for r in rs]):.2f} |")  # fmt: skip
            out.append(rows)
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["ETTh1"])
    parser.add_argument("--horizons", type=int, nargs="+", default=[96])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--candidates", default="[{}]", help="JSON list of xLSTMForecaster arguments to select from"
    )
    parser.add_argument("--data-home", default=None, help="folder holding the dataset files")
    parser.add_argument(
        "--fixed-lookback", type=int, default=336, help="lookback of the main table's candidates"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="fits run in parallel (their times are then not timings)"
    )
    parser.add_argument("--out", default="ltsf.jsonl", help="JSON lines written here (appended)")
    parser.add_argument(
        "--select-only", action="store_true", help="score the candidates on validation and stop"
    )
    parser.add_argument("--summary", default=None, help="print the table of a finished run and exit")
    args = parser.parse_args()
    if args.summary:
        print(summary(args.summary))
        return
    import torch

    import xlstm_ts

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else (platform.processor() or "cpu")
    environment = {"date": time.strftime("%Y-%m-%d"), "device": device, "torch": torch.__version__,
                   "xlstm_ts": xlstm_ts.__version__, "jobs": args.jobs, "cpus": os.cpu_count(),
                   "command": " ".join(sys.argv)}  # fmt: skip
    print(f"# {environment['date']} | {device} | torch {torch.__version__} | xlstm_ts {xlstm_ts.__version__}")
    with open(args.out, "a") as out:
        run(args, environment, out)
    if not args.select_only:
        print(summary(args.out))


if __name__ == "__main__":
    main()
