"""Per-series (local) scaling of the target and covariates.

Each series gets its own location and scale per channel, so series of very different magnitude train
together; ``inverse_transform`` maps forecasts back.

Examples
--------
>>> import numpy as np
>>> from xlstm_ts.data.scaling import SeriesScaler
>>> scaler = SeriesScaler("standard").fit([np.array([1.0, 2.0, 3.0]), np.array([10.0, 10.0, 10.0])])
>>> scaler.loc_.tolist(), scaler.scale_.round(3).tolist()
([2.0, 10.0], [0.816, 1.0])
>>> scaler.transform(np.array([10.0, 12.0]), series=1).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import torch

__all__ = ["SCALING_METHODS", "SeriesScaler"]

SCALING_METHODS = ("standard", "robust", "none")
_Array = TypeVar("_Array", np.ndarray, torch.Tensor)


def _floor(scale: np.ndarray, loc: np.ndarray) -> np.ndarray:
    """Scales too small to divide by (relative to the level, or absolutely) become 1."""
    tiny = 1e-8 * np.maximum(1.0, np.abs(loc))
    return np.where(np.isfinite(scale) & (scale > tiny), scale, 1.0)


class SeriesScaler:
    """Location/scale normalisation fitted separately for every series and channel.

    Parameters
    ----------
    method : {"standard", "robust", "none"}
        ``"standard"``: mean and population standard deviation.  ``"robust"``: median and interquartile
        range (falling back to the standard deviation where the IQR is 0, e.g. intermittent demand).
        ``"none"``: location 0, scale 1.  A scale that is (nearly) zero, e.g. of a constant series,
        becomes 1, so transforming never divides by zero.

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
        locs, scales = [], []
        for i, a in enumerate(arrays):
            if not np.isfinite(a).all():
                raise ValueError(
                    f"SeriesScaler.fit: series {i} contains NaN or inf; fill or drop them first."
                )
            loc, scale = self._stats(a, width)
            locs.append(loc)
            scales.append(scale)
        loc = np.stack(locs)
        self.loc_ = loc
        self.scale_ = _floor(np.stack(scales), loc)
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
    def _as_array(x: Any) -> np.ndarray | torch.Tensor:
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
