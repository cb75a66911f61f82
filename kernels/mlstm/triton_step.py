"""Single-step mLSTM for generation and streaming, fused into one Triton launch.

:func:`mlstm_step_triton` computes exactly the function of
:func:`~xlstm_ts.kernels.mlstm.native.mlstm_step_native` (see ``kernels/README.md`` for the
equations): it reads the previous state once, writes the new state into fresh buffers and produces
``h`` in the same kernel.  Triton is optional: it is imported only when the function runs, so this
module imports fine without it.  On CPU tensors the kernel runs only under Triton's interpreter
(``TRITON_INTERPRET=1`` set before Triton is first imported), which is how the CPU tests run it.
"""

from __future__ import annotations

import contextlib
import math

import torch

from .._checks import check_mlstm, check_mlstm_state
from .._triton_support import launch, pow2, sm_count
from ..states import mLSTMState
from .native import mlstm_step_native

#: Largest memory tile (``BLOCK_DK * BLOCK_DV`` elements) held by one program.
_TILE_ELEMENTS = 8192
#: Narrowest value slice the launch heuristic splits down to when the grid is small (16 float32
#: values, a 64-byte row segment of the memory).
_MIN_SPLIT_DV = 16


def _launch_config(DK: int, DV: int, BH: int, sms: int) -> tuple[int, int, int]:
    """``(BLOCK_DK, BLOCK_DV, num_warps)`` for ``BH`` heads of dims ``DK, DV`` on ``sms`` SMs.

    One program holds the whole (padded) key axis and a slice of the value axis of one head's
    memory.  The slice starts as wide as the tile budget :data:`_TILE_ELEMENTS` allows (wide
    slices read the row-major memory in long contiguous segments), and is halved, down to
    :data:`_MIN_SPLIT_DV`, while the grid would have fewer than two programs per SM (small
    batches in generation).  Large tiles get two warps per program, small tiles one (measured on an
    H100: see docs/benchmarks.md, 'mLSTM launch heuristics').
    """
    block_dk = pow2(DK)
    block_dv = min(pow2(DV, least=1), max(4, _TILE_ELEMENTS // block_dk))
    while block_dv > _MIN_SPLIT_DV and BH * -(-DV // block_dv) < 2 * sms:
        block_dv //= 2
    num_warps = 2 if block_dk * block_dv >= 4096 else 1
    return block_dk, block_dv, num_warps


def _needs_autograd(tensors: list[torch.Tensor]) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def _check_inputs(q, k, v, i, f, state) -> None:
    check_mlstm(q, k, v, i, f, seq=False)
    check_mlstm_state(state, q, v)
    for t in [q, k, v, i, f, *(state or ())]:
        if not t.is_floating_point():
            raise TypeError(f"mlstm_step_triton expects floating-point tensors; got {t.dtype}.")
        if t.device != q.device:
            raise ValueError(f"all tensors must be on one device; got {q.device} and {t.device}.")


# The launch is a torch.library custom op (forward only: calls that need gradients never reach it), so that
# torch.compile sees one opaque op with shapes from the fake implementation instead of the launch code.
def _step_impl(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    c0: torch.Tensor | None,
    n0: torch.Tensor | None,
    m0: torch.Tensor | None,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from ._triton.step import mlstm_step_fwd_kernel

    B, NH, DK = q.shape
    DV = v.shape[-1]
    state = None if c0 is None or n0 is None or m0 is None else (c0, n0, m0)
    BH = B * NH
    # Views with batch and head merged (copies only when the strides do not allow a view).
    q2 = q.reshape(BH, DK)  # [B, NH, DK] -> [B*NH, DK]
    k2 = k.reshape(BH, DK)  # [B, NH, DK] -> [B*NH, DK]
    v2 = v.reshape(BH, DV)  # [B, NH, DV] -> [B*NH, DV]
    i1 = i.reshape(BH)  # [B, NH] -> [B*NH]
    f1 = f.reshape(BH)  # [B, NH] -> [B*NH]

    h = torch.empty(B, NH, DV, dtype=q.dtype, device=q.device)
    c_out = torch.empty(B, NH, DK, DV, dtype=torch.float32, device=q.device)
    n_out = torch.empty(B, NH, DK, dtype=torch.float32, device=q.device)
    m_out = torch.empty(B, NH, 1, dtype=torch.float32, device=q.device)
    h2 = h.view(BH, DV)  # [B, NH, DV] -> [B*NH, DV]
    c_out3 = c_out.view(BH, DK, DV)  # [B, NH, DK, DV] -> [B*NH, DK, DV]
    n_out2 = n_out.view(BH, DK)  # [B, NH, DK] -> [B*NH, DK]
    m_out1 = m_out.view(BH)  # [B, NH, 1] -> [B*NH]

    if state is None:
        # Never read by the kernel (HAS_STATE=False); the output buffers stand in as pointers.
        c3, n2, m1 = c_out3, n_out2, m_out1
    else:
        c, n, m = (t.to(torch.float32) for t in state)
        c3 = c.reshape(BH, DK, DV)  # [B, NH, DK, DV] -> [B*NH, DK, DV]
        n2 = n.reshape(BH, DK)  # [B, NH, DK] -> [B*NH, DK]
        m1 = m.reshape(BH)  # [B, NH, 1] -> [B*NH]

    sms = sm_count(q.device) if q.is_cuda else 1  # the interpreter runs programs one by one
    block_dk, block_dv, num_warps = _launch_config(DK, DV, BH, sms)
    grid = (BH, -(-DV // block_dv))  # (rows, value-column blocks)
    with torch.cuda.device(q.device) if q.is_cuda else contextlib.nullcontext():
        launch(
            mlstm_step_fwd_kernel, grid, q2, k2, v2, i1, f1, c3, n2, m1,
            h2, c_out3, n_out2, m_out1,
            q2.stride(0), q2.stride(1), k2.stride(0), k2.stride(1), v2.stride(0), v2.stride(1),
            i1.stride(0), f1.stride(0),
            c3.stride(0), c3.stride(1), c3.stride(2), n2.stride(0), n2.stride(1), m1.stride(0),
            h2.stride(0), h2.stride(1),
            c_out3.stride(0), c_out3.stride(1), c_out3.stride(2), n_out2.stride(0), n_out2.stride(1),
            m_out1.stride(0),
            DK, DV, 1.0 / math.sqrt(DK), eps,
            HAS_STATE=state is not None,
            BLOCK_DK=block_dk,
            BLOCK_DV=block_dv,
            num_warps=num_warps,
        )  # fmt: skip
    return h, c_out, n_out, m_out


_step_op = torch.library.custom_op("xlstm_ts::mlstm_step_triton", mutates_args=())(_step_impl)


@_step_op.register_fake
def _step_fake(q, k, v, i, f, c0, n0, m0, eps):
    B, NH, DK = q.shape
    DV, f32 = v.shape[-1], torch.float32
    return (
        q.new_empty(B, NH, DV),
        q.new_empty(B, NH, DK, DV, dtype=f32),
        q.new_empty(B, NH, DK, dtype=f32),
        q.new_empty(B, NH, 1, dtype=f32),
    )


def mlstm_step_triton(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    state: mLSTMState | None = None,
    eps: float = 1e-6,
) -> tuple[torch.Tensor, mLSTMState]:
    """One mLSTM step (state update and output) in a single fused Triton kernel.

    Parameters
    ----------
    q, k : torch.Tensor
        ``[B, NH, DK]`` query and key of this step (``q`` is scaled by ``1/sqrt(DK)`` inside).
    v : torch.Tensor
        ``[B, NH, DV]`` value.
    i, f : torch.Tensor
        ``[B, NH]`` input- and forget-gate pre-activations.
    state : mLSTMState, optional
        Previous state ``(c [B, NH, DK, DV], n [B, NH, DK], m [B, NH, 1])``; all zeros (``m = 0``
        included) when omitted.  It is read, never modified.
    eps : float
        Added to the normaliser's denominator.

    Returns
    -------
    h : torch.Tensor
        ``[B, NH, DV]`` in the dtype of ``q``.
    state : mLSTMState
        The new state, float32, in newly allocated tensors.

    Raises
    ------
    ValueError
        On inconsistent shapes or devices.
    RuntimeError
        On CPU tensors when Triton runs compiled (not under ``TRITON_INTERPRET=1``).
    ImportError
        When Triton is not installed.

    Notes
    -----
    The kernel is forward-only.  When gradients are being recorded and any input (or state field)
    requires a gradient, the call is answered by ``mlstm_step_native``, so autograd works and
    gives the same values.  Float64 inputs (whose states are float64 by the project's convention)
    and empty shapes are also answered by the native step; the kernel computes in float32.

    Inputs need not be contiguous: each is viewed with its batch and head axes merged
    (``[B, NH, D] -> [B*NH, D]``), which is free for the usual layouts (e.g. ``x[:, :, t]`` of a
    ``[B, NH, S, D]`` tensor), and the kernel reads through the resulting strides.
    DK up to 256 and DV up to 512 are the tested range; larger heads work with smaller value slices.

    Examples
    --------
    >>> import torch
    >>> from xlstm_ts.kernels.mlstm.triton_step import mlstm_step_triton
    >>> q = torch.randn(1, 2, 8, requires_grad=True)  # gradients requested: the native step answers
    >>> k, v, gate = torch.randn(1, 2, 8), torch.randn(1, 2, 4), torch.zeros(1, 2)
    >>> h, st = mlstm_step_triton(q, k, v, gate, gate)
    >>> h.shape, st.c.shape, st.m.shape
    (torch.Size([1, 2, 4]), torch.Size([1, 2, 8, 4]), torch.Size([1, 2, 1]))
    """
    _check_inputs(q, k, v, i, f, state)
    B, NH, DK = q.shape
    DV = v.shape[-1]
    tensors = [q, k, v, i, f] + ([] if state is None else list(state))
    if _needs_autograd(tensors) or q.dtype == torch.float64 or B * NH * DK * DV == 0:
        return mlstm_step_native(q, k, v, i, f, state, eps=eps)

    try:
        from ._triton.step import mlstm_step_fwd_kernel
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "mlstm_step_triton needs Triton: pip install 'xlstm-ts[triton]' (CUDA builds of torch ship it), "
            "or use the 'step--native' kernel."
        ) from err
    # (the kernel's type is looked at only off CUDA: torch.compile cannot trace ``type`` of a Triton kernel)
    if not q.is_cuda and type(mlstm_step_fwd_kernel).__name__ != "InterpretedFunction":
        raise RuntimeError(
            f"mlstm_step_triton runs on CUDA tensors (or on CPU under TRITON_INTERPRET=1, set before "
            f"Triton is imported); got device {q.device}. Use the 'step--native' kernel instead."
        )

    c0, n0, m0 = (None, None, None) if state is None else state
    # eager calls skip the dispatcher's Python layer (same implementation; see _triton_support.eager_function)
    step = _step_op if torch.compiler.is_compiling() else _step_impl
    h, c_out, n_out, m_out = step(q, k, v, i, f, c0, n0, m0, eps)
    return h, mLSTMState(c_out, n_out, m_out)
