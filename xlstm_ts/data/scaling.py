"""Per-series (local) scaling of the target and covariates.

Each series gets its own location and scale per channel, so series of very different magnitude train
together; ``inverse_transform`` maps forecasts back.

Examples
--------
>>> import numpy as np
>>> from xlstm_ts.data.scaling import SeriesScaler
>>> scaler = SeriesScaler("standard").fit([np.array([1.0, 2.0, 3.0]), np.array([10.0, 10.0, 10.0])])
>>> scaler.loc_.tolist(), scaler.scale_.round(3).tolist()
([2.0, 10.0], [0.816, 10.0])
>>> scaler.transform(np.array([10.0, 12.0]), series=1).tolist()
[0.0, 0.2]
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import torch

__all__ = ["SCALING_METHODS", "CovariateScaler", "PanelScaler", "SeriesScaler"]

SCALING_METHODS = ("standard", "robust", "none")
_Array = TypeVar("_Array", np.ndarray, torch.Tensor)


#: A scale at or below this fraction of the data's magnitude counts as zero: float64 differences of values
#: of that magnitude carry no more than a few significant digits of such a spread.
RELATIVE_FLOOR = 1e-12


def _floor(scale: np.ndarray, loc: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Scales that are zero relative to the data's magnitude ``size`` (its largest absolute value) become
    that magnitude (1 for all-zero data).

    The rule is relative only, so it commutes with multiplying the data by a constant: the statistics of
    ``c * y`` are ``c`` times those of ``y`` for every ``c > 0`` (an absolute floor would treat series of
    tiny magnitude as constant).  ``loc`` is part of the magnitude too (it is for every method but "none").
    """
    size = np.maximum(size, np.abs(loc))
    fallback = np.where(size > 0, size, 1.0)
    usable = np.isfinite(scale) & (scale > RELATIVE_FLOOR * size) & (scale > 0)
    return np.where(usable, scale, fallback)


