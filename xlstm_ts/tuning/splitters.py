"""A rolling-origin cross-validation splitter for panels of time series that scikit-learn understands.

scikit-learn's :class:`~sklearn.model_selection.TimeSeriesSplit` splits *rows*.  On a long DataFrame
(``unique_id``, ``ds``, ``y``, one block of rows per series) its folds train on the first series and test
on the last ones, and the training rows of one series can lie after the test rows of another.
:class:`PanelTimeSeriesSplit` cuts every series at the same time points instead.  It needs no Optuna.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd


class PanelTimeSeriesSplit:
    """Rolling-origin folds that cut every series of a panel at the same timestamps.

    The timestamps of all series together form one time grid.  Fold ``k`` has a forecast origin
    (cut) on that grid; the last fold's test window is the final ``horizon`` time points, and each
    earlier fold's origin is ``step`` time points before the next one.  ``split`` yields positional row
    indices (what ``GridSearchCV``, ``cross_validate`` and :func:`xlstm_ts.tuning.tune` index with):

    * **train**: every row before the origin minus ``gap`` (at most ``max_train_size`` time points).
    * **test**: for each series that has all ``horizon`` rows after the origin, those rows *and* the
      series' rows before them (its history, limited to ``history`` rows when given).  The forecaster's
      ``score(X_test)`` forecasts the last ``horizon`` rows of each series of ``X_test`` from the rows
      before them, so it scores exactly the forecasts made at the origin; the history rows are inputs,
      never scored.  Nothing after a fold's test window is in either part.

    Parameters
    ----------
    n_splits : int
        Number of folds (>= 1).
    horizon : int
        Time points scored per fold: the forecaster's ``horizon``.
    step : int or None
        Time points between the origins of consecutive folds; None: ``horizon`` (the test windows tile
        the end of the data without overlap).
    gap : int
        Time points left out between the end of the training rows and the origin.  The test history
        still reaches the origin: a forecast always reads the most recent rows.
    max_train_size : int or None
        Keep only the last ``max_train_size`` time points for training (a sliding window); None keeps
        everything from the start (an expanding window).
    history : int or None
        Rows of history before the origin put in each test part; None: all of them.  It must cover the
        forecaster's ``lookback``.
    id_col, time_col : str
        Series-id and timestamp columns of a long DataFrame.  Data without an ``id_col`` column (a wide
        DataFrame or a Series indexed by time) is split by its rows, which are then time points.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"unique_id": ["a"] * 6 + ["b"] * 6, "ds": list(range(6)) * 2, "y": range(12)})
    >>> cv = PanelTimeSeriesSplit(n_splits=2, horizon=2)
    >>> for train, test in cv.split(df):
    ...     print(sorted(set(df.ds[train])), sorted(set(df.unique_id[train])), len(test))
    [0, 1] ['a', 'b'] 8
    [0, 1, 2, 3] ['a', 'b'] 12
    """

    def __init__(
        self,
        n_splits: int = 3,
        *,
        horizon: int,
        step: int | None = None,
        gap: int = 0,
        max_train_size: int | None = None,
        history: int | None = None,
        id_col: str = "unique_id",
        time_col: str = "ds",
    ) -> None:
        self.n_splits = n_splits
        self.horizon = horizon
        self.step = step
        self.gap = gap
        self.max_train_size = max_train_size
        self.history = history
        self.id_col = id_col
        self.time_col = time_col

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as scikit-learn estimators report them."""
        names = ("n_splits", "horizon", "step", "gap", "max_train_size", "history", "id_col", "time_col")
        return {name: getattr(self, name) for name in names}

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds (``n_splits``); ``X``, ``y`` and ``groups`` are ignored."""
        self._check()
        return int(self.n_splits)

    # ----------------------------------------------------------------------------------------- checks
    def _check(self) -> None:
        def need(name: str, low: int, none: bool = False) -> None:
            value = getattr(self, name)
            if none and value is None:
                return
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                expected = f"an int >= {low}" + (" or None" if none else "")
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be {expected}. Got {value!r} instead."
                )

        need("n_splits", 1)
        need("horizon", 1)
        need("step", 1, none=True)
        need("gap", 0)
        need("max_train_size", 1, none=True)
        need("history", 1, none=True)

    def _grid(self, X) -> tuple[np.ndarray, np.ndarray | None]:
        """Grid position of every row and the series code of every row (None for wide data)."""
        if isinstance(X, pd.DataFrame) and self.id_col in X.columns:
            if self.time_col not in X.columns:
                raise ValueError(
                    f"{type(self).__name__} needs the time column {self.time_col!r} in a long DataFrame; "
                    f"got the columns {list(X.columns)}."
                )
            times = X[self.time_col].to_numpy()
            grid = np.unique(times)
            codes, _ = pd.factorize(X[self.id_col])
            return np.searchsorted(grid, times), np.asarray(codes)
        if isinstance(X, (pd.DataFrame, pd.Series)):
            return np.arange(len(X)), None
        raise TypeError(
            f"{type(self).__name__}.split expects a long DataFrame (with the column {self.id_col!r}), "
            f"a wide DataFrame or a Series; got {type(X).__name__}."
        )

    def cutoffs(self, n_times: int) -> list[int]:
        """Grid positions of the fold origins for a grid of ``n_times`` time points, oldest first.

        >>> PanelTimeSeriesSplit(n_splits=3, horizon=4, step=2).cutoffs(20)
        [12, 14, 16]
        """
        self._check()
        step = self.horizon if self.step is None else self.step
        cuts = [n_times - self.horizon - (self.n_splits - 1 - k) * step for k in range(self.n_splits)]
        if cuts[0] - self.gap < 1:
            raise ValueError(
                f"{self.n_splits} folds with horizon {self.horizon}, step {step} and gap {self.gap} need more "
                f"than {self.horizon + (self.n_splits - 1) * step + self.gap} time points; the data has "
                f"{n_times}."
            )
        return cuts

    # ------------------------------------------------------------------------------------------ split
    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` positional row indices of ``X`` for each fold, oldest fold first.

        ``y`` and ``groups`` are ignored (the series and timestamps come from ``X``).
        """
        pos, codes = self._grid(X)
        H = self.horizon
        for cut in self.cutoffs(int(pos.max()) + 1 if len(pos) else 0):
            end = cut - self.gap
            train = pos < end
            if self.max_train_size is not None:
                train &= pos >= end - self.max_train_size
            test = pos < cut + H
            if self.history is not None:
                test &= pos >= cut - self.history
            if codes is not None:  # only series with every row of the test window
                window = (pos >= cut) & (pos < cut + H)
                complete = np.bincount(codes[window], minlength=int(codes.max()) + 1) == H
                test &= complete[codes]
            if not test.any():
                raise ValueError(
                    f"No series has all {H} time points after the fold origin at grid position {cut}."
                )
            yield np.flatnonzero(train), np.flatnonzero(test)


__all__ = ["PanelTimeSeriesSplit"]
