"""Triton sLSTM over a whole sequence: the public wrapper, its custom ops and launch heuristics.

The forward and backward are ``torch.library`` custom ops (``torch.ops.xlstm_ts.slstm_sequence_triton_fwd``
and ``..._bwd``) with fake implementations and registered autograd, so that ``torch.compile`` captures them.

Same contract as :func:`~xlstm_ts.kernels.slstm.native.slstm_sequence_native`: gate pre-activations
``x`` ``[B, S, NH, 4, DH]`` (gate order ``i, f, z, o``; float32, float16 or bfloat16), recurrent kernel
``[NH, DH_in, 4, DH_out]``, bias ``[NH, 4, DH]``, optional float32 initial state, output ``h``
``[B, S, NH, DH]`` in the dtype of ``x`` and a float32 final state.  ``DH <= 256`` (any size: the
kernels pad to a power of two of at least 16 with masks).  The kernels live in
``_triton/sequence_fwd.py`` and ``_triton/sequence_bwd.py`` (state and weights on chip), and
``_triton/sequence_wide.py`` for heads wider than 128 (64 in float32: state through memory, output columns in
blocks); Triton is imported on first use.

Gradients (of ``x``, the recurrent kernel, the bias and every initial-state field, with the loss on the
outputs and/or the final state) are those of autograd through the reference loop, including the
stabiliser path and its ties.  The forward saves the raw pre-activations and the state entering every
step (float32, ``8 * DH`` values per row, head and step); the backward recomputes the gate update from
them.  ``dx`` is the gradient of the raw pre-activations; the bias gradient is its sum over batch and
time, and the recurrent-kernel gradient ``sum_t h_{t-1}^T dx_t`` is formed here from ``dx`` and the saved
states with :func:`~xlstm_ts.kernels._linalg.sum_outer` (the kernel can also accumulate it in registers,
``ACC_DR``, which measured slower: see docs/benchmarks.md, 'sLSTM launch heuristics').
"""

from __future__ import annotations

import torch

from .._linalg import sum_outer
from .._triton_support import (
    TRITON_MODES,
    eager_function,
    halve,
    is_float32_mode,
    launch,
    no_pipelining,
    pow2,
    switch_off,
    triton_mode,
    with_override,
)
from ..states import sLSTMState

#: Largest head dim the Triton kernels take.
MAX_DH = 256
#: Widest heads of the register-resident kernels, by input dtype (float32 first); wider heads run the kernels
#: of ``_triton/sequence_wide.py``.  The four float32 ``[128, 128]`` product operands do not fit in an H100's
#: shared memory even without pipelining (measured: see docs/benchmarks.md, 'sLSTM launch heuristics').
RESIDENT_MAX_DH = (64, 128)
#: Environment variable with a JSON object overriding launch parameters (benchmarks and tests).
LAUNCH_ENV = "XLSTM_TS_SLSTM_LAUNCH"


def _launch(B: int, DH: int, mode: int) -> dict:
    """Block sizes and warps, from a sweep on an H100 (``benchmarks/kernels_slstm_profile.py --configs``;
    never autotuned; the measurement behind each rule: see docs/benchmarks.md, 'sLSTM launch heuristics').

    The time loop is sequential, so the batch block is the smallest ``tl.dot`` allows (16 rows: the most
    programs side by side).  The four ``[DH, DH]`` weight tiles stay in registers while they take at most
    64 KiB.  The forward wants 8 warps from ``DH = 64`` on; the backward too in 16-bit modes, but 4 in
    float32.  Three pipeline stages (Triton's default) beat one or two.  The recurrent-kernel gradient is
    formed outside the kernel (``ACC_DR`` off): accumulating it in registers was slower at every swept shape.
    """
    BDH = pow2(DH)
    f32 = is_float32_mode(mode)
    itemsize = 4 if f32 else 2
    on_chip_max = RESIDENT_MAX_DH[not f32]
    cfg = dict(
        BB=16,
        BDH=BDH,
        RESIDENT=4 * BDH * BDH * itemsize <= 64 * 1024,
        ACC_DR=False,
        warps=4 if BDH <= 32 else 8,  # forward
        warps_bwd=8 if BDH > 64 or (BDH == 64 and not f32) else 4,
        stages=3,
        # wide heads: state through memory, output columns in blocks of BN (16 in float32: larger blocks
        # spill registers; 64 in 16-bit), 8 warps, 3 stages (H100 sweep: see docs/benchmarks.md, 'sLSTM launch
        # heuristics')
        WIDE=on_chip_max < BDH,
        BN=min(BDH, 16 if f32 else 64),
    )
    return with_override(cfg, LAUNCH_ENV)