class SeriesScaler:
    """Location/scale normalisation fitted separately for every series and channel.

    Parameters
    ----------
    method : {"standard", "robust", "none"}
        ``"standard"``: mean and population standard deviation.  ``"robust"``: median and interquartile
        range (falling back to the standard deviation where the IQR is 0, e.g. intermittent demand).
        ``"none"``: location 0, scale 1.  A scale that is (nearly) zero, e.g. of a constant series,
        becomes the magnitude of the series (1 when it is all zeros), so transforming never divides by zero
        and scaling the data by a constant scales the statistics by the same constant.

    Attributes
    ----------
    loc_, scale_ : ndarray
        float64 ``[n_series]`` (series fitted as ``[T]`` arrays) or ``[n_series, C]`` (``[T, C]`` arrays).

    Notes
    -----
    ``transform`` / ``inverse_transform`` accept numpy arrays or torch tensors (the result has the input's
    type, device and floating dtype; integer input becomes float64 / float32).

    Examples
    --------
    >>> import numpy as np
    >>> scaler = SeriesScaler("robust").fit([np.arange(10.0)[:, None], np.ones((4, 1))])
    >>> scaler.loc_.shape, scaler.scale_[:, 0].tolist()
    ((2, 1), [4.5, 1.0])
    >>> x = np.zeros((2, 3, 1))  # a batch of 2 windows of series 0 and 1
    >>> scaler.inverse_transform(scaler.transform(x, series=np.array([0, 1])), np.array([0, 1])).ravel().tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    >>> SeriesScaler.from_dict(scaler.to_dict()).loc_.tolist()
    [[4.5], [1.0]]
    """

    def __init__(self, method: str = "standard") -> None:
        if method not in SCALING_METHODS:
            raise ValueError(
                f"method must be one of {', '.join(map(repr, SCALING_METHODS))}; got {method!r}."
            )
        self.method = method

    def fit(self, arrays: list[np.ndarray]) -> SeriesScaler:
        """Fit one location and scale per series (and channel).

        Parameters
        ----------
        arrays : list of ndarray
            Per series ``[T_i]`` or ``[T_i, C]`` (all with the same number of dimensions and channels),
            finite values.  An empty series gets location 0 and scale 1.

        Returns
        -------
        SeriesScaler
            ``self``.
        """
        arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
        if not arrays:
            raise ValueError("SeriesScaler.fit needs at least one series; got an empty list.")
        ndims = {a.ndim for a in arrays}
        if not ndims <= {1, 2} or len(ndims) > 1 or len({a.shape[1:] for a in arrays}) > 1:
            raise ValueError(
                "SeriesScaler.fit expects arrays that are all [T] or all [T, C] with the same C; got shapes "
                f"{sorted({a.shape for a in arrays})[:5]}."
            )
        width = arrays[0].shape[1:]
        locs, scales, sizes = [], [], []
        for i, a in enumerate(arrays):
            if not np.isfinite(a).all():
                raise ValueError(
                    f"SeriesScaler.fit: series {i} contains NaN or inf; fill or drop them first."
                )
            loc, scale = self._stats(a, width)
            locs.append(loc)
            scales.append(scale)
            sizes.append(np.abs(a).max(axis=0) if len(a) and self.method != "none" else np.zeros(width))
        loc = np.stack(locs)
        self.loc_ = loc
        self.scale_ = _floor(np.stack(scales), loc, np.stack(sizes))
        return self

    def _stats(self, a: np.ndarray, width: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        if len(a) == 0 or self.method == "none":
            return np.zeros(width), np.ones(width)
        if self.method == "standard":
            return a.mean(axis=0), a.std(axis=0)
        q25, median, q75 = np.percentile(a, [25.0, 50.0, 75.0], axis=0)
        iqr = q75 - q25
        return median, np.where(iqr > 0, iqr, a.std(axis=0))

    # ------------------------------------------------------------------------------------------- apply
    def _params(self, x: _Array, series: Any) -> tuple[_Array, _Array]:
        if not hasattr(self, "loc_"):
            raise RuntimeError("This SeriesScaler is not fitted yet; call fit(arrays) first.")
        if isinstance(series, torch.Tensor):
            series = series.detach().cpu().numpy()
        series = np.asarray(series)
        if series.dtype.kind not in "iu":
            raise TypeError(f"series must be an int or an int array; got dtype {series.dtype}.")
        loc, scale = self.loc_[series], self.scale_[series]  # [] / [C] (scalar series) or [N] / [N, C]
        want = self.loc_.ndim + series.ndim  # x: [T] / [T, C] per series, [N, T] / [N, T, C] batched
        if x.ndim != want or (self.loc_.ndim == 2 and x.shape[-1] != self.loc_.shape[1]):
            layout = ("[T]", "[N, T]") if self.loc_.ndim == 1 else ("[T, C]", "[N, T, C]")
            raise ValueError(
                f"Expected x of shape {layout[series.ndim]} (C={self.loc_.shape[1:]}) for series of shape "
                f"{series.shape}; got {tuple(x.shape)}."
            )
        if series.ndim == 1:  # batched: broadcast over the time axis
            loc, scale = np.expand_dims(loc, 1), np.expand_dims(scale, 1)
        if isinstance(x, torch.Tensor):
            dtype = x.dtype if x.is_floating_point() else torch.float32
            return (
                torch.as_tensor(loc, dtype=dtype, device=x.device),
                torch.as_tensor(scale, dtype=dtype, device=x.device),
            )
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return loc.astype(dtype), scale.astype(dtype)

    @staticmethod
    def _as_array(x: Any) -> Any:  # ndarray or Tensor, the caller's type
        return x if isinstance(x, torch.Tensor) else np.asarray(x)

    def transform(self, x: _Array, series: int | np.ndarray) -> _Array:
        """``(x - loc) / scale`` for series ``series``.

        Parameters
        ----------
        x : ndarray or Tensor
            ``[T]`` / ``[T, C]`` with ``series`` an int, or ``[N, T]`` / ``[N, T, C]`` with ``series`` an
            int array of length ``N`` (one series per row).
        series : int or array of int
            Series positions (as in ``fit``'s list).
        """
        x = self._as_array(x)
        loc, scale = self._params(x, series)
        return (x - loc) / scale

    def inverse_transform(self, x: _Array, series: int | np.ndarray) -> _Array:
        """``x * scale + loc``: the inverse of :meth:`transform` (same shapes)."""
        x = self._as_array(x)
        loc, scale = self._params(x, series)
        return x * scale + loc

    # ------------------------------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state: ``{"method": ..., "loc": nested lists, "scale": nested lists}``."""
        out: dict[str, Any] = {"method": self.method}
        if hasattr(self, "loc_"):
            out["loc"] = self.loc_.tolist()
            out["scale"] = self.scale_.tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeriesScaler:
        """Rebuild a scaler from :meth:`to_dict` output."""
        scaler = cls(d["method"])
        if "loc" in d:
            scaler.loc_ = np.asarray(d["loc"], dtype=np.float64)
            scaler.scale_ = np.asarray(d["scale"], dtype=np.float64)
        return scaler

    def __repr__(self) -> str:
        fitted = f", n_series={len(self.loc_)}" if hasattr(self, "loc_") else ""
        return f"SeriesScaler(method={self.method!r}{fitted})"


# ---------------------------------------------------------------------------------------------- panels
class CovariateScaler:
    """One location and scale per covariate column, shared by every series (a global standardisation).

    Attributes
    ----------
    loc_, scale_ : ndarray
        float64 ``[C]``.  Zero-width when there are no such covariates.

    Examples
    --------
    >>> import numpy as np
    >>> s = CovariateScaler().fit([np.array([[0.0, 5.0], [2.0, 5.0]]), np.array([[4.0, 5.0]])])
    >>> s.loc_.tolist(), s.scale_.round(3).tolist()
    ([2.0, 5.0], [1.633, 5.0])
    """

    def fit(self, arrays: list[np.ndarray], width: int | None = None) -> CovariateScaler:
        """Fit on per-series ``[T_i, C]`` arrays (``width`` = C, needed when ``arrays`` is empty)."""
        width = arrays[0].shape[1] if width is None else width
        rows = [np.asarray(a, dtype=np.float64).reshape(len(a), width) for a in arrays]
        stacked = np.concatenate(rows, axis=0) if rows else np.zeros((0, width))
        if width == 0 or len(stacked) == 0:
            self.loc_, self.scale_ = np.zeros(width), np.ones(width)
            return self
        loc = stacked.mean(axis=0)
        self.loc_, self.scale_ = loc, _floor(stacked.std(axis=0), loc, np.abs(stacked).max(axis=0))
        return self

    def transform(self, a: np.ndarray) -> np.ndarray:
        """``(a - loc) / scale`` over the last axis (float64)."""
        return (np.asarray(a, dtype=np.float64) - self.loc_) / self.scale_

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"loc": self.loc_, "scale": self.scale_}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CovariateScaler:
        out = cls()
        out.loc_ = np.asarray(arrays["loc"], dtype=np.float64).reshape(-1)
        out.scale_ = np.asarray(arrays["scale"], dtype=np.float64).reshape(-1)
        return out


