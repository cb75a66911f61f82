"""Tensor-level xLSTM kernels behind one registry (installed as ``xlstm_ts.kernels``).

The backbone calls only the five operations below; each validates shapes and dispatches to a
registered kernel by its ``"<form>--<backend>"`` name.  ``"<form>--auto"`` picks the fastest kernel
that can run on the inputs' device, dtype and shapes: the Triton kernels on CUDA when Triton is
installed, the native PyTorch kernels otherwise.

Examples
--------
>>> import torch
>>> from xlstm_ts.kernels import mlstm_sequence, available_kernels
>>> "chunkwise--native" in available_kernels("mlstm")
True
>>> q = k = v = torch.randn(2, 4, 10, 16)
>>> i = f = torch.randn(2, 4, 10)
>>> h, state = mlstm_sequence(q, k, v, i, f, return_last_state=True)
>>> h.shape, state.c.shape
(torch.Size([2, 4, 10, 16]), torch.Size([2, 4, 16, 16]))
"""

from __future__ import annotations

import torch

from . import mlstm as _mlstm  # noqa: F401  (registers the mLSTM kernels)
from . import slstm as _slstm  # noqa: F401  (registers the sLSTM kernels)
from ._checks import check_mlstm, check_mlstm_output, check_mlstm_state, check_slstm, check_slstm_state
from ._registry import ENV_BACKEND, KernelSpec, available_kernels, get_kernel, register_kernel
from .states import mLSTMState, sLSTMState


def mlstm_sequence(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    igate: torch.Tensor,
    fgate: torch.Tensor,
    *,
    initial_state: mLSTMState | None = None,
    return_last_state: bool = False,
    chunk_size: int = 64,
    eps: float = 1e-6,
    kernel: str = "chunkwise--auto",
) -> tuple[torch.Tensor, mLSTMState | None]:
    """mLSTM over a sequence of any length.

    Parameters
    ----------
    q, k : torch.Tensor
        ``[B, NH, S, DK]`` queries and keys (q is scaled by ``1/sqrt(DK)`` inside).
    v : torch.Tensor
        ``[B, NH, S, DV]`` values.
    igate, fgate : torch.Tensor
        ``[B, NH, S]`` input- and forget-gate pre-activations (exponential input gate,
        log-sigmoid forget gate).
    initial_state : mLSTMState, optional
        State to continue from; zeros (with ``m = 0``) when omitted.
    return_last_state : bool
        Also return the final state (float32).
    kernel : str
        Registered name, e.g. ``"chunkwise--native"``, or ``"chunkwise--auto"``.

    Returns
    -------
    (h, state)
        ``h`` ``[B, NH, S, DV]`` in the dtype of ``q``; ``state`` or ``None``.
    """
    check_mlstm(q, k, v, igate, fgate, seq=True)
    check_mlstm_state(initial_state, q, v)
    spec = get_kernel("mlstm", kernel, q.device, q.dtype, inputs=(q, v))
    if spec.form == "chunkwise":
        return spec.fn(
            q, k, v, igate, fgate, initial_state, return_last_state, chunk_size=chunk_size, eps=eps
        )
    if spec.form == "recurrent":
        h, state = spec.fn(q, k, v, igate, fgate, initial_state, eps=eps)
        return h, state if return_last_state else None
    if spec.form == "parallel":
        if initial_state is not None or return_last_state:
            raise ValueError(f"kernel {kernel!r} neither accepts nor returns states; use a chunkwise kernel.")
        return spec.fn(q, k, v, igate, fgate, eps=eps), None
    raise ValueError(f"kernel {kernel!r} is not a sequence kernel (forms: chunkwise, recurrent, parallel).")


def mlstm_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    igate: torch.Tensor,
    fgate: torch.Tensor,
    state: mLSTMState | None = None,
    *,
    eps: float = 1e-6,
    kernel: str = "step--auto",
) -> tuple[torch.Tensor, mLSTMState]:
    """One mLSTM step: ``q, k`` ``[B, NH, DK]``, ``v`` ``[B, NH, DV]``, gates ``[B, NH]``.

    Returns ``h`` ``[B, NH, DV]`` and the new state.
    """
    check_mlstm(q, k, v, igate, fgate, seq=False)
    check_mlstm_state(state, q, v)
    spec = get_kernel("mlstm", kernel, q.device, q.dtype, inputs=(q, v))
    return spec.fn(q, k, v, igate, fgate, state, eps=eps)


