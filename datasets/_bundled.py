"""Tiny series bundled in the source code, for offline examples and tests.

The airline series (Box & Jenkins, *Time Series Analysis: Forecasting and Control*, series G: monthly
totals of international airline passengers, in thousands, January 1949 .. December 1960) is typed in
below. It was checked value by value against two independent copies: the array embedded in
``pmdarima/datasets/airpassengers.py`` (pmdarima 2.1.1 wheel) and ``sktime/datasets/data/Airline/Airline.csv``
(sktime 1.2.0 wheel); all 144 values agree, total 40 363.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["AIRLINE_PASSENGERS", "load_airline", "load_airline_long"]

#: Monthly international airline passengers (thousands), 1949-01 .. 1960-12, 12 values per line.
AIRLINE_PASSENGERS: tuple[int, ...] = (
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,  # 1949
    115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,  # 1950
    145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,  # 1951
    171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,  # 1952
    196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,  # 1953
    204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,  # 1954
    242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278,  # 1955
    284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,  # 1956
    315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,  # 1957
    340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,  # 1958
    360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,  # 1959
    417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,  # 1960
)  # fmt: skip


def load_airline() -> pd.Series:
    """The Box-Jenkins airline passengers series (144 months, 1949-01 .. 1960-12), bundled (no download).

    Returns
    -------
    pandas.Series
        float64 values in thousands of passengers, named ``"passengers"``; index: a ``DatetimeIndex`` of
        month starts named ``"date"`` with ``freq="MS"``.

    Examples
    --------
    >>> from xlstm_ts.datasets import load_airline
    >>> y = load_airline()
    >>> len(y), y.index.freqstr, y.name
    (144, 'MS', 'passengers')
    >>> y.head(3)
    date
    1949-01-01    112.0
    1949-02-01    118.0
    1949-03-01    132.0
    Freq: MS, Name: passengers, dtype: float64
    >>> int(y.sum())
    40363
    """
    index = pd.date_range("1949-01-01", periods=len(AIRLINE_PASSENGERS), freq="MS", name="date")
    return pd.Series(AIRLINE_PASSENGERS, index=index, name="passengers", dtype="float64")


def load_airline_long() -> pd.DataFrame:
    """The airline series in long format: columns ``unique_id`` (``"airline"``), ``ds`` and ``y``.

    Returns
    -------
    pandas.DataFrame
        144 rows with a default RangeIndex.

    Examples
    --------
    >>> from xlstm_ts.datasets import load_airline_long
    >>> df = load_airline_long()
    >>> df.shape, list(df.columns)
    ((144, 3), ['unique_id', 'ds', 'y'])
    >>> df.tail(2)
        unique_id         ds      y
    142   airline 1960-11-01  390.0
    143   airline 1960-12-01  432.0
    """
    y = load_airline()
    return pd.DataFrame({"unique_id": "airline", "ds": y.index.rename(None), "y": y.to_numpy()})
