"""The ``xlstm-ts`` command.

``xlstm-ts forecast`` with no arguments trains on the bundled airline series on the CPU, prints a
rolling backtest against a seasonal-naive baseline and the forecast, and writes a plot.  With
``--csv FILE --time-col ds --target y [--id-col unique_id]`` it does the same on your file.

Conventions:

* Results (the backtest table, the forecast, the paths of the files written) go to stdout; notes and
  progress go to stderr, and ``--quiet`` drops them.  Progress is the estimator's (``verbose=True``): one
  line per training, rewritten in place on a terminal and a plain summary line elsewhere.
* A problem with the data or the options is reported as one line ``error: ...`` on stderr, with the
  option that fixes it, and the exit status is 2.  A run stopped by SIGTERM exits with 143 (128 + 15),
  one stopped by Ctrl-C with 130.
* An integer time column (e.g. years) is kept as integer steps; anything else must parse as dates.
* Only the standard library is imported at start-up: pandas, torch and Lightning load when a forecast
  runs, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from ._csv import check_outputs, load_data, pick_series
from ._messages import EXIT_ERROR, EXIT_SIGINT, EXIT_SIGTERM, OPTION_OF, CLIError, Stopped, cli_message

__all__ = [
    "EXIT_ERROR",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "OPTION_OF",
    "CLIError",
    "build_parser",
    "cli_message",
    "main",
]


# ------------------------------------------------------------------------------------------------ output
class _Output:
    """Results on stdout; notes on stderr unless quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def result(self, text: str = "") -> None:
        print(text, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ run
def forecast_command(args, out: _Output) -> int:
    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.data.validation import ColumnSpec, parse_panel
    from xlstm_ts.forecasting.backtest import season_for

    data, label, added = load_data(args)
    check_outputs(args)
    if args.id_col is not None:
        columns = ColumnSpec(id_col=args.id_col, time_col=args.time_col, target_col=args.target)
    else:
        columns = ColumnSpec()
    panel = parse_panel(data, columns=columns, freq=args.freq, fill_method=args.fill_method)
    ids = list(panel.ids)
    plotted = None if args.no_plot else pick_series(args, ids)
    shortest = min(panel.lengths())
    if shortest <= args.windows * args.horizon:
        raise CLIError(
            f"the shortest series has {shortest} steps: --windows {args.windows} of --horizon {args.horizon} "
            f"steps need more than {args.windows * args.horizon} (and a training history before them); use "
            "fewer --windows or a shorter --horizon"
        )
    season = args.season or season_for(panel.freq)
    lengths = sorted({min(panel.lengths()), max(panel.lengths())})
    grid = f"frequency {panel.freq}" if panel.freq else "integer time steps"
    out.note(f"data: {label}: {len(ids)} series of {'..'.join(map(str, lengths))} steps ({grid})")
    if added:
        out.note(
            f"data: {added} missing time step(s) added as rows and filled (--fill-method {args.fill_method})"
        )

    # verbose: one progress line per training, rewritten in place on a terminal, a summary line elsewhere
    kwargs = {"horizon": args.horizon, "random_state": args.seed, "verbose": not args.quiet}
    optional = {
        "lookback": args.lookback,
        "max_epochs": args.max_epochs,
        "fill_method": args.fill_method,
        "freq": args.freq,
        "num_threads": args.threads,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    if args.quantiles is not None:
        kwargs.update(loss="quantile", quantiles=args.quantiles)
    if args.id_col is not None:
        kwargs.update(id_col=args.id_col, time_col=args.time_col, target_col=args.target)
    _train_and_report(xLSTMForecaster(**kwargs), data, panel, season, plotted, args, out)
    return 0


def _train_and_report(model, data, panel, season: int, plotted, args, out: _Output) -> None:
    from xlstm_ts.data.errors import SeriesTooShortError

    out.note(f"backtest: training {args.windows} model(s), one per window ...")
    start = time.perf_counter()
    try:
        result = model.backtest(data, n_windows=args.windows, refit=True, season_length=season)
    except SeriesTooShortError as err:
        raise CLIError(
            f"{cli_message(err)} The first backtest window trains on all but the last "
            f"{args.windows * args.horizon} steps: use fewer --windows, or a shorter --horizon or --lookback."
        ) from None
    seconds = time.perf_counter() - start
    naive = _naive_backtest(result, panel, season)
    out.result(
        f"backtest: {args.windows} rolling windows of {args.horizon} steps, refit each time ({seconds:.1f} s)"
    )
    out.result(f"{'model':<22}{'MAE':>10}{'MSE':>14}{'MASE':>8}")
    out.result(
        f"{'xLSTMForecaster':<22}{result.overall['mae']:>10.3f}{result.overall['mse']:>14.3f}"
        f"{result.overall['mase']:>8.3f}"
    )
    out.result(
        f"{f'seasonal naive (m={season})':<22}{naive['mae']:>10.3f}{naive['mse']:>14.3f}{naive['mase']:>8.3f}"
    )

    out.note("training on all the data ...")
    start = time.perf_counter()
    model.fit(data)
    forecast = model.predict()
    out.result(
        f"\nforecast of the next {args.horizon} steps (fitted on all data in {time.perf_counter() - start:.1f} s):"
    )
    long = getattr(forecast, "columns", None) is not None and args.id_col in forecast.columns
    out.result(forecast.to_string(index=not long))
    if args.save is not None:
        model.save(args.save)
        out.result(f"\nmodel saved to {Path(args.save).expanduser().resolve()}")
    if plotted is not None:
        _plot(model, data, forecast, plotted, list(panel.ids), args, out)


def _plot(model, data, forecast, sid, ids: list, args, out: _Output) -> None:
    try:
        import matplotlib
    except ImportError:
        out.result("\n(matplotlib is not installed: no plot; pip install 'xlstm-ts[plot]')")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = model.plot(data, forecast, series=sid)
    path = Path(args.plot).expanduser().resolve()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    which = f" (series {str(sid)!r} of {len(ids)}; --series ID plots another)" if len(ids) > 1 else ""
    out.result(f"\nplot written to {path}{which}")


def _naive_backtest(result, panel, season: int) -> dict:
    """Seasonal-naive forecasts on exactly the backtest's windows, scored the same way."""
    import numpy as np

    from xlstm_ts.forecasting.backtest import mase_denominator

    position = {sid: i for i, sid in enumerate(panel.ids)}
    errs, mases = [], []
    for (_, sid), group in result.forecasts.groupby(["window", "unique_id"], sort=False):
        i = position[sid]
        cut = panel.index[i].get_loc(group["ds"].iloc[0])
        history = panel.target[i][:cut]
        m = season if len(history) >= season else 1
        pred = np.tile(history[-m:], int(np.ceil(len(group) / m)))[: len(group)]
        err = pred - group["y_true"].to_numpy()
        errs.append(err)
        mases.append(np.abs(err).mean() / mase_denominator(history, season))
    err = np.concatenate(errs)
    return {"mae": float(np.abs(err).mean()), "mse": float((err**2).mean()), "mase": float(np.mean(mases))}


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors about the user's data or options: printed as one line (imported once a forecast runs)."""
    from sklearn.utils._param_validation import InvalidParameterError

    from xlstm_ts.data.errors import InputDataError

    return (InputDataError, InvalidParameterError)


# ------------------------------------------------------------------------------------------------ options
class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2 (argparse prints the usage too)
        _error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_ERROR)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _quantiles(text: str) -> tuple[float, ...]:
    try:
        levels = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 0.1,0.5,0.9, got {text!r}"
        ) from None
    if not all(0 < q < 1 for q in levels):
        raise argparse.ArgumentTypeError(f"quantile levels lie strictly between 0 and 1, got {text!r}")
    return levels