#: Launch fallbacks: weights re-read every step instead of kept on chip, then no software pipelining of the
#: time loop (at DH = 128 the pipelined weight tiles alone need more than an H100's 227 KiB).
_SMALLER = (switch_off("RESIDENT"), no_pipelining)
#: Launch fallbacks of the wide kernels: no pipelining, then narrower column blocks.
_SMALLER_WIDE = (no_pipelining, halve("BN"))


# The forward and backward are torch.library custom ops, so that torch.compile sees one opaque op per call
# (with shapes from the fake implementations) instead of tracing into the Python launch code.  The forward
# returns h, the final state stacked as one [4, B, NH, DH] tensor (h, c, n, m), and what the backward needs:
# the states entering every step st [NH, S + 1, 4, B, DH] and the raw pre-activations g [NH, S, 4, B, DH]
# (empty unless ``save``).
def _fwd_impl(
    x: torch.Tensor,
    r: torch.Tensor,
    b: torch.Tensor,
    h0: torch.Tensor | None,
    c0: torch.Tensor | None,
    n0: torch.Tensor | None,
    m0: torch.Tensor | None,
    save: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from ._triton.sequence_fwd import slstm_fwd_kernel

    B, S, NH, _, DH = x.shape
    mode = triton_mode(x.dtype)
    cfg = _launch(B, DH, mode)
    dev, f32 = x.device, torch.float32
    xc, rc, bc = x.contiguous(), r.contiguous(), b.contiguous()
    init = [t.contiguous() for t in (h0, c0, n0, m0) if t is not None]
    has_init = len(init) == 4  # the wrapper passes all four fields or none
    if not has_init:
        init = [torch.empty(0, device=dev)] * 4
    h = torch.empty(B, S, NH, DH, device=dev, dtype=x.dtype)
    final = torch.empty(4, B, NH, DH, device=dev, dtype=f32)  # (h, c, n, m)
    if save:
        st = torch.empty(NH, S + 1, 4, B, DH, device=dev, dtype=f32)
        g = torch.empty(NH, S, 4, B, DH, device=dev, dtype=f32)
    else:
        st, g = torch.empty(0, device=dev, dtype=f32), torch.empty(0, device=dev, dtype=f32)
    grid = (-(-B // cfg["BB"]), NH)
    if cfg["WIDE"]:
        from ._triton.sequence_wide import slstm_fwd_wide_kernel

        launch(
            slstm_fwd_wide_kernel, grid,
            xc, rc, bc, *init, h, st, g, final, B, S, NH, DH,
            BB=cfg["BB"], BDH=cfg["BDH"], BN=cfg["BN"], HAS_INIT=has_init, SAVE=save, MODE=mode,
            num_warps=cfg["warps"], num_stages=cfg["stages"], fallbacks=_SMALLER_WIDE,
        )  # fmt: skip
    else:
        launch(
            slstm_fwd_kernel, grid,
            xc, rc, bc, *init, h, st, g, final, B, S, NH, DH,
            BB=cfg["BB"], BDH=cfg["BDH"], HAS_INIT=has_init, SAVE=save, RESIDENT=cfg["RESIDENT"], MODE=mode,
            num_warps=cfg["warps"], num_stages=cfg["stages"], fallbacks=_SMALLER,
        )  # fmt: skip
    return h, final, st, g


_fwd_op = torch.library.custom_op("xlstm_ts::slstm_sequence_triton_fwd", mutates_args=())(_fwd_impl)


@_fwd_op.register_fake
def _fwd_fake(x, r, b, h0, c0, n0, m0, save):
    B, S, NH, _, DH = x.shape
    f32 = torch.float32
    if save:
        st, g = x.new_empty(NH, S + 1, 4, B, DH, dtype=f32), x.new_empty(NH, S, 4, B, DH, dtype=f32)
    else:
        st, g = x.new_empty(0, dtype=f32), x.new_empty(0, dtype=f32)
    return x.new_empty(B, S, NH, DH), x.new_empty(4, B, NH, DH, dtype=f32), st, g


def _bwd_impl(
    dh: torch.Tensor,
    dfinal: torch.Tensor,
    r: torch.Tensor,
    st: torch.Tensor,
    g: torch.Tensor,
    x_dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(dx, dr, db, dinit)`` from ``dh`` ``[B, S, NH, DH]`` and ``dfinal`` ``[4, B, NH, DH]``; ``dinit`` is
    ``[4, B, NH, DH]`` (the gradient of each initial-state field), ``dx`` in ``x_dtype``, ``dr`` and ``db``
    in float32."""
    from ._triton.sequence_bwd import slstm_bwd_kernel

    B, S, NH, DH = dh.shape
    mode = triton_mode(x_dtype)
    cfg = _launch(B, DH, mode)
    dev, f32 = r.device, torch.float32
    rc = r.contiguous()
    dfinal = dfinal.to(f32).contiguous()
    nbb = -(-B // cfg["BB"])
    dx = torch.empty(B, S, NH, 4, DH, device=dev, dtype=f32)
    dinit = torch.empty(4, B, NH, DH, device=dev, dtype=f32)
    acc_dr = cfg["ACC_DR"] and not cfg["WIDE"]  # only the on-chip kernels can accumulate dR
    if cfg["WIDE"]:
        from ._triton.sequence_wide import slstm_bwd_wide_kernel

        launch(
            slstm_bwd_wide_kernel, (nbb, NH),
            rc, st, g, dh.contiguous(), dfinal, dx, dinit, B, S, NH, DH,
            BB=cfg["BB"], BDH=cfg["BDH"], BN=cfg["BN"], MODE=mode,
            num_warps=cfg["warps_bwd"], num_stages=cfg["stages"], fallbacks=_SMALLER_WIDE,
        )  # fmt: skip
    else:
        dr_blocks = torch.empty(nbb, NH, DH, 4, DH, device=dev, dtype=f32) if acc_dr else dx.new_empty(0)
        launch(
            slstm_bwd_kernel, (nbb, NH),
            rc, st, g, dh.contiguous(), dfinal, dx, dr_blocks, dinit, B, S, NH, DH,
            BB=cfg["BB"], BDH=cfg["BDH"], RESIDENT=cfg["RESIDENT"], ACC_DR=acc_dr, MODE=mode,
            num_warps=cfg["warps_bwd"], num_stages=cfg["stages"], fallbacks=_SMALLER,
        )  # fmt: skip
    db = dx.sum((0, 1))  # [B, S, NH, 4, DH] -> [NH, 4, DH]
    if acc_dr:
        dr = dr_blocks.sum(0)  # [NBB, NH, DH, 4, DH] -> [NH, DH, 4, DH]
    else:
        # dR[h] = sum over steps and rows of h_{t-1}^T draw_t, split over the S*B rows (see _linalg)
        h_prev = st[:, :S, 0].reshape(NH, S * B, DH)  # [NH, S, B, DH] -> [NH, S*B, DH]
        # [B, S, NH, 4, DH] -> [NH, S, B, 4, DH] -> [NH, S*B, 4*DH]
        draw = dx.permute(2, 1, 0, 3, 4).reshape(NH, S * B, 4 * DH)
        dr = sum_outer(h_prev, draw)  # [NH, DH, 4*DH]
        dr = dr.view(NH, DH, 4, DH)  # [NH, DH, 4*DH] -> [NH, DH, 4, DH]
    return dx.to(x_dtype), dr, db, dinit


_bwd_op = torch.library.custom_op("xlstm_ts::slstm_sequence_triton_bwd", mutates_args=())(_bwd_impl)


@_bwd_op.register_fake
def _bwd_fake(dh, dfinal, r, st, g, x_dtype):
    B, S, NH, DH = dh.shape
    f32 = torch.float32
    return (
        dh.new_empty(B, S, NH, 4, DH, dtype=x_dtype),
        dh.new_empty(NH, DH, 4, DH, dtype=f32),
        dh.new_empty(NH, 4, DH, dtype=f32),
        dh.new_empty(4, B, NH, DH, dtype=f32),
    )


def _setup_context(ctx, inputs, output) -> None:
    x, r, b, h0 = inputs[:4]
    h, final, st, g = output
    ctx.shapes = (h.shape, final.shape)
    ctx.meta = (h0 is not None, x.dtype, r.dtype, b.dtype)
    ctx.save_for_backward(r, st, g)


def _backward_through(bwd):
    """The backward of the forward op, running the backward as ``bwd`` (the custom op, or its implementation)."""

    def backward(ctx, dh, dfinal, _dst, _dg):
        r, st, g = ctx.saved_tensors
        has_init, x_dtype, r_dtype, b_dtype = ctx.meta
        if st.numel() == 0:
            raise RuntimeError(
                "slstm_sequence_triton: the forward ran without saving (no input required grad)."
            )
        h_shape, final_shape = ctx.shapes
        dh = torch.zeros(h_shape, device=r.device, dtype=x_dtype) if dh is None else dh
        dfinal = torch.zeros(final_shape, device=r.device, dtype=torch.float32) if dfinal is None else dfinal
        dx, dr, db, dinit = bwd(dh, dfinal, r, st, g, x_dtype)
        d_init = list(dinit.unbind(0)) if has_init else [None] * 4
        return dx, dr.to(r_dtype), db.to(b_dtype), *d_init, None

    return backward


_fwd_op.register_autograd(_backward_through(_bwd_op), setup_context=_setup_context)
#: Outside torch.compile: the same implementations and context without the dispatcher's Python layer (see
#: ``eager_function``); ``h`` and the final state get gradients.
_EagerFwd = eager_function(_fwd_impl, _setup_context, _backward_through(_bwd_impl), differentiable=2)


def slstm_sequence_triton(
    x: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    bias: torch.Tensor,
    initial_state: sLSTMState | None = None,
    return_last_state: bool = False,
) -> tuple[torch.Tensor, sLSTMState | None]:
    """sLSTM over a whole sequence on Triton kernels; returns ``h`` ``[B, S, NH, DH]`` and the state.

    Parameters
    ----------
    x : torch.Tensor
        Gate pre-activations from the input projections, ``[B, S, NH, 4, DH]`` in gate order
        ``(i, f, z, o)``; float32, float16 or bfloat16, ``DH <= 256``.
    recurrent_kernel : torch.Tensor
        ``[NH, DH_in, 4, DH_out]``.
    bias : torch.Tensor
        ``[NH, 4, DH]``.
    initial_state : sLSTMState, optional
        ``(h, c, n, m)``, each ``[B, NH, DH]`` (taken as float32); zeros when omitted.
    return_last_state : bool
        Also return the final state (float32).

    Examples
    --------
    Runs on a CUDA device, or on the CPU under ``TRITON_INTERPRET=1``:

    >>> import torch
    >>> from xlstm_ts.kernels.slstm import slstm_sequence_native
    >>> if torch.cuda.is_available():
    ...     x = torch.randn(2, 50, 2, 4, 32, device="cuda")
    ...     r = 0.1 * torch.randn(2, 32, 4, 32, device="cuda")
    ...     b = torch.zeros(2, 4, 32, device="cuda")
    ...     h, _ = slstm_sequence_triton(x, r, b)
    ...     h_ref, _ = slstm_sequence_native(x, r, b)
    ...     assert torch.allclose(h, h_ref, atol=1e-4)
    """
    B, S, NH, G, DH = x.shape
    if x.dtype not in TRITON_MODES:
        raise TypeError(f"sequence--triton takes float32, float16 or bfloat16 inputs; got {x.dtype}.")
    if G != 4 or DH > MAX_DH:
        raise ValueError(
            f"sequence--triton takes x [B, S, NH, 4, DH] with DH <= {MAX_DH}; got {tuple(x.shape)}."
        )
    f32 = torch.float32
    init = None if initial_state is None else [t.to(f32) for t in initial_state]
    if S == 0:
        h = x.new_zeros(B, 0, NH, DH)
        if not return_last_state:
            return h, None
        if init is None:
            init = [torch.zeros(B, NH, DH, device=x.device, dtype=f32) for _ in range(4)]
        return h, sLSTMState(*init)
    tensors = (x, recurrent_kernel, bias) + (tuple(init) if init is not None else ())
    save = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    init_args = init if init is not None else [None] * 4
    fwd = _fwd_op if torch.compiler.is_compiling() else _EagerFwd.apply
    h, final, _, _ = fwd(x, recurrent_kernel, bias, *init_args, save)
    state = final.unbind(0)  # [4, B, NH, DH] -> h, c, n, m
    return h, (sLSTMState(*state) if return_last_state else None)


def slstm_step_triton(
    x: torch.Tensor,
    recurrent_kernel: torch.Tensor,
    bias: torch.Tensor,
    state: sLSTMState | None = None,
) -> tuple[torch.Tensor, sLSTMState]:
    """One sLSTM step in one launch (the sequence kernel over ``S = 1``); ``x`` is ``[B, NH, 4, DH]``.

    Returns ``h`` ``[B, NH, DH]`` (dtype of ``x``) and the new float32 state; differentiable like
    :func:`slstm_sequence_triton`.
    """
    h, new_state = slstm_sequence_triton(x[:, None], recurrent_kernel, bias, state, return_last_state=True)
    assert new_state is not None
    return h[:, 0], new_state


def triton_accepts(x: torch.Tensor, *_rest: torch.Tensor) -> bool:
    """Shape check for the registry (sequence ``[B, S, NH, 4, DH]`` or step ``[B, NH, 4, DH]`` inputs): head
    dims up to :data:`MAX_DH`."""
    return x.shape[-1] <= MAX_DH


__all__ = ["MAX_DH", "slstm_sequence_triton", "slstm_step_triton", "triton_accepts"]
