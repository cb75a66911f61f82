"""The ``xlstm-ts`` command.

``xlstm-ts forecast`` with no arguments trains on the bundled airline series on the CPU, prints a
rolling backtest against a seasonal-naive baseline and the forecast, and writes a plot.  With
``--csv FILE --time-col ds --target y [--id-col unique_id]`` it does the same on your file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def _load(args) -> tuple[pd.DataFrame | pd.Series, str]:
    if args.csv is None:
        from xlstm_ts.datasets import load_airline

        return load_airline(), "bundled airline passengers (monthly, 1949-1960)"
    path = Path(args.csv)
    if not path.is_file():
        raise SystemExit(f"error: --csv {path} does not exist")
    frame = pd.read_csv(path)
    for col in filter(None, (args.time_col, args.target, args.id_col)):
        if col not in frame.columns:
            raise SystemExit(f"error: column {col!r} not in {path.name}; columns are {list(frame.columns)}")
    frame[args.time_col] = pd.to_datetime(frame[args.time_col])
    if args.id_col is None:
        series = frame.set_index(args.time_col)[args.target].astype(float)
        return series, f"{path.name} (target {args.target!r})"
    return frame[[args.id_col, args.time_col, args.target]], f"{path.name} ({frame[args.id_col].nunique()} series)"


def forecast_command(args) -> int:
    from xlstm_ts import xLSTMForecaster

    data, label = _load(args)
    kwargs = {"horizon": args.horizon, "verbose": not args.quiet, "random_state": args.seed}
    if args.max_epochs is not None:
        kwargs["max_epochs"] = args.max_epochs
    if args.id_col is not None:
        kwargs.update(id_col=args.id_col, time_col=args.time_col, target_col=args.target)
    model = xLSTMForecaster(**kwargs)
    print(f"data: {label}")

    start = time.perf_counter()
    result = model.backtest(data, n_windows=args.windows, refit=True, season_length=args.season)
    seconds = time.perf_counter() - start
    naive, season = _naive_backtest(result, data, model, args.season)
    print(f"\nbacktest: {args.windows} rolling windows of {args.horizon} steps, refit each time ({seconds:.1f} s)")
    print(f"{'model':<22}{'MAE':>10}{'MSE':>14}{'MASE':>8}")
    print(f"{'xLSTMForecaster':<22}{result.overall['mae']:>10.3f}{result.overall['mse']:>14.3f}"
          f"{result.overall['mase']:>8.3f}")
    print(f"{f'seasonal naive (m={season})':<22}{naive['mae']:>10.3f}{naive['mse']:>14.3f}{naive['mase']:>8.3f}")

    start = time.perf_counter()
    model.fit(data)
    forecast = model.predict()
    print(f"\nforecast of the next {args.horizon} steps (fitted on all data in {time.perf_counter() - start:.1f} s):")
    print(forecast.to_string())
    if not args.no_plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            fig = model.plot(data, forecast)
            fig.savefig(args.plot, dpi=120)
            print(f"\nplot written to {args.plot}")
        except ImportError:
            print("\n(matplotlib is not installed: no plot; pip install 'xlstm-ts[plot]')")
    return 0


def _naive_backtest(result, data, model, season: int | None) -> tuple[dict, int]:
    """Seasonal-naive forecasts on exactly the backtest's windows, scored the same way."""
    from xlstm_ts.data.validation import parse_panel
    from xlstm_ts.forecasting.backtest import mase_denominator, season_for

    panel = parse_panel(data, columns=model._columns(), freq=model.freq)
    season = season or season_for(panel.freq)
    position = {sid: i for i, sid in enumerate(panel.ids)}
    errs, mases = [], []
    for (_, sid), group in result.forecasts.groupby(["window", "unique_id"], sort=False):
        i = position[sid]
        index = panel.index[i]
        cut = index.get_loc(group["ds"].iloc[0])
        history = panel.target[i][:cut]
        m = season if len(history) >= season else 1
        reps = int(np.ceil(len(group) / m))
        pred = np.tile(history[-m:], reps)[: len(group)]
        err = pred - group["y_true"].to_numpy()
        errs.append(err)
        mases.append(np.abs(err).mean() / mase_denominator(history, season))
    err = np.concatenate(errs)
    scores = {"mae": float(np.abs(err).mean()), "mse": float((err**2).mean()), "mase": float(np.mean(mases))}
    return scores, season


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlstm-ts", description="xLSTM time-series forecasting.")
    sub = parser.add_subparsers(dest="command", required=True)
    fc = sub.add_parser("forecast", help="backtest, forecast and plot (bundled airline data by default)")
    fc.add_argument("--csv", help="CSV file to forecast (default: the bundled airline series)")
    fc.add_argument("--time-col", default="ds", help="time column of the CSV (default: ds)")
    fc.add_argument("--target", default="y", help="target column of the CSV (default: y)")
    fc.add_argument("--id-col", default=None, help="series id column, for a CSV with several series")
    fc.add_argument("--horizon", type=int, default=12, help="steps to forecast (default: 12)")
    fc.add_argument("--windows", type=int, default=3, help="backtest windows (default: 3)")
    fc.add_argument("--season", type=int, default=None, help="season length of the naive baseline and MASE")
    fc.add_argument("--max-epochs", type=int, default=None, help="training epochs (default: the model's)")
    fc.add_argument("--seed", type=int, default=0)
    fc.add_argument("--plot", default="forecast.png", help="where to write the plot (default: forecast.png)")
    fc.add_argument("--no-plot", action="store_true")
    fc.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "forecast":
        return forecast_command(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
