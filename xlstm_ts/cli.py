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
import re
import signal
import sys
import time
from pathlib import Path

EXIT_ERROR = 2
EXIT_SIGINT = 128 + signal.SIGINT  # 130
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143

#: Estimator parameters named in the library's messages -> the option that sets them here.
OPTION_OF = {
    "fill_method": "--fill-method",
    "freq": "--freq",
    "lookback": "--lookback",
    "horizon": "--horizon",
    "quantiles": "--quantiles",
    "max_epochs": "--max-epochs",
    "random_state": "--seed",
    "num_threads": "--threads",
    "n_windows": "--windows",
    "season_length": "--season",
    "id_col": "--id-col",
    "time_col": "--time-col",
    "target_col": "--target",
}
_NAMES = "|".join(OPTION_OF)


class CLIError(Exception):
    """A problem the user can fix from the command line: printed as ``error: <message>``, exit status 2."""


class _Stopped(BaseException):
    """Raised by the SIGTERM/SIGINT handler; a BaseException, so that no ``except Exception`` swallows it
    (and not a KeyboardInterrupt, which Lightning turns into ``sys.exit(1)``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def cli_message(text: object) -> str:
    """A library message on one line, with its parameter advice written as command-line options.

    Examples
    --------
    >>> cli_message("found NaN.\\nPass fill_method='ffill', or clean the data before calling.")
    'found NaN. Pass --fill-method ffill, or clean the data.'
    >>> cli_message("The 'lookback' parameter of xLSTMForecaster must be an int. Got 0 instead.")
    '--lookback must be an int. Got 0 instead.'
    >>> cli_message("if that is the frequency, pass freq='7D'. With freq= given, the gaps are named.")
    'if that is the frequency, pass --freq 7D. With --freq given, the gaps are named.'
    >>> cli_message("lookback (36) + horizon (12) needs 48 steps")
    '--lookback 36 + --horizon 12 needs 48 steps'
    >>> cli_message("Drop or aggregate the duplicates, e.g. s[~s.index.duplicated()] or s.groupby(level=0).mean().")
    'Drop or aggregate the duplicates.'
    """
    text = " ".join(str(text).split())
    # sklearn's template: "The 'lookback' parameter of xLSTMForecaster must be ..." -> "--lookback must be ..."
    text = re.sub(rf"\b[Tt]he '({_NAMES})' parameter of \w+", lambda m: OPTION_OF[m[1]], text)
    # "fill_method='ffill'" -> "--fill-method ffill"; a bare "freq=" -> "--freq"
    text = re.sub(
        rf"\b({_NAMES})=(?:'([^']*)'|\"([^\"]*)\"|(\w(?:[\w.+-]*\w)?))?",
        lambda m: " ".join(filter(None, (OPTION_OF[m[1]], m[2] or m[3] or m[4]))),
        text,
    )
    # "lookback (36) + horizon (12)" -> "--lookback 36 + --horizon 12"; "a smaller lookback" -> "... --lookback"
    text = re.sub(r"\b(lookback|horizon) \((\d+)\)", lambda m: f"{OPTION_OF[m[1]]} {m[2]}", text)
    text = re.sub(r"(?<!-)\blookback\b(?! \()", "--lookback", text)
    # Gaps: here --fill-method adds the missing rows itself (see _add_missing_steps).
    text = re.sub(
        r"Add the missing timestamps as rows(?:, e\.g\. [^,]*)?, then fill the new NaN values with",
        "Pass --fill-method to add the missing timestamps and fill them:",
        text,
    )
    text = re.sub(
        r"Add the missing steps as rows \(NaN values can then be filled with --fill-method\)",
        "Pass --fill-method to add the missing steps and fill them",
        text,
    )
    text = text.replace("a DatetimeIndex / datetime time column", "a date column")
    # Python snippets that a command-line user cannot run: ", e.g. s[~s.index.duplicated()] or ..."
    text = re.sub(r",? e\.g\. [^,;]*?[\[(][^,;]*?(?=[.,](?: |$)|$)", "", text)
    return text.replace(" before calling", "")


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


# ------------------------------------------------------------------------------------------------ data
def _line(position: int) -> int:
    """CSV line number of a row position (line 1 is the header)."""
    return position + 2


def _parse_time(frame, col: str, name: str):
    """The time column as integer steps (integer values) or datetimes; never integers read as epoch ns."""
    import warnings

    import numpy as np
    import pandas as pd
    from pandas.api import types

    values = frame[col]
    where = f"column {col!r} of {name} (--time-col)"
    empty = np.flatnonzero(values.isna().to_numpy())
    if empty.size:
        raise CLIError(f"{where} is empty in line {_line(int(empty[0]))} ({empty.size} empty cell(s))")
    if types.is_bool_dtype(values):
        raise CLIError(f"{where} holds True/False; it must hold dates or integer steps (e.g. years)")
    if types.is_integer_dtype(values):
        return values.astype("int64")
    if types.is_float_dtype(values):
        fractional = np.flatnonzero((values != values.round()).to_numpy())
        if fractional.size:
            pos = int(fractional[0])
            raise CLIError(
                f"{where} holds {values.iloc[pos]!r} in line {_line(pos)}; it must hold dates or "
                "integer steps (e.g. years)"
            )
        return values.astype("int64")
    if types.is_datetime64_any_dtype(values):
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Could not infer format ...": the unparsed rows are reported below
        try:
            parsed = pd.to_datetime(values, errors="coerce")
        except (ValueError, TypeError) as err:  # e.g. mixed time zones
            raise CLIError(f"{where} cannot be read as dates: {cli_message(err)}") from None
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        pos = int(bad[0])
        good = (
            values.iloc[int(np.flatnonzero(parsed.notna().to_numpy())[0])] if bad.size < len(values) else None
        )
        like = f" like {good!r}" if good is not None else ""
        raise CLIError(
            f"{where}: {values.iloc[pos]!r} in line {_line(pos)} is not a date{like} "
            f"({bad.size} such value(s)); fix or remove those rows, or name another column with --time-col"
        )
    return parsed


def _parse_target(frame, col: str, name: str):
    import numpy as np
    import pandas as pd
    from pandas.api import types

    values = frame[col]
    if types.is_numeric_dtype(values) and not types.is_bool_dtype(values):
        return values.astype("float64")
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero((numbers.isna() & values.notna()).to_numpy())
    if bad.size:
        pos = int(bad[0])
        raise CLIError(
            f"column {col!r} of {name} (--target): {values.iloc[pos]!r} in line {_line(pos)} is not a "
            f"number ({bad.size} such value(s)); --target must name a numeric column"
        )
    return numbers.astype("float64")


def _load(args):
    """``(data, label, rows added)``: the bundled airline Series, or the CSV as a Series (one series) or a
    long DataFrame."""
    import numpy as np
    import pandas as pd

    if args.csv is None:
        from xlstm_ts.datasets import load_airline

        return load_airline(), "bundled airline passengers (monthly, 1949-1960)", 0
    path = Path(args.csv)
    if not path.is_file():
        raise CLIError(f"--csv {path}: no such file")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CLIError(f"--csv {path} cannot be read as a CSV file: {cli_message(err)}") from None
    roles = {"--time-col": args.time_col, "--target": args.target}
    if args.id_col is not None:
        roles["--id-col"] = args.id_col
    named: dict[str, str] = {}
    for option, col in roles.items():
        if col not in frame.columns:
            raise CLIError(
                f"column {col!r} ({option}) not in {path.name}; its columns are {list(frame.columns)}"
            )
        if col in named:
            raise CLIError(
                f"{named[col]} and {option} both name column {col!r} of {path.name}; each needs a column of "
                f"its own (columns: {list(frame.columns)})"
            )
        named[col] = option
    time_values = _parse_time(frame, args.time_col, path.name)
    target = _parse_target(frame, args.target, path.name)
    others = [c for c in frame.columns if c not in (args.time_col, args.target)]
    if args.id_col is None and others and time_values.duplicated().any():
        value = time_values[time_values.duplicated()].iloc[0]
        a, b = (_line(int(i)) for i in np.flatnonzero((time_values == value).to_numpy())[:2])
        raise CLIError(
            f"column {args.time_col!r} of {path.name} has duplicated timestamps ({value} in lines {a} and {b}); "
            f"for a file of several series, name their id column with --id-col (one of {others})"
        )
    if args.id_col is None:
        index = pd.Index(time_values.to_numpy(), name=args.time_col)
        data, added = _add_missing_steps(pd.Series(target.to_numpy(), index=index, name=args.target), args)
        label = f"{path.name} (target {args.target!r})"
    else:
        data = pd.DataFrame(
            {args.id_col: frame[args.id_col], args.time_col: time_values, args.target: target}
        )
        parts, added = [], 0
        for _, group in data.groupby(args.id_col, sort=False, dropna=False):
            part, n = _add_missing_steps(group.set_index(args.time_col)[args.target], args)
            parts.append(part)
            added += n
        if added:
            keys = list(data[args.id_col].drop_duplicates())
            data = pd.concat(parts, keys=keys, names=[args.id_col]).reset_index()
        label = f"{path.name} (id column {args.id_col!r}, target {args.target!r})"
    return data, label, added


def _add_missing_steps(series, args):
    """``(series, rows added)``. With ``--fill-method``, missing timestamps become NaN rows, for the filler (the library fills only
    NaN values). The grid is ``--freq`` for dates and steps of 1 for integer time; without ``--freq``, dates
    are left as they are (the library then names the frequency to pass). Unsorted or duplicated timestamps
    are left for the library to report."""
    import pandas as pd
    from pandas.api import types

    index = series.index
    if not args.fill_method or len(index) < 2 or not index.is_monotonic_increasing or not index.is_unique:
        return series, 0
    if types.is_integer_dtype(index):
        grid = pd.RangeIndex(int(index[0]), int(index[-1]) + 1)
    elif args.freq is not None:
        grid = pd.date_range(index[0], index[-1], freq=args.freq)
    else:
        return series, 0
    full = index.union(grid)
    if len(full) == len(index):
        return series, 0
    return series.reindex(full.rename(index.name)), len(full) - len(index)


def _check_outputs(args) -> None:
    if not args.no_plot:
        folder = Path(args.plot).expanduser().resolve().parent
        if not folder.is_dir():
            raise CLIError(f"--plot {args.plot}: the folder {folder} does not exist")
    if args.save is not None and Path(args.save).exists() and not Path(args.save).is_dir():
        raise CLIError(f"--save {args.save} is a file; --save names a folder (created if needed)")


def _pick_series(args, ids: list):
    """The id to plot: ``--series`` matched against the ids' text, else the first."""
    if args.series is None:
        return ids[0]
    for sid in ids:
        if str(sid) == args.series:
            return sid
    shown = ", ".join(repr(str(s)) for s in ids[:10]) + (", ..." if len(ids) > 10 else "")
    raise CLIError(f"--series {args.series!r} is not a series of the data; its series are {shown}")


# ------------------------------------------------------------------------------------------------ run
def forecast_command(args, out: _Output) -> int:
    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.data.validation import ColumnSpec, parse_panel
    from xlstm_ts.forecasting.backtest import season_for

    data, label, added = _load(args)
    _check_outputs(args)
    if args.id_col is not None:
        columns = ColumnSpec(id_col=args.id_col, time_col=args.time_col, target_col=args.target)
    else:
        columns = ColumnSpec()
    panel = parse_panel(data, columns=columns, freq=args.freq, fill_method=args.fill_method)
    ids = list(panel.ids)
    plotted = None if args.no_plot else _pick_series(args, ids)
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
    raise _Stopped(signum)


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
    except (_Stopped, KeyboardInterrupt) as err:
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


if __name__ == "__main__":
    sys.exit(main())
