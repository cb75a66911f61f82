"""Kernel registry: ``"<form>--<backend>"`` names per cell, capability checks and ``auto``.

Every kernel is registered for one cell (``"mlstm"`` or ``"slstm"``) under a name such as
``"chunkwise--native"``.  Asking for ``"<form>--auto"`` picks the first backend in
:data:`BACKEND_PREFERENCE` whose capability check accepts the device and dtype at hand.
The environment variable ``XLSTM_TS_BACKEND`` (e.g. ``native``) forces one backend for every
``auto`` request, which is handy to rule a fast path out while debugging.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

CELLS = ("mlstm", "slstm")
#: Order in which ``auto`` tries backends; the first whose capability check passes wins.
BACKEND_PREFERENCE = ("triton", "native")
ENV_BACKEND = "XLSTM_TS_BACKEND"


def _always(device: torch.device, dtype: torch.dtype) -> bool:
    return True


def _any_shape(*inputs: torch.Tensor) -> bool:
    return True


@dataclass(frozen=True)
class KernelSpec:
    """One registered kernel.

    ``supports(device, dtype)`` says whether the kernel can run on that device and dtype, and
    ``accepts(*inputs)`` whether it takes these input shapes (e.g. head dims within its limits); the
    ``auto`` resolution skips kernels that cannot.
    """

    cell: str
    form: str
    backend: str
    fn: Callable
    supports: Callable[[torch.device, torch.dtype], bool] = _always
    doc: str = ""
    accepts: Callable[..., bool] = _any_shape

    @property
    def name(self) -> str:
        return f"{self.form}--{self.backend}"


_REGISTRY: dict[tuple[str, str], KernelSpec] = {}


def register_kernel(spec: KernelSpec) -> KernelSpec:
    """Add ``spec`` to the registry (re-registering a name replaces it)."""
    if spec.cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {spec.cell!r}")
    _REGISTRY[(spec.cell, spec.name)] = spec
    return spec


def _check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"Unknown cell {cell!r}; expected one of {CELLS}.")


def available_kernels(cell: str) -> list[str]:
    """Sorted names of the kernels registered for ``cell`` (``"mlstm"`` or ``"slstm"``)."""
    _check_cell(cell)
    return sorted(name for (c, name) in _REGISTRY if c == cell)


def get_kernel(
    cell: str,
    name: str,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    inputs: tuple[torch.Tensor, ...] = (),
) -> KernelSpec:
    """Resolve ``name`` (``"<form>--<backend>"`` or ``"<form>--auto"``) to a :class:`KernelSpec`.

    Raises
    ------
    ValueError
        If the name is not registered for ``cell``, or an explicitly named kernel cannot run on
        ``device``/``dtype`` (or does not accept ``inputs``, the tensors its ``accepts`` check looks
        at).  The message lists the valid names.
    """
    _check_cell(cell)
    device = torch.device(device) if device is not None else torch.device("cpu")
    dtype = dtype if dtype is not None else torch.float32
    form, sep, backend = name.partition("--")
    if not sep:
        raise ValueError(
            f"Kernel name {name!r} is not of the form '<form>--<backend>'. "
            f"Valid {cell} kernels: {available_kernels(cell)} (or '<form>--auto')."
        )
    if backend == "auto":
        forced = os.environ.get(ENV_BACKEND, "").strip()
        order = (forced,) if forced else BACKEND_PREFERENCE
        for candidate in order:
            spec = _REGISTRY.get((cell, f"{form}--{candidate}"))
            if spec is not None and spec.supports(device, dtype) and (not inputs or spec.accepts(*inputs)):
                return spec
        raise ValueError(
            f"No {cell} kernel of form {form!r} can run on device={device}, dtype={dtype}"
            + (f" with {ENV_BACKEND}={forced!r}" if forced else "")
            + f". Registered {cell} kernels: {available_kernels(cell)}."
        )
    spec = _REGISTRY.get((cell, name))
    if spec is None:
        raise ValueError(
            f"Unknown {cell} kernel {name!r}. Valid names: {available_kernels(cell)} (or '<form>--auto')."
        )
    if not spec.supports(device, dtype):
        raise ValueError(f"{cell} kernel {name!r} cannot run on device={device}, dtype={dtype}.")
    if inputs and not spec.accepts(*inputs):
        shapes = [tuple(t.shape) for t in inputs]
        raise ValueError(f"{cell} kernel {name!r} does not take inputs of shapes {shapes}: {spec.doc}")
    return spec