class PanelScaler:
    """The scaling of a whole panel: per-series target statistics and global covariate statistics.

    The one place where a forecaster's inputs are scaled, for training, prediction and backtests alike.

    * **Target**, per series (:class:`SeriesScaler`, fitted on each series' training part).  A series
      that was not seen in ``fit`` gets statistics of the history it comes with: for a window that ends
      at row ``cut``, of rows ``[0, cut)`` -- what :meth:`target_stats` computes, so a backtest never uses
      values after its cutoff.
    * **Covariates** (future-known, past-only, static): one location and scale per column, fitted on the
      training part of every series together (:class:`CovariateScaler`).

    Parameters
    ----------
    method : {"standard", "robust", "none"}
        Target scaling (see :class:`SeriesScaler`).

    Examples
    --------
    >>> import numpy as np
    >>> ps = PanelScaler("standard").fit(["a"], [np.array([1.0, 2.0, 3.0, 100.0])], train_end=[3])
    >>> loc, scale = ps.target_stats(["a", "new"], [np.arange(4.0), np.array([5.0, 7.0, 9.0])],
    ...                               [np.array([4]), np.array([2])])
    >>> loc.tolist(), scale.round(3).tolist()
    ([[2.0], [6.0]], [[0.816], [1.0]])
    """

    def __init__(self, method: str = "standard") -> None:
        self.method = method

    def fit(
        self,
        ids: list,
        target: list[np.ndarray],
        future: list[np.ndarray] | None = None,
        past: list[np.ndarray] | None = None,
        static: np.ndarray | None = None,
        *,
        train_end: list[int] | None = None,
    ) -> PanelScaler:
        """Fit on the first ``train_end[i]`` rows of series ``i`` (all rows when None)."""
        n = len(target)
        ends = [len(t) for t in target] if train_end is None else list(train_end)
        self.ids_ = list(ids)
        self.target_ = SeriesScaler(self.method).fit([t[:e] for t, e in zip(target, ends)])
        future = [np.zeros((len(t), 0)) for t in target] if future is None else future
        past = [np.zeros((len(t), 0)) for t in target] if past is None else past
        static = np.zeros((n, 0)) if static is None else static
        self.future_ = CovariateScaler().fit([f[:e] for f, e in zip(future, ends)], future[0].shape[1])
        self.past_ = CovariateScaler().fit([p[:e] for p, e in zip(past, ends)], past[0].shape[1])
        self.static_ = CovariateScaler().fit([static], static.shape[1])
        return self

    def target_stats(
        self, ids: list, target: list[np.ndarray], cuts: list[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Target location and scale for windows ending at ``cuts[i]`` (exclusive) of series ``ids[i]``.

        Returns float64 ``loc, scale`` of shape ``[N, W]`` (``W = len(cuts[i])``, the same for all).
        Known series: their fitted statistics; unseen series: statistics of ``target[i][:cut]``.
        """
        known = {sid: i for i, sid in enumerate(self.ids_)}
        n_win = len(cuts[0]) if cuts else 0
        loc, scale = np.empty((len(ids), n_win)), np.empty((len(ids), n_win))
        for i, sid in enumerate(ids):
            if sid in known:
                loc[i], scale[i] = self.target_.loc_[known[sid]], self.target_.scale_[known[sid]]
                continue
            fresh = SeriesScaler(self.method).fit([target[i][: int(c)] for c in cuts[i]])
            loc[i], scale[i] = fresh.loc_, fresh.scale_
        return loc, scale

    def scale_covariates(
        self, future: list[np.ndarray], past: list[np.ndarray], static: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """Covariates of any series on the fitted (global) scale, float64."""
        return (
            [self.future_.transform(f) for f in future],
            [self.past_.transform(p) for p in past],
            self.static_.transform(static),
        )

    # ------------------------------------------------------------------------------------- persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(json_part, arrays)``: the method and ids as JSON, the statistics as float64 arrays."""
        arrays = {"target.loc": self.target_.loc_, "target.scale": self.target_.scale_}
        for name in ("future", "past", "static"):
            for key, value in getattr(self, f"{name}_").to_arrays().items():
                arrays[f"{name}.{key}"] = value
        return {"method": self.method}, arrays

    @classmethod
    def from_state(cls, ids: list, json_part: dict[str, Any], arrays: dict[str, np.ndarray]) -> PanelScaler:
        """Inverse of :meth:`to_state` (``ids`` are the fitted series ids, in order)."""
        out = cls(json_part["method"])
        out.ids_ = list(ids)
        out.target_ = SeriesScaler(out.method)
        out.target_.loc_ = np.asarray(arrays["target.loc"], dtype=np.float64)
        out.target_.scale_ = np.asarray(arrays["target.scale"], dtype=np.float64)
        for name in ("future", "past", "static"):
            sub = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"{name}.")}
            setattr(out, f"{name}_", CovariateScaler.from_arrays(sub))
        return out
