"""ETTh1 under the standard long-horizon protocol: test MSE/MAE of ``xLSTMForecaster``.

Protocol (the Time-Series-Library data loaders used by the LTSF papers): the 7 columns are 7 series of one global model
(channel-independent); a StandardScaler fitted on the train rows [0, 8640) is applied to all rows
and metrics are computed on the scaled values; train windows end inside [0, 8640), validation
windows (early stopping, best epoch) inside [8640, 11520), and the test set is every window whose
forecast starts in [11520, 14400 - horizon] -- 2785 windows x 7 series for horizon 96 (no
``drop_last``).

Usage::

    python benchmarks/ltsf_etth1.py --data-home ../shared/data            # defaults below
    python benchmarks/ltsf_etth1.py --ours '{"patch_size": 8}' --seeds 0 1 2 --out result.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import pandas as pd
import torch

import xlstm_ts
from xlstm_ts import xLSTMForecaster
from xlstm_ts.datasets import load_dataset, split_borders

DEFAULTS = dict(
    lookback=336,
    scaler="none",
    validation_size=0.25,
    patch_size=16,
    embedding_dim=64,
    batch_size=128,
    max_epochs=10,
    early_stopping_patience=3,
    learning_rate=1e-3,
    loss="mse",
)


def protocol_frames(data_home: str | None, lookback: int, horizon: int):
    df = load_dataset("ETTh1", data_home=data_home)
    borders = split_borders("ETTh1", len(df), lookback)
    train_end, test_end = borders["train"][1], borders["test"][1]
    train = df.iloc[:train_end]
    scaled = (df - train.mean()) / train.std(ddof=0)
    long = (
        scaled.iloc[:test_end]
        .reset_index()
        .melt(id_vars=df.index.name or "date", var_name="unique_id", value_name="y")
        .rename(columns={df.index.name or "date": "ds"})[["unique_id", "ds", "y"]]
    )
    position = long.groupby("unique_id").cumcount()
    fit_part = long[position < borders["val"][1]]
    n_test = test_end - borders["test"][0] - lookback - horizon + 1
    return fit_part, long, n_test


def run(args, seed: int) -> dict:
    params = {
        **DEFAULTS,
        **json.loads(args.ours),
        "horizon": args.horizon,
        "random_state": seed,
        "verbose": False,
    }
    fit_part, everything, n_test = protocol_frames(args.data_home, params["lookback"], args.horizon)
    start = time.perf_counter()
    model = xLSTMForecaster(**params).fit(fit_part)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    result = model.backtest(everything, n_windows=n_test, step=1)
    eval_s = time.perf_counter() - start
    return {
        "seed": seed,
        "mse": result.overall["mse"],
        "mae": result.overall["mae"],
        "fit_s": fit_s,
        "eval_s": eval_s,
        "epochs": model.n_epochs_,
        "best_epoch": model.best_epoch_,
        "test_windows": int(result.windows.shape[0]),
        "params": {k: v for k, v in params.items() if k != "verbose"},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", default=None, help="folder holding ETTh1.csv (or ETT-small/ETTh1.csv)")
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument(
        "--ours", default="{}", help="JSON of xLSTMForecaster arguments overriding the defaults"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"
    print(
        f"# {time.strftime('%Y-%m-%d')} | {device} | torch {torch.__version__} | xlstm_ts {xlstm_ts.__version__}"
    )
    results = []
    for seed in args.seeds:
        res = run(args, seed)
        results.append(res)
        print(
            f"seed {seed}: test MSE {res['mse']:.4f} MAE {res['mae']:.4f} | fit {res['fit_s']:.0f} s "
            f"({res['epochs']} epochs, best {res['best_epoch']}) | eval {res['eval_s']:.0f} s, "
            f"{res['test_windows']} window-series",
            flush=True,
        )
    if len(results) > 1:
        mse = pd.Series([r["mse"] for r in results])
        print(f"mean test MSE over {len(results)} seeds: {mse.mean():.4f} (std {mse.std():.4f})")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"device": device, "torch": torch.__version__, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
