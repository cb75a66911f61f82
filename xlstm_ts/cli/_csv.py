"""Reading the CSV of ``xlstm-ts forecast``: columns, dates or integer steps, values, gaps, outputs.

Problems are raised as :class:`~xlstm_ts.cli._messages.CLIError` with the option that fixes them.  pandas is
imported inside the functions, so the command starts without it.
"""

from __future__ import annotations

from pathlib import Path

from ._messages import CLIError, cli_message


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


def load_data(args):
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
        data, added = add_missing_steps(pd.Series(target.to_numpy(), index=index, name=args.target), args)
        label = f"{path.name} (target {args.target!r})"
    else:
        data = pd.DataFrame(
            {args.id_col: frame[args.id_col], args.time_col: time_values, args.target: target}
        )
        parts, added = [], 0
        for _, group in data.groupby(args.id_col, sort=False, dropna=False):
            part, n = add_missing_steps(group.set_index(args.time_col)[args.target], args)
            parts.append(part)
            added += n
        if added:
            keys = list(data[args.id_col].drop_duplicates())
            data = pd.concat(parts, keys=keys, names=[args.id_col]).reset_index()
        label = f"{path.name} (id column {args.id_col!r}, target {args.target!r})"
    return data, label, added


def add_missing_steps(series, args):
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


def check_outputs(args) -> None:
    if not args.no_plot:
        folder = Path(args.plot).expanduser().resolve().parent
        if not folder.is_dir():
            raise CLIError(f"--plot {args.plot}: the folder {folder} does not exist")
    if args.save is not None and Path(args.save).exists() and not Path(args.save).is_dir():
        raise CLIError(f"--save {args.save} is a file; --save names a folder (created if needed)")


def pick_series(args, ids: list):
    """The id to plot: ``--series`` matched against the ids' text, else the first."""
    if args.series is None:
        return ids[0]
    for sid in ids:
        if str(sid) == args.series:
            return sid
    shown = ", ".join(repr(str(s)) for s in ids[:10]) + (", ..." if len(ids) > 10 else "")
    raise CLIError(f"--series {args.series!r} is not a series of the data; its series are {shown}")
