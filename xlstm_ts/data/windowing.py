"""Sliding training windows over many series, built lazily, and the prediction window at each series' end.

Shapes (per window; a batch adds a leading ``N``): ``L`` lookback, ``H`` horizon, ``F`` future-known
covariates, ``P`` past covariates, ``K`` static covariates.

========  ===============  ===================================================================
key       shape            content
========  ===============  ===================================================================
x         [L]              target history, rows ``[s, s + L)``
past      [L, P]           past covariates over the history
future    [L + H, F]       future-known covariates over the history and the horizon
static    [K]              static covariates of the series
y         [H]              target over the horizon, rows ``[s + L, s + L + H)`` (training only)
series    [] int64         series position
start     [] int64         ``s``, the window's first row in its series
========  ===============  ===================================================================

Examples
--------
>>> import numpy as np
>>> from xlstm_ts.data.windowing import WindowDataset
>>> ds = WindowDataset([np.arange(10.0)], None, None, None, lookback=4, horizon=2, stride=3)
>>> len(ds), ds.starts.tolist()
(2, [1, 4])
>>> item = ds[1]
>>> item["x"].tolist(), item["y"].tolist()
([4.0, 5.0, 6.0, 7.0], [8.0, 9.0])
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .errors import MissingValueError, SeriesTooShortError

__all__ = ["WindowDataset", "last_windows", "window_starts"]


def _positive_int(value: object, name: str, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}.")
    return int(value)


def window_starts(
    length: int, lookback: int, horizon: int, stride: int = 1, end_range: tuple[int, int] | None = None
) -> np.ndarray:
    """Start rows of the windows of one series, in chronological order.

    Windows are laid from the end backwards every ``stride`` rows, so the most recent admissible window is
    always included.  With ``end_range=(lo, hi)`` only windows whose exclusive end ``e = s + lookback +
    horizon`` satisfies ``lo < e <= hi`` are kept (the latest one ends at ``min(hi, length)``).

    Examples
    --------
    >>> window_starts(10, 3, 2).tolist()
    [0, 1, 2, 3, 4, 5]
    >>> window_starts(10, 3, 2, stride=4).tolist()
    [1, 5]
    >>> window_starts(10, 3, 2, end_range=(7, 9)).tolist()
    [3, 4]
    """
    lo, hi = (-np.inf, np.inf) if end_range is None else end_range
    width = lookback + horizon
    last = int(min(length, hi)) - width  # start of the most recent window
    first = max(0, int(np.floor(lo)) - width + 1) if np.isfinite(lo) else 0
    if last < first:
        return np.zeros(0, dtype=np.int64)
    return np.arange(last, first - 1, -stride, dtype=np.int64)[::-1].copy()


def _stack(arrays: Sequence[np.ndarray] | None, lengths: list[int], name: str) -> torch.Tensor:
    """Per-series ``[T_i, C]`` arrays (or None: ``C = 0``) concatenated into one float32 ``[sum T_i, C]``."""
    if arrays is None:
        return torch.zeros(sum(lengths), 0)
    if len(arrays) != len(lengths):
        raise ValueError(f"{name} has {len(arrays)} series but target has {len(lengths)}.")
    parts = [np.asarray(a, dtype=np.float32) for a in arrays]
    for i, (a, n) in enumerate(zip(parts, lengths)):
        if a.ndim != 2 or a.shape[0] != n:
            raise ValueError(f"{name}[{i}] must have shape [{n}, C] like target[{i}]; got {a.shape}.")
    if len({a.shape[1] for a in parts}) > 1:
        raise ValueError(
            f"Every {name} array must have the same number of columns; got {[a.shape[1] for a in parts]}."
        )
    return torch.from_numpy(np.concatenate(parts)) if parts else torch.zeros(0, 0)


def _check_finite(t: torch.Tensor, offsets: np.ndarray, name: str) -> None:
    bad = ~torch.isfinite(t)
    if bad.any():
        row = int(torch.nonzero(bad.reshape(len(t), -1).any(dim=1))[0])
        series = int(np.searchsorted(offsets, row, side="right") - 1)
        raise MissingValueError(
            f"{name} of series {series} has NaN or inf (row {row - offsets[series]}); windows would carry them "
            "into training. Validate the data with parse_panel(..., fill_method=...) first."
        )


class WindowDataset(Dataset):
    """Training/validation windows over many series, built lazily from per-series arrays.

    Stores the series once as float32 tensors and an index of ``(series, start)`` pairs; each window is a
    slice.  Windows of every series are enumerated from its end backwards every ``stride`` rows (so the most
    recent window is always included) and listed in chronological order, series after series.

    Parameters
    ----------
    target : list of ndarray
        ``[T_i]`` per series.
    future, past : list of ndarray or None
        ``[T_i, F]`` / ``[T_i, P]`` per series (None: no such covariates).
    static : ndarray or None
        ``[n_series, K]`` (None: ``K = 0``).
    lookback, horizon, stride : int
        History length ``L``, forecast length ``H`` (both >= 1) and the step between windows (>= 1).
    end_range : list of (int, int), optional
        Per series ``(lo, hi)``: keep windows whose exclusive end row ``e = s + L + H`` has
        ``lo < e <= hi`` (e.g. ``(-1, n_train)`` for training windows and ``(n_train, T)`` for validation
        windows ending in the last part).

    Attributes
    ----------
    series, starts : ndarray
        int64 ``[len(self)]``: the window index.

    Notes
    -----
    ``ds[k]`` returns one window (a dict, see the module docstring); its tensors are views of the stored
    data: do not modify them in place (the default collate copies them into the batch).  ``ds[indices]``
    with a list/array of ints returns the whole batch at once, which avoids per-window Python overhead:
    ``DataLoader(ds, sampler=BatchSampler(RandomSampler(ds), 64, drop_last=False), batch_size=None)``.

    Examples
    --------
    >>> import numpy as np
    >>> target = [np.arange(6.0), np.arange(100.0, 105.0)]
    >>> future = [np.zeros((6, 2)), np.ones((5, 2))]
    >>> ds = WindowDataset(target, future, None, np.array([[1.0], [2.0]]), lookback=3, horizon=1)
    >>> len(ds), ds.series.tolist(), ds.starts.tolist()
    (5, [0, 0, 0, 1, 1], [0, 1, 2, 0, 1])
    >>> batch = ds[[0, 4]]
    >>> {k: tuple(v.shape) for k, v in batch.items()}
    {'x': (2, 3), 'past': (2, 3, 0), 'future': (2, 4, 2), 'static': (2, 1), 'y': (2, 1), 'series': (2,), 'start': (2,)}
    >>> batch["y"].tolist()
    [[3.0], [104.0]]
    """

    def __init__(
        self,
        target: list[np.ndarray],
        future: list[np.ndarray] | None,
        past: list[np.ndarray] | None,
        static: np.ndarray | None,
        lookback: int,
        horizon: int,
        stride: int = 1,
        end_range: list[tuple[int, int]] | None = None,
    ) -> None:
        self.lookback = _positive_int(lookback, "lookback")
        self.horizon = _positive_int(horizon, "horizon")
        self.stride = _positive_int(stride, "stride")
        parts = [np.asarray(t, dtype=np.float32).reshape(-1) for t in target]
        lengths = [len(p) for p in parts]
        n = len(parts)
        self._offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self._target = torch.from_numpy(np.concatenate(parts)) if parts else torch.zeros(0)  # [sum T]
        self._future = _stack(future, lengths, "future")  # [sum T, F]
        self._past = _stack(past, lengths, "past")  # [sum T, P]
        static = np.zeros((n, 0)) if static is None else np.asarray(static, dtype=np.float32)
        if static.ndim != 2 or static.shape[0] != n:
            raise ValueError(f"static must have shape [n_series={n}, K]; got {static.shape}.")
        self._static = torch.from_numpy(np.ascontiguousarray(static, dtype=np.float32))  # [n, K]
        for name, t in (("target", self._target), ("future", self._future), ("past", self._past)):
            _check_finite(t, self._offsets, name)
        _check_finite(self._static, np.arange(n + 1), "static")
        if end_range is not None and len(end_range) != n:
            raise ValueError(f"end_range needs one (lo, hi) pair per series ({n}); got {len(end_range)}.")
        starts = [
            window_starts(
                lengths[i],
                self.lookback,
                self.horizon,
                self.stride,
                None if end_range is None else end_range[i],
            )
            for i in range(n)
        ]
        self.series = np.repeat(np.arange(n, dtype=np.int64), [len(s) for s in starts])
        self.starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        self._l_range = torch.arange(self.lookback)
        self._lh_range = torch.arange(self.lookback + self.horizon)

    @property
    def n_series(self) -> int:
        """Number of series (also those without any window)."""
        return len(self._offsets) - 1

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int | Sequence[int] | np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
        if isinstance(index, torch.Tensor):
            index = index.numpy()
        if isinstance(index, numbers.Integral) or (isinstance(index, np.ndarray) and index.ndim == 0):
            return self._one(int(index))
        return self._batch(np.asarray(index, dtype=np.int64))

    def _one(self, k: int) -> dict[str, torch.Tensor]:
        if not -len(self) <= k < len(self):
            raise IndexError(f"window {k} out of range for a dataset of {len(self)} windows.")
        i, s = int(self.series[k]), int(self.starts[k])
        o, L, H = int(self._offsets[i]) + s, self.lookback, self.horizon
        return {
            "x": self._target[o : o + L],
            "past": self._past[o : o + L],
            "future": self._future[o : o + L + H],
            "static": self._static[i],
            "y": self._target[o + L : o + L + H],
            "series": torch.tensor(i, dtype=torch.int64),
            "start": torch.tensor(s, dtype=torch.int64),
        }

    def _batch(self, ks: np.ndarray) -> dict[str, torch.Tensor]:
        if ks.ndim != 1 or (len(ks) and (ks.min() < -len(self) or ks.max() >= len(self))):
            raise IndexError(f"window indices must be a 1-d array within [0, {len(self)}).")
        series, starts = torch.from_numpy(self.series[ks]), torch.from_numpy(self.starts[ks])
        rows = torch.from_numpy(self._offsets[self.series[ks]] + self.starts[ks])[:, None]  # [N, 1]
        L = self.lookback
        hist, full = rows + self._l_range, rows + self._lh_range  # [N, L], [N, L + H]
        return {
            "x": self._target[hist],
            "past": self._past[hist],
            "future": self._future[full],
            "static": self._static[series],
            "y": self._target[full[:, L:]],
            "series": series,
            "start": starts,
        }


def last_windows(
    target: list[np.ndarray],
    future_hist: list[np.ndarray] | None,
    future_next: list[np.ndarray] | None,
    past: list[np.ndarray] | None,
    static: np.ndarray | None,
    lookback: int,
    *,
    horizon: int | None = None,
    ids: list | None = None,
) -> dict[str, torch.Tensor]:
    """The prediction window at the end of every series, as one batch (the keys of a dataset batch but ``y``).

    Parameters
    ----------
    target : list of ndarray
        ``[T_i]`` per series, ``T_i >= lookback``.
    future_hist : list of ndarray or None
        ``[T_i, F]``: future-known covariates over the history (None: ``F = 0``).
    future_next : list of ndarray or None
        ``[H, F]``: the same covariates over the horizon (e.g. from ``parse_future_covariates``).
    past : list of ndarray or None
        ``[T_i, P]``.
    static : ndarray or None
        ``[n_series, K]``.
    lookback : int
    horizon : int, optional
        Needed only when ``future_next`` is None; else taken from its arrays.
    ids : list, optional
        Series ids, to name the short series in errors.

    Returns
    -------
    dict of Tensor
        ``x`` [N, L], ``past`` [N, L, P], ``future`` [N, L + H, F], ``static`` [N, K], ``series`` [N] and
        ``start`` [N] (``T_i - L``), float32 / int64.

    Examples
    --------
    >>> import numpy as np
    >>> batch = last_windows([np.arange(5.0), np.arange(3.0)], None, None, None, None, lookback=2, horizon=4)
    >>> batch["x"].tolist(), tuple(batch["future"].shape), batch["start"].tolist()
    ([[3.0, 4.0], [1.0, 2.0]], (2, 6, 0), [3, 1])
    """
    lookback = _positive_int(lookback, "lookback")
    n = len(target)
    lengths = [len(t) for t in target]
    short = [i for i in range(n) if lengths[i] < lookback]
    if short:
        names = [repr(ids[i]) if ids is not None else str(i) for i in short]
        raise SeriesTooShortError(
            f"Predicting needs the last lookback={lookback} steps of every series, but series "
            + ", ".join(f"{name} has {lengths[i]}" for name, i in zip(names, short))
            + ". Pass longer histories or use a smaller lookback."
        )
    if future_next is None:
        if horizon is None:
            raise ValueError("last_windows needs horizon= when future_next is None.")
        horizon = _positive_int(horizon, "horizon")
        width = 0 if future_hist is None else np.asarray(future_hist[0]).shape[1]
        future_next = [np.zeros((horizon, width))] * n
    horizons = {np.asarray(f).shape[0] for f in future_next}
    if len(horizons) > 1 or (horizon is not None and horizons != {horizon}):
        raise ValueError(
            f"Every future_next array needs the same number of rows (horizon); got {sorted(horizons)}."
        )
    width_next = np.asarray(future_next[0]).shape[1] if n else 0
    if future_hist is None:
        future_hist = [np.zeros((t, width_next)) for t in lengths]
    future = [
        np.concatenate([np.asarray(h, dtype=np.float32)[-lookback:], np.asarray(f, dtype=np.float32)])
        for h, f in zip(future_hist, future_next)
    ]
    past = [np.zeros((t, 0)) for t in lengths] if past is None else past
    static = np.zeros((n, 0)) if static is None else np.asarray(static)
    return {
        "x": torch.from_numpy(np.stack([np.asarray(t, dtype=np.float32)[-lookback:] for t in target])),
        "past": torch.from_numpy(np.stack([np.asarray(p, dtype=np.float32)[-lookback:] for p in past])),
        "future": torch.from_numpy(np.stack(future)),
        "static": torch.from_numpy(np.ascontiguousarray(static, dtype=np.float32)),
        "series": torch.arange(n, dtype=torch.int64),
        "start": torch.tensor([t - lookback for t in lengths], dtype=torch.int64),
    }