def mlstm_output(
    h: torch.Tensor,
    x: torch.Tensor,
    z: torch.Tensor,
    weight: torch.Tensor,
    skip: torch.Tensor,
    *,
    eps: float = 1e-5,
    out_dtype: torch.dtype | None = None,
    kernel: str = "output--auto",
) -> torch.Tensor:
    """The output stage of the mLSTM layer: ``(norm(h) * (1 + weight) + skip * x) * silu(z)``.

    Parameters
    ----------
    h : torch.Tensor
        ``[B, S, NH, DH]`` cell outputs, normalised per head over ``DH`` (layer norm without bias).
    x, z : torch.Tensor
        ``[B, S, NH * DH]``: the conv branch (learnable skip) and the output-gate branch.
    weight, skip : torch.Tensor
        ``[NH * DH]``: the norm's scale offset and the skip weights.
    out_dtype : torch.dtype, optional
        Cast the result to this dtype (the layer passes the autocast dtype the down-projection reads).
    kernel : str
        ``"output--native"``, ``"output--triton"`` or ``"output--auto"``.

    Examples
    --------
    >>> h = torch.randn(2, 3, 4, 8)
    >>> x = z = torch.randn(2, 3, 32)
    >>> mlstm_output(h, x, z, torch.zeros(32), torch.ones(32)).shape
    torch.Size([2, 3, 32])
    """
    check_mlstm_output(h, x, z, weight, skip)
    spec = get_kernel("mlstm", kernel, h.device, h.dtype, inputs=(h,))
    return spec.fn(h, x, z, weight, skip, eps, out_dtype)


def slstm_sequence(
    x: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    bias: torch.Tensor,
    *,
    initial_state: sLSTMState | None = None,
    return_last_state: bool = False,
    kernel: str = "sequence--auto",
) -> tuple[torch.Tensor, sLSTMState | None]:
    """sLSTM over a sequence.

    Parameters
    ----------
    x : torch.Tensor
        ``[B, S, NH, 4, DH]`` gate pre-activations from the input projections, gate order i, f, z, o.
    recurrent_kernel : torch.Tensor
        ``[NH, DH_in, 4, DH_out]`` block-diagonal recurrent weights.
    bias : torch.Tensor
        ``[NH, 4, DH]``.

    Returns
    -------
    (h, state)
        ``h`` ``[B, S, NH, DH]`` in the dtype of ``x``; the final state or ``None``.
    """
    check_slstm(x, recurrent_kernel, bias, seq=True)
    check_slstm_state(initial_state, x)
    spec = get_kernel("slstm", kernel, x.device, x.dtype, inputs=(x, recurrent_kernel, bias))
    if spec.form == "recurrent":
        h, state = spec.fn(x, recurrent_kernel, bias, initial_state)
        return h, state if return_last_state else None
    return spec.fn(x, recurrent_kernel, bias, initial_state, return_last_state)


def slstm_step(
    x: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    bias: torch.Tensor,
    state: sLSTMState | None = None,
    *,
    kernel: str = "step--auto",
) -> tuple[torch.Tensor, sLSTMState]:
    """One sLSTM step; ``x`` is ``[B, NH, 4, DH]``. Returns ``h`` ``[B, NH, DH]`` and the new state."""
    check_slstm(x, recurrent_kernel, bias, seq=False)
    check_slstm_state(state, x)
    spec = get_kernel("slstm", kernel, x.device, x.dtype, inputs=(x, recurrent_kernel, bias))
    return spec.fn(x, recurrent_kernel, bias, state)


__all__ = [
    "ENV_BACKEND",
    "KernelSpec",
    "available_kernels",
    "get_kernel",
    "mLSTMState",
    "mlstm_output",
    "mlstm_sequence",
    "mlstm_step",
    "register_kernel",
    "sLSTMState",
    "slstm_sequence",
    "slstm_step",
]