def _freq(text: str) -> str:
    import pandas as pd

    try:
        pd.tseries.frequencies.to_offset(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a pandas frequency (e.g. h, D, 7D, W, MS)"
        ) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="xlstm-ts", description="xLSTM time-series forecasting.")
    sub = parser.add_subparsers(dest="command", required=True)
    fc = sub.add_parser(
        "forecast",
        help="backtest, forecast and plot (bundled airline data by default)",
        description="Rolling backtest against a seasonal-naive baseline, forecast and plot. Results go to "
        "stdout, notes and progress to stderr; a bad input is one 'error:' line and exit status 2.",
    )
    data = fc.add_argument_group("data")
    data.add_argument("--csv", help="CSV file to forecast (default: the bundled airline series)")
    data.add_argument(
        "--time-col", default="ds", help="time column: dates, or integer steps such as years (default: ds)"
    )
    data.add_argument("--target", default="y", help="column of values to forecast (default: y)")
    data.add_argument("--id-col", default=None, help="series id column, for a CSV with several series")
    data.add_argument(
        "--freq",
        type=_freq,
        default=None,
        help="pandas frequency of the time column, e.g. h, D, 7D, MS (default: inferred)",
    )
    data.add_argument(
        "--fill-method",
        choices=("ffill", "interpolate", "zero"),
        default=None,
        help="fill missing values (default: a missing value is an error)",
    )
    model = fc.add_argument_group("model")
    model.add_argument("--horizon", type=_positive_int, default=12, help="steps to forecast (default: 12)")
    model.add_argument(
        "--lookback",
        type=_positive_int,
        default=None,
        help="history steps the network reads (default: the model's, 3 x horizon)",
    )
    model.add_argument(
        "--quantiles",
        type=_quantiles,
        default=None,
        metavar="Q1,Q2,...",
        help="train for these quantile levels, e.g. 0.1,0.5,0.9 (must include 0.5)",
    )
    model.add_argument(
        "--max-epochs", type=_positive_int, default=None, help="training epochs (default: the model's)"
    )
    model.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    model.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads for training (default: the library's automatic choice)",
    )
    run = fc.add_argument_group("backtest and output")
    run.add_argument("--windows", type=_positive_int, default=3, help="backtest windows (default: 3)")
    run.add_argument(
        "--season",
        type=_positive_int,
        default=None,
        help="season length of the naive baseline and MASE (default: from the frequency)",
    )
    run.add_argument(
        "--plot",
        default="forecast.png",
        help="where to write the plot (default: forecast.png in the current folder)",
    )
    run.add_argument(
        "--series", default=None, metavar="ID", help="series to plot, with --id-col (default: the first)"
    )
    run.add_argument("--no-plot", action="store_true", help="write no plot")
    run.add_argument("--save", default=None, metavar="DIR", help="save the model fitted on all data to DIR")
    run.add_argument("--quiet", action="store_true", help="print nothing but results (no notes, no progress)")
    return parser


def _on_signal(signum, frame) -> None:
    raise Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous = {}
    try:
        for signum in (signal.SIGTERM, signal.SIGINT):
            if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored (nohup, background job): keep it so
                previous[signum] = signal.signal(signum, _on_signal)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        if args.command == "forecast":
            return forecast_command(args, _Output(args.quiet))
        return EXIT_ERROR  # pragma: no cover - argparse enforces the choices
    except CLIError as err:
        _error(str(err))
        return EXIT_ERROR
    except (Stopped, KeyboardInterrupt) as err:
        signum = getattr(err, "signum", signal.SIGINT)
        _error("terminated by SIGTERM" if signum == signal.SIGTERM else "interrupted")
        return 128 + signum
    except Exception as err:
        if "xlstm_ts.data.errors" in sys.modules and isinstance(err, _user_errors()):
            _error(cli_message(err))
            return EXIT_ERROR
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
