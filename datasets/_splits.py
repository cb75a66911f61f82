"""The standard LTSF train/val/test split (as in the Time-Series-Library data loaders used by the LTSF papers) and window counting.

The rules follow ``data_provider/data_loader.py`` of the Time-Series-Library, as copied by Informer,
Autoformer, PatchTST, xLSTMTime and xLSTM-Mixer:

* ETT hourly (ETTh1/ETTh2): 12/4/4 months of 30 days: target rows [0, 8640), [8640, 11520), [11520, 14400);
  the rest of the file is never used.
* ETT 15-minute (ETTm1/ETTm2): the same calendar split, ×4 rows: [0, 34560), [34560, 46080), [46080, 57600).
* "custom" (Weather, Electricity, Traffic): ``num_train = int(0.7 * n)``, ``num_test = int(0.2 * n)``,
  ``num_val = n - num_train - num_test``, in that order.

The val and test segments start ``lookback`` rows before their first target row, so that the first window's
input is complete (it may reach into the previous split); train starts at row 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._checks import check_int
from ._registry import SPLIT_KINDS, get_dataset_info

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["split_borders", "standard_split", "count_windows"]

_HOURS_PER_MONTH = 30 * 24  # the protocol's months have 30 days


def _split_kind(name: str) -> str:
    if isinstance(name, str) and name.strip().lower() in SPLIT_KINDS:
        return name.strip().lower()
    return get_dataset_info(name).split


def split_borders(name: str, n_rows: int, lookback: int) -> dict[str, tuple[int, int]]:
    """Row ranges ``[start, stop)`` of the train, val and test segments of the standard LTSF protocol.

    Parameters
    ----------
    name : str
        A registered dataset (``"ETTh1"``, ``"Weather"``, ...) or a split rule: ``"ett_hour"``,
        ``"ett_minute"`` or ``"custom"`` (the 0.7/0.1/0.2 rule, for any other series).
    n_rows : int
        Number of rows of the whole series.
    lookback : int
        Input length L of the model; val and test start L rows before their first target row.

    Returns
    -------
    dict
        ``{"train": (0, b1), "val": (b1 - L, b2), "test": (b2 - L, b3)}``. The targets of a segment are its
        rows from the border on: train [0, b1), val [b1, b2), test [b2, b3).

    Raises
    ------
    ValueError
        For an unknown name, a series too short for its rule (an ETT rule needs 14 400 / 57 600 rows, the
        custom rule at least one target row per segment), or a lookback longer than the train segment.

    Examples
    --------
    >>> from xlstm_ts.datasets import split_borders
    >>> split_borders("ETTh1", 17420, lookback=336)
    {'train': (0, 8640), 'val': (8304, 11520), 'test': (11184, 14400)}
    >>> split_borders("Weather", 52696, lookback=96)
    {'train': (0, 36887), 'val': (36791, 42157), 'test': (42061, 52696)}
    >>> split_borders("custom", 100, lookback=10)
    {'train': (0, 70), 'val': (60, 80), 'test': (70, 100)}
    """
    kind = _split_kind(name)
    n_rows = check_int("n_rows", "split_borders", n_rows, 1)
    lookback = check_int("lookback", "split_borders", lookback, 0)
    if kind in ("ett_hour", "ett_minute"):
        month = _HOURS_PER_MONTH * (1 if kind == "ett_hour" else 4)
        b_train, b_val, b_test = 12 * month, 16 * month, 20 * month
        if n_rows < b_test:
            raise ValueError(
                f"The {kind!r} split of {name!r} needs at least {b_test} rows (20 months of 30 days). "
                f"Got n_rows={n_rows} instead."
            )
    else:
        num_train = int(n_rows * 0.7)  # exactly as TSLib: int() of a float product
        num_test = int(n_rows * 0.2)
        num_val = n_rows - num_train - num_test
        if min(num_train, num_val, num_test) < 1:
            raise ValueError(
                f"The custom 0.7/0.1/0.2 split of {name!r} leaves an empty segment for n_rows={n_rows} "
                f"(train {num_train}, val {num_val}, test {num_test} rows)."
            )
        b_train, b_val, b_test = num_train, num_train + num_val, n_rows
    if lookback > b_train:
        raise ValueError(
            f"The lookback of split_borders must be at most the {b_train} train rows of {name!r}, since the "
            f"validation inputs start lookback rows before row {b_train}. Got lookback={lookback} instead."
        )
    return {
        "train": (0, b_train),
        "val": (b_train - lookback, b_val),
        "test": (b_val - lookback, b_test),
    }


def standard_split(
    df: pd.DataFrame, name: str, lookback: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Cut a wide DataFrame into the train, val and test segments of :func:`split_borders`.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per timestamp (as returned by :func:`load_dataset`).
    name : str
        Dataset name or split rule, as for :func:`split_borders`.
    lookback : int
        Input length L; val and test include the L rows before their first target row.

    Returns
    -------
    train, val, test : pandas.DataFrame
        Row slices of ``df`` (positional).

    Examples
    --------
    >>> from xlstm_ts.datasets import load_airline, standard_split
    >>> df = load_airline().to_frame()
    >>> train, val, test = standard_split(df, "custom", lookback=12)
    >>> len(train), len(val), len(test)
    (100, 28, 40)
    >>> str(test.index[12].date())  # the first test target: row 144 - int(0.2 * 144) = 116
    '1958-09-01'
    """
    borders = split_borders(name, len(df), lookback)
    train, val, test = (df.iloc[start:stop] for start, stop in borders.values())
    return train, val, test


def count_windows(n_rows_segment: int, lookback: int, horizon: int) -> int:
    """Number of stride-1 (input, target) windows in a segment: ``max(0, n - L - H + 1)``.

    Window i uses rows [i, i + L) as input and [i + L, i + L + H) as target.

    Parameters
    ----------
    n_rows_segment : int
        Rows of the segment, lookback prefix included (``stop - start`` of a :func:`split_borders` range).
    lookback : int
        Input length L.
    horizon : int
        Forecast horizon H (at least 1).

    Returns
    -------
    int

    Examples
    --------
    >>> from xlstm_ts.datasets import count_windows, split_borders
    >>> start, stop = split_borders("ETTh1", 17420, lookback=336)["test"]
    >>> count_windows(stop - start, lookback=336, horizon=96)
    2785
    """
    n = check_int("n_rows_segment", "count_windows", n_rows_segment, 0)
    lookback = check_int("lookback", "count_windows", lookback, 0)
    horizon = check_int("horizon", "count_windows", horizon, 1)
    return max(0, n - lookback - horizon + 1)
