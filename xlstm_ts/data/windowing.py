"""Windows over many series, built lazily: training windows, the prediction window and backtest windows.

One class, :class:`WindowDataset`, serves all three: training (and validation) windows are laid every
``stride`` rows (:func:`window_starts`); :meth:`WindowDataset.at_cutoffs` builds the windows that end at
given cutoffs -- the end of each series for ``predict`` (with the future covariates of the horizon
appended), earlier cutoffs for backtests.  Every window is scaled by its own target location and scale
(per series for series seen in training, from the history before the cutoff for unseen ones), kept in
float64 until the window is sliced.

Shapes (per window; a batch adds a leading ``N``): ``L`` lookback, ``H`` horizon, ``F`` future-known
covariates, ``P`` past covariates, ``K`` static covariates.

========  ===============  ===================================================================
key       shape            content
========  ===============  ===================================================================
x         [L]              scaled target history, rows ``[s, s + L)``: ``(y - loc) / scale``
past      [L, P]           past covariates over the history
future    [L + H, F]       future-known covariates over the history and the horizon
static    [K]              static covariates of the series
y         [H]              scaled target over the horizon, rows ``[s + L, s + L + H)`` (when known)
series    [] int64         series position
start     [] int64         ``s``, the window's first row in its series
loc       [] float64       the window's target location
scale     [] float64       the window's target scale
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

__all__ = ["WindowDataset", "window_starts"]


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
    """Windows over many series, built lazily from per-series arrays.

    Stores the series once (target in float64, covariates in float32) and an index of ``(series, start)``
    pairs with each window's target location and scale; a window is a slice, scaled when it is taken.
    The constructor lays windows every ``stride`` rows from the end of each series backwards (so the most
    recent window is always included), listed in chronological order, series after series;
    :meth:`at_cutoffs` builds the windows that end at given rows instead.

    Parameters
    ----------
    target : list of ndarray
        ``[T_i]`` per series (unscaled).
    future, past : list of ndarray or None
        ``[T_i, F]`` / ``[T_i, P]`` per series, already scaled (None: no such covariates).
    static : ndarray or None
        ``[n_series, K]`` (None: ``K = 0``).
    lookback, horizon, stride : int
        History length ``L``, forecast length ``H`` (both >= 1) and the step between windows (>= 1).
    end_range : list of (int, int), optional
        Per series ``(lo, hi)``: keep windows whose exclusive end row ``e = s + L + H`` has
        ``lo < e <= hi`` (e.g. ``(-1, n_train)`` for training windows and ``(n_train, T)`` for validation
        windows ending in the last part).
    loc, scale : array-like, optional
        Per series target location and scale ``[n_series]`` (default 0 and 1: no scaling).

    Attributes
    ----------
    series, starts : ndarray
        int64 ``[len(self)]``: the window index.
    loc, scale : ndarray
        float64 ``[len(self)]``: each window's target statistics.
    has_target : bool
        Whether every window's horizon lies within the known target (then batches hold ``y``).

    Notes
    -----
    ``ds[k]`` returns one window (a dict, see the module docstring).  ``ds[indices]`` with a list/array of
    ints returns the whole batch at once, which avoids per-window Python overhead:
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
    >>> {k: tuple(v.shape) for k, v in batch.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'x': (2, 3), 'past': (2, 3, 0), 'future': (2, 4, 2), 'static': (2, 1), 'series': (2,), 'start': (2,),
     'loc': (2,), 'scale': (2,), 'y': (2, 1)}
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
        *,
        loc: np.ndarray | Sequence[float] | None = None,
        scale: np.ndarray | Sequence[float] | None = None,
    ) -> None:
        self.lookback = _positive_int(lookback, "lookback")
        self.horizon = _positive_int(horizon, "horizon")
        self.stride = _positive_int(stride, "stride")
        n = self._store(target, future, past, static)
        if end_range is not None and len(end_range) != n:
            raise ValueError(f"end_range needs one (lo, hi) pair per series ({n}); got {len(end_range)}.")
        series_loc = np.zeros(n) if loc is None else np.asarray(loc, dtype=np.float64).reshape(n)
        series_scale = np.ones(n) if scale is None else np.asarray(scale, dtype=np.float64).reshape(n)
        self._end_range = end_range
        self._series_stats = (series_loc, series_scale)
        self._lay_windows()

    def _lay_windows(self) -> None:
        """Index the windows laid every ``stride`` rows by the constructor's rule (``end_range``)."""
        lengths = self._known.tolist()
        end_range = self._end_range
        starts = [
            window_starts(
                lengths[i],
                self.lookback,
                self.horizon,
                self.stride,
                None if end_range is None else end_range[i],
            )
            for i in range(len(lengths))
        ]
        loc, scale = self._series_stats
        counts = [len(s) for s in starts]
        self._index(
            np.repeat(np.arange(len(lengths), dtype=np.int64), counts),
            np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64),
            np.repeat(loc, counts),
            np.repeat(scale, counts),
        )

    @classmethod
    def at_cutoffs(
        cls,
        target: list[np.ndarray],
        future: list[np.ndarray] | None,
        past: list[np.ndarray] | None,
        static: np.ndarray | None,
        lookback: int,
        horizon: int,
        cutoffs: list[np.ndarray],
        *,
        loc: np.ndarray,
        scale: np.ndarray,
        future_next: list[np.ndarray] | None = None,
        ids: list | None = None,
    ) -> WindowDataset:
        """The windows whose history ends at ``cutoffs[i]`` (exclusive row) of series ``i``.

        Window ``j`` of series ``i`` reads rows ``[c - L, c)`` with ``c = cutoffs[i][j]`` and the future
        covariates of rows ``[c - L, c + H)``.  For ``predict``, ``cutoffs[i] = [T_i]`` and
        ``future_next[i]`` (``[H, F]``) holds the future covariates of the horizon after the series' end,
        appended to ``future`` (the target over that horizon is unknown: ``has_target`` is False).

        Parameters
        ----------
        cutoffs : list of ndarray
            int ``[W]`` per series, the same ``W`` for every series; windows are ordered series-major.
        loc, scale : ndarray
            float64 ``[n_series, W]``: each window's target location and scale.
        future_next : list of ndarray, optional
            ``[H, F]`` per series (see above).
        ids : list, optional
            Series ids, to name the series in errors.

        Examples
        --------
        >>> import numpy as np
        >>> ds = WindowDataset.at_cutoffs([np.arange(5.0), np.arange(3.0)], None, None, None, 2, 4,
        ...                               [np.array([5]), np.array([3])], loc=np.zeros((2, 1)),
        ...                               scale=np.ones((2, 1)), future_next=[np.zeros((4, 0))] * 2)
        >>> batch = ds[[0, 1]]
        >>> batch["x"].tolist(), tuple(batch["future"].shape), batch["start"].tolist(), ds.has_target
        ([[3.0, 4.0], [1.0, 2.0]], (2, 6, 0), [3, 1], False)
        """
        L, H = _positive_int(lookback, "lookback"), _positive_int(horizon, "horizon")
        n = len(target)
        names = [repr(ids[i]) if ids is not None else str(i) for i in range(n)]
        short = [i for i in range(n) if len(cutoffs[i]) and int(np.min(cutoffs[i])) < L]
        if short:
            raise SeriesTooShortError(
                f"Each window needs lookback={L} rows of history before its cutoff, but series "
                + ", ".join(f"{names[i]} has {int(np.min(cutoffs[i]))}" for i in short)
                + ". Pass longer histories or use a smaller lookback."
            )
        if future_next is not None:
            F = 0 if future is None else future[0].shape[1]
            future = [
                np.concatenate([np.zeros((len(t), F)) if future is None else future[i], future_next[i]])
                for i, t in enumerate(target)
            ]
        ds = cls.__new__(cls)
        ds.lookback, ds.horizon, ds.stride = L, H, 1
        ds._store(target, future, past, static, covariate_rows=None if future_next is None else H)
        appended = H if future_next is not None else 0
        for i in range(n):  # every window reads the covariates of rows [c - L, c + H)
            if len(cutoffs[i]) and int(np.max(cutoffs[i])) + H > len(target[i]) + appended:
                raise SeriesTooShortError(
                    f"A cutoff of series {names[i]} lies less than horizon={H} rows before its end."
                )
        counts = [len(c) for c in cutoffs]
        cuts = (
            np.concatenate([np.asarray(c, dtype=np.int64) for c in cutoffs]) if n else np.zeros(0, np.int64)
        )
        ds._index(
            np.repeat(np.arange(n, dtype=np.int64), counts),
            cuts - L,
            np.asarray(loc, dtype=np.float64).reshape(-1),
            np.asarray(scale, dtype=np.float64).reshape(-1),
        )
        return ds

    # ------------------------------------------------------------------------------------------ storage
    def _store(self, target, future, past, static, covariate_rows: int | None = None) -> int:
        """Concatenate the series; ``covariate_rows`` extra future rows per series (prediction)."""
        parts = [np.asarray(t, dtype=np.float64).reshape(-1) for t in target]
        n = len(parts)
        known = [len(p) for p in parts]
        if parts:  # the known target, before any unknown horizon is appended
            _check_finite(
                torch.from_numpy(np.concatenate(parts)), np.concatenate([[0], np.cumsum(known)]), "target"
            )
        extra = covariate_rows or 0
        lengths = [k + extra for k in known]
        if extra:  # the target over the appended horizon is unknown
            parts = [np.concatenate([p, np.full(extra, np.nan)]) for p in parts]
        self._known = np.asarray(known, dtype=np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self._target = (
            torch.from_numpy(np.concatenate(parts)) if parts else torch.zeros(0, dtype=torch.float64)
        )
        self._future = _stack(future, lengths, "future")  # [sum T, F]
        past_rows = (
            None if past is None else [np.concatenate([p, np.zeros((extra, p.shape[1]))]) for p in past]
        )
        self._past = _stack(past_rows, lengths, "past")  # [sum T, P]
        static = np.zeros((n, 0)) if static is None else np.asarray(static, dtype=np.float32)
        if static.ndim != 2 or static.shape[0] != n:
            raise ValueError(f"static must have shape [n_series={n}, K]; got {static.shape}.")
        self._static = torch.from_numpy(np.ascontiguousarray(static, dtype=np.float32))  # [n, K]
        for name, t in (("future", self._future), ("past", self._past)):
            _check_finite(t, self._offsets, name)
        _check_finite(self._static, np.arange(n + 1), "static")
        return n

    def _index(self, series: np.ndarray, starts: np.ndarray, loc: np.ndarray, scale: np.ndarray) -> None:
        if not (len(series) == len(starts) == len(loc) == len(scale)):
            raise ValueError("loc and scale need one value per window.")
        if len(scale) and not (np.isfinite(loc).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("Window locations must be finite and scales finite and > 0.")
        self.series, self.starts = series, starts
        self.loc, self.scale = loc, scale
        ends = starts + self.lookback + self.horizon
        self.has_target = bool(np.all(ends <= self._known[series])) if len(series) else True
        # the same index as tensors, on the device of the stored series (see :meth:`to`)
        device = self._target.device
        self._series_t, self._starts_t = (
            torch.from_numpy(series).to(device),
            torch.from_numpy(starts).to(device),
        )
        self._rows_t = torch.from_numpy(self._offsets[series] + starts).to(device)
        self._loc_t, self._scale_t = torch.from_numpy(loc).to(device), torch.from_numpy(scale).to(device)
        self._l_range = torch.arange(self.lookback, device=device)
        self._lh_range = torch.arange(self.lookback + self.horizon, device=device)

    def with_stride(self, stride: int) -> WindowDataset:
        """The same series and window rule with another ``stride`` (sharing the stored series, on the same
        device); only for datasets built by the constructor."""
        if not hasattr(self, "_end_range"):
            raise ValueError("with_stride needs a dataset built by WindowDataset(...), not at_cutoffs().")
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.stride = _positive_int(stride, "stride")
        out._lay_windows()
        return out

    _TENSORS = (
        "_target", "_future", "_past", "_static", "_series_t", "_starts_t", "_rows_t", "_loc_t", "_scale_t",
        "_l_range", "_lh_range",
    )  # fmt: skip

    @property
    def device(self) -> torch.device:
        """Where the stored series live (and the batches are built)."""
        return self._target.device

    def to(self, device: torch.device | str) -> WindowDataset:
        """A copy whose series and index live on ``device``: batches are then sliced there, with no host
        copies (``ds.to("cuda")[torch.arange(256, device="cuda")]``).  ``self`` is unchanged."""
        device = torch.device(device)
        if device == self.device:
            return self
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        for name in self._TENSORS:
            setattr(out, name, getattr(self, name).to(device))
        return out

    @property
    def n_future(self) -> int:
        """Number of future-known covariates ``F``."""
        return int(self._future.shape[1])

    @property
    def n_past(self) -> int:
        """Number of past covariates ``P``."""
        return int(self._past.shape[1])

    @property
    def n_static(self) -> int:
        """Number of static covariates ``K``."""
        return int(self._static.shape[1])

    @property
    def n_series(self) -> int:
        """Number of series (also those without any window)."""
        return len(self._offsets) - 1

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int | Sequence[int] | np.ndarray | torch.Tensor) -> dict[str, torch.Tensor]:
        if isinstance(index, numbers.Integral) or (
            isinstance(index, (np.ndarray, torch.Tensor)) and index.ndim == 0
        ):
            k = int(index)
            if not -len(self) <= k < len(self):
                raise IndexError(f"window {k} out of range for a dataset of {len(self)} windows.")
            ks = torch.tensor([k % len(self)], device=self.device)
            return {key: value[0] for key, value in self.batch(ks).items()}
        if not isinstance(index, torch.Tensor):
            index = torch.from_numpy(np.asarray(index, dtype=np.int64))
        if index.ndim != 1 or (len(index) and (int(index.min()) < 0 or int(index.max()) >= len(self))):
            raise IndexError(f"window indices must be a 1-d array within [0, {len(self)}).")
        return self.batch(index.to(self.device, torch.int64))

    def batch(self, ks: torch.Tensor) -> dict[str, torch.Tensor]:
        """The windows ``ks`` (int64 ``[N]`` on :attr:`device`, unchecked) as one batch, sliced where the
        data lives: pure tensor indexing, no host synchronisation."""
        rows = self._rows_t[ks][:, None]  # [N, 1]
        L = self.lookback
        hist, full = rows + self._l_range, rows + self._lh_range  # [N, L], [N, L + H]
        series = self._series_t[ks]
        loc = self._loc_t[ks][:, None]  # [N, 1] float64
        scale = self._scale_t[ks][:, None]
        out = {
            "x": ((self._target[hist] - loc) / scale).float(),
            "past": self._past[hist],
            "future": self._future[full],
            "static": self._static[series],
            "series": series,
            "start": self._starts_t[ks],
            "loc": loc[:, 0],
            "scale": scale[:, 0],
        }
        if self.has_target:
            out["y"] = ((self._target[full[:, L:]] - loc) / scale).float()
        return out
