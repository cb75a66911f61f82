"""Triton chunkwise mLSTM: the public wrapper, its custom ops (``torch.ops.xlstm_ts.mlstm_chunkwise_triton_fwd``
and ``..._bwd``, with fake implementations and registered autograd) and the launch heuristics.

Same contract as :func:`~xlstm_ts.kernels.mlstm.native.mlstm_chunkwise_native` (any length, initial
state in, float32 final state out, gradients for ``q, k, v``, both gates and every initial-state field),
for float32, float16 and bfloat16 inputs with ``DK <= 256`` and ``DV <= 512``.  The Triton kernels live
in ``_triton/chunkwise_fwd.py`` and ``_triton/chunkwise_bwd.py``; Triton is imported on first use, so
this module imports without it.

Gradients are those of the forward function itself (what autograd through the float64 reference
gives), including the paths through the normaliser ``max(|q.n|, exp(-m))`` and through the stabiliser
``m``.  The matrix parts run in the kernels, and so do the per-step reductions for the gate and stabiliser
gradients (``O(S)`` work per head, ``mlstm_bwd_gates_kernel``; :func:`gate_gradients_reference` is the same
computation in PyTorch, for the tests):

* query side ``A_t = q_t . dq_t`` and key side ``B_j = k_j . dk_j`` are the gradients of the log weights
  ``F_t - F_j + i_j`` summed over keys and over queries, so ``d i_j = B_j`` and ``dF_t = A_t - B_t``
  (``F`` the running sum of log forget gates; ``d log f`` is the reverse running sum of ``dF``);
* the output depends on ``m_t`` only through ``eps``: ``d loss / d m_t = eps * rho_t`` with
  ``rho_t = -(dh_t . h_t) / den_t``; ``m_t = max(F_t + m_0, max_j (F_t - F_j + i_j))`` routes that to
  ``F_t`` and to the arg-max key (or to ``m_0``), found with a running maximum in float64.
"""

from __future__ import annotations

import functools
import math
import os

import torch
import torch.nn.functional as F

from .._triton_support import (
    TRITON_MODES,
    eager_function,
    halve,
    is_float32_mode,
    launch,
    no_pipelining,
    pow2,
    sm_count,
    triton_mode,
    with_override,
)
from ..states import mLSTMState

#: Largest head dims the Triton kernels take (registers hold a ``DK x block`` tile of the memory).
MAX_DK, MAX_DV = 256, 512
#: Environment variable with a JSON object overriding launch parameters (for benchmarks/kernels_mlstm_profile.py).
LAUNCH_ENV = "XLSTM_TS_MLSTM_LAUNCH"


def _launch(BH: int, S: int, DK: int, DV: int, chunk_size: int, device: torch.device, mode: int) -> dict:
    """Tile sizes, warps and pipelining depth, by heuristics measured on an H100 (never autotuned).

    The sweeps behind them (``benchmarks/kernels_mlstm_profile.py --configs``) and the measurement behind each
    rule below are in docs/benchmarks.md, 'mLSTM launch heuristics'.  Looked up once per shape (and override):
    the forward and the backward of every call need it.
    """
    key = (BH, S, DK, DV, chunk_size, device, mode, os.environ.get(LAUNCH_ENV))
    if all(type(d) is int for d in (BH, S, DK, DV)):
        return dict(_launch_cached(*key))
    return _launch_rules(*key)  # symbolic sizes (torch.compile's fake tensors) are not hashable


def _launch_rules(
    BH: int, S: int, DK: int, DV: int, chunk_size: int, device: torch.device, mode: int, override: str | None
) -> dict:
    BDK = pow2(DK)
    L = min(pow2(min(chunk_size, 128)), pow2(S))
    if mode == 0:
        # float32 operands: the exact-float32 products of [L, L] and [L, DK] tiles run on CUDA cores and spill
        # registers at L = 64, so chunk tiles are capped at 16 (measured at DK = 64; larger heads hold more
        # per tile, so they get the same cap).  Any L gives the same result up to rounding.
        # (measured: see docs/benchmarks.md, 'mLSTM launch heuristics')
        L = min(L, 16)
    elif is_float32_mode(mode):
        # float32 operands with TF32 products (tensor cores): 32-step chunks at DK <= 64, 64 from DK = 128 on,
        # where 16 was 5x slower (measured: see docs/benchmarks.md, 'mLSTM launch heuristics')
        L = min(L, 32 if BDK <= 64 else 64)
    cfg = dict(L=L, BDK=BDK)
    # dk/dv kernel (full DK per program, loop over value blocks): 8 warps; at DK = 256 blocks of 64 values
    # without pipelining (measured faster: see docs/benchmarks.md, 'mLSTM launch heuristics')
    # (float32 operands double the shared memory of a stage: one stage only from DK = 128 up)
    pipelined = BDK <= 64 or (BDK <= 128 and mode == 2)
    cfg.update(BDV=min(pow2(DV), 64), warps=4 if BDK <= 64 else 8, stages=3 if pipelined else 1)
    if is_float32_mode(mode) and mode != 0 and BDK >= 128:
        cfg["BDV"] = min(
            pow2(DV), 32
        )  # TF32 products at 64-step chunks: value blocks of 32 (measured faster)
    # output and dq kernels: 4 warps (faster than 8 at every benchmark shape: see docs/benchmarks.md,
    # 'mLSTM launch heuristics').  In 16 bits the output kernel takes 128 values per program at DK = 256 too,
    # and the dq kernel 32 at DK <= 64 (both measured faster on the H200: docs/benchmarks.md, fourth pass)
    sixteen = not is_float32_mode(mode)
    cfg.update(
        BDV_O=min(pow2(DV), 128 if BDK <= 128 or sixteen else 64),
        BDK_Q=min(BDK, 128),
        BDV_Q=min(pow2(DV), 32 if BDK <= 64 and sixteen else 64),
    )
    cfg.update(warps_O=4, warps_Q=4)
    # the two recurrences over chunks: [64, 128] memory tiles when that still gives ~1.5 programs per SM
    # (their time is set by how many run at once), else [64, 64]; 4 warps
    wide_v = min(pow2(DV), 128)
    wide = BH * -(-DK // 64) * -(-DV // wide_v) >= 1.5 * sm_count(device)
    cfg.update(BDK_T=min(BDK, 64), BDV_T=wide_v if wide else min(pow2(DV), 64), warps_T=4, stages_T=3)
    # the forward in one kernel (``fused``: the whole DK and a [DK, BDV_F] slice of the memory per program, the
    # chunks in order) or in two (the recurrence, then the outputs in parallel over chunks).  One kernel only for
    # small heads and at most 8 chunks: there it saves a launch for about the same GPU time; for longer sequences
    # or larger heads its serial walk was 2-7x slower (H200 sweep: docs/benchmarks.md, fifth pass)
    cfg.update(
        fused=int(BDK <= 64 and -(-S // L) <= 8),
        BDV_F=min(pow2(DV), 64 if BDK <= 128 else 32),
        warps_F=4 if BDK <= 64 else 8,
        stages_F=1,
    )
    cfg = with_override(cfg, LAUNCH_ENV)  # (``override`` is that variable's value: part of the cache key)
    # never one kernel at DK > 128, override or not: at DK = 256 its inference variant (STORE off) faulted with
    # an illegal memory access under one pipelining stage on the H200 (Triton 3.6; docs/benchmarks.md, fifth pass)
    cfg["fused"] = int(bool(cfg["fused"]) and BDK <= 128)
    return cfg


_launch_cached = functools.lru_cache(maxsize=256)(_launch_rules)


#: Steps per block of the gate-gradient kernel (one program per head walks the sequence twice in such blocks).
_GATE_BLOCK = 512
#: Launch fallbacks of the kernels that take a block of values (for the two that loop over value blocks,
#: ``BDV`` only sets their loop step; the forward kernels then run more programs: their grid is a function
#: of the launch parameters).
_SMALLER = (no_pipelining, halve("BDV"))


def _heads_inner(t: torch.Tensor) -> bool:
    """Whether a ``[B, NH, S, D]`` tensor is stored as ``[B, S, NH, D]`` (a per-head view of a ``[B, S, NH * D]``
    projection, the layer's layout) and not contiguous: the other layout the kernels read (``HEADS_INNER``)."""
    _, NH, S, D = t.shape
    return not t.is_contiguous() and tuple(t.stride()) == (S * NH * D, D, NH * D, 1)


def _in_layout(t: torch.Tensor, heads_inner: bool) -> torch.Tensor:
    """``t`` (``[B, NH, S, D]``) in the layout the kernels read for this call: copied only when it is in another."""
    if not heads_inner:
        return t.contiguous()
    return t if _heads_inner(t) else t.transpose(1, 2).contiguous().transpose(1, 2)


def _empty_heads(
    like: torch.Tensor, D: int, heads_inner: bool, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """An uninitialised ``[B, NH, S, D]`` tensor in the call's layout (the forward's ``h``, the gradients)."""
    B, NH, S = like.shape[:3]
    if heads_inner:
        return like.new_empty(B, S, NH, D, dtype=dtype).transpose(1, 2)
    return like.new_empty(B, NH, S, D, dtype=dtype)


def _gates(i: torch.Tensor, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int, int, int]]:
    """The gates as the kernels read them, through their strides (the layer's are slices of one transposed
    product); both copied to contiguous only when their strides differ."""
    if tuple(i.stride()) != tuple(f.stride()):
        i, f = i.contiguous(), f.contiguous()
    sb, sh, ss = i.stride()
    return i, f, (i.shape[1], sb, sh, ss)


def _flat_state(
    c0: torch.Tensor | None,
    n0: torch.Tensor | None,
    m0: torch.Tensor | None,
    BH: int,
    DK: int,
    DV: int,
    none: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The initial state as the kernels read it (float32, heads flattened), or ``none`` (an empty tensor that
    stands for every absent argument of a call) three times."""
    f32 = torch.float32
    if c0 is None or n0 is None or m0 is None:
        return none, none, none
    return (
        c0.reshape(BH, DK, DV).to(f32).contiguous(),  # [B, NH, DK, DV] -> [BH, DK, DV]
        n0.reshape(BH, DK).to(f32).contiguous(),
        m0.reshape(BH).to(f32).contiguous(),  # [B, NH, 1] -> [BH]
    )


def _saved_shapes(q: torch.Tensor, v: torch.Tensor, chunk_size: int) -> tuple[dict, int, torch.dtype]:
    """Launch config, chunk count and dtype of the chunk-entry memories (shared by the op and its fake)."""
    B, NH, S, DK = q.shape
    mode = triton_mode(q.dtype)
    cfg = _launch(B * NH, S, DK, v.shape[-1], chunk_size, q.device, mode)
    # chunk-entry memories: bfloat16 inputs multiply them in bfloat16 anyway, so they are kept in it
    return cfg, -(-S // cfg["L"]), torch.bfloat16 if mode == 2 else torch.float32


def _forward(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    c0: torch.Tensor | None,
    n0: torch.Tensor | None,
    m0: torch.Tensor | None,
    chunk_size: int,
    eps: float,
    saved: bool,
) -> tuple[torch.Tensor, ...]:
    """``h`` and the final state ``(c, n, m)``, then (``saved``) what the backward needs."""
    from ._triton.chunkwise_fwd import mlstm_fwd_fused_kernel, mlstm_fwd_out_kernel, mlstm_fwd_states_kernel

    B, NH, S, DK = q.shape
    DV = v.shape[-1]
    BH = B * NH
    mode = triton_mode(q.dtype)
    cfg, NC, c_s_dtype = _saved_shapes(q, v, chunk_size)
    L = cfg["L"]
    dev, f32 = q.device, torch.float32
    inner = _heads_inner(q)
    q, k, v = (_in_layout(t, inner) for t in (q, k, v))
    i, f, gate_strides = _gates(i, f)
    has_init = c0 is not None
    none = torch.empty(0, device=dev, dtype=f32)  # every absent argument
    c0f, n0f, m0f = _flat_state(c0, n0, m0, BH, DK, DV, none)
    c_t = torch.empty(BH, DK, DV, device=dev, dtype=f32)
    n_t = torch.empty(BH, DK, device=dev, dtype=f32)
    m_t = torch.empty(BH, device=dev, dtype=f32)
    h = _empty_heads(q, DV, inner)
    scale = 1.0 / math.sqrt(DK)
    fused = bool(cfg["fused"])
    if saved or not fused:  # (the two-kernel forward passes the chunk-entry memories between its kernels)
        c_s = torch.empty(BH, NC, DK, DV, device=dev, dtype=c_s_dtype)
        n_s = torch.empty(BH, NC, DK, device=dev, dtype=f32)
        m_s = torch.empty(BH, NC, device=dev, dtype=f32)
        m_out = torch.empty(BH, S, device=dev, dtype=f32)
        qn = torch.empty(BH, S, device=dev, dtype=f32)
    else:  # nothing is kept: only the dtype of C_S is read (the memory's operand dtype in the output product)
        c_s = none if c_s_dtype == f32 else torch.empty(0, device=dev, dtype=c_s_dtype)
        n_s = m_s = m_out = qn = none
    if fused:
        launch(
            mlstm_fwd_fused_kernel, lambda meta: (-(-DV // meta["BDV"]), BH),
            q, k, v, i, f, c0f, n0f, m0f, h, m_out, qn, c_s, n_s, m_s, c_t, n_t, m_t, S, DK, DV, NC, *gate_strides,
            scale, eps,
            L=L, BDK=cfg["BDK"], BDV=cfg["BDV_F"], HAS_INIT=has_init, STORE=saved, MODE=mode, HEADS_INNER=inner,
            num_warps=cfg["warps_F"], num_stages=cfg["stages_F"], fallbacks=_SMALLER,
        )  # fmt: skip
    else:
        grid = (-(-DK // cfg["BDK_T"]), -(-DV // cfg["BDV_T"]), BH)
        launch(
            mlstm_fwd_states_kernel, grid, k, v, i, f, c0f, n0f, m0f, c_s, n_s, m_s, c_t, n_t, m_t, S, DK, DV, NC,
            *gate_strides,
            L=L, BDK=cfg["BDK_T"], BDV=cfg["BDV_T"], HAS_INIT=has_init, MODE=mode, HEADS_INNER=inner,
            num_warps=cfg["warps_T"], num_stages=cfg["stages_T"],
        )  # fmt: skip
        launch(
            mlstm_fwd_out_kernel, lambda meta: (-(-DV // meta["BDV"]), NC, BH), q, k, v, i, f, c_s, n_s, m_s, h, m_out, qn, S, DK, DV, NC, *gate_strides,
            scale, eps,
            L=L, BDK=cfg["BDK"], BDV=cfg["BDV_O"], MODE=mode, HEADS_INNER=inner, num_warps=cfg["warps_O"],
            fallbacks=_SMALLER,
        )  # fmt: skip
    final = (c_t.view(B, NH, DK, DV), n_t.view(B, NH, DK), m_t.view(B, NH, 1))
    return (h, *final, m_out, qn, c_s, n_s, m_s) if saved else (h, *final)  # h in the layout of q


# The forward and backward are torch.library custom ops, so that torch.compile sees one opaque op per
# call (with shapes from the fake implementations) instead of tracing into the Python launch code; eager calls
# run the same implementations through ``_EagerFwd`` (below), without the dispatcher's Python layer.
# Besides h and the final state, the forward returns what the backward needs: m_out, qn [BH, S] and the
# chunk-entry memories c_s [BH, NC, DK, DV], n_s [BH, NC, DK], m_s [BH, NC].  Without gradients the
# inference op runs instead: it returns h and the final state only, and keeps nothing.
def _fwd_impl(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    c0: torch.Tensor | None,
    n0: torch.Tensor | None,
    m0: torch.Tensor | None,
    chunk_size: int,
    eps: float,
) -> tuple[
    torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
    torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
]:  # fmt: skip
    return _forward(q, k, v, i, f, c0, n0, m0, chunk_size, eps, saved=True)  # type: ignore[return-value]


def _infer_impl(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    c0: torch.Tensor | None,
    n0: torch.Tensor | None,
    m0: torch.Tensor | None,
    chunk_size: int,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    return _forward(q, k, v, i, f, c0, n0, m0, chunk_size, eps, saved=False)  # type: ignore[return-value]


_fwd_op = torch.library.custom_op("xlstm_ts::mlstm_chunkwise_triton_fwd", mutates_args=())(_fwd_impl)


@_fwd_op.register_fake
def _fwd_fake(q, k, v, i, f, c0, n0, m0, chunk_size, eps):
    B, NH, S, DK = q.shape
    DV, BH, f32 = v.shape[-1], B * NH, torch.float32
    _, NC, c_s_dtype = _saved_shapes(q, v, chunk_size)
    return (
        _empty_heads(q, DV, _heads_inner(q)),
        q.new_empty(B, NH, DK, DV, dtype=f32),
        q.new_empty(B, NH, DK, dtype=f32),
        q.new_empty(B, NH, 1, dtype=f32),
        q.new_empty(BH, S, dtype=f32),
        q.new_empty(BH, S, dtype=f32),
        q.new_empty(BH, NC, DK, DV, dtype=c_s_dtype),
        q.new_empty(BH, NC, DK, dtype=f32),
        q.new_empty(BH, NC, dtype=f32),
    )


_infer_op = torch.library.custom_op("xlstm_ts::mlstm_chunkwise_triton_infer", mutates_args=())(_infer_impl)


@_infer_op.register_fake
def _infer_fake(q, k, v, i, f, c0, n0, m0, chunk_size, eps):
    return _fwd_fake(q, k, v, i, f, c0, n0, m0, chunk_size, eps)[:4]


def _bwd_impl(
    dh: torch.Tensor,
    dc_t: torch.Tensor | None,
    dn_t: torch.Tensor | None,
    dm_t: torch.Tensor | None,
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    c0: torch.Tensor | None,
    n0: torch.Tensor | None,
    m0: torch.Tensor | None,
    h4: torch.Tensor,
    c_t4: torch.Tensor,
    n_t4: torch.Tensor,
    m_t4: torch.Tensor,
    m_out: torch.Tensor,
    qn: torch.Tensor,
    c_s: torch.Tensor,
    n_s: torch.Tensor,
    m_s: torch.Tensor,
    chunk_size: int,
    eps: float,
) -> tuple[
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
]:
    """Gradients of q, k, v, i, f and of the initial state (empty tensors when there is none)."""
    from ._triton.chunkwise_bwd import (
        mlstm_bwd_dstates_kernel,
        mlstm_chunkwise_bwd_dkdv_kernel,
        mlstm_chunkwise_bwd_dq_kernel,
    )

    B, NH, S, DK = q.shape
    DV = v.shape[-1]
    BH, dev, f32 = B * NH, q.device, torch.float32
    dtype = q.dtype
    cfg, NC, _ = _saved_shapes(q, v, chunk_size)
    inner = _heads_inner(q)
    q, k, v, h, dh = (_in_layout(t, inner) for t in (q, k, v, h4, dh))
    i, f, gate_strides = _gates(i, f)
    c_t, n_t = c_t4.reshape(BH, DK, DV), n_t4.reshape(BH, DK)
    m_t = m_t4.reshape(BH)
    has_init = c0 is not None
    none = torch.empty(0, device=dev, dtype=f32)  # every absent argument
    c0f, n0f, m0f = _flat_state(c0, n0, m0, BH, DK, DV, none)
    scale = 1.0 / math.sqrt(DK)
    has_dfinal = dc_t is not None or dn_t is not None
    if has_dfinal:  # (the kernel reads them only then)
        dc_tf = (dc_t if dc_t is not None else torch.zeros_like(c_t)).reshape(BH, DK, DV).to(f32).contiguous()
        dn_tf = (dn_t if dn_t is not None else torch.zeros_like(n_t)).reshape(BH, DK).to(f32).contiguous()
    else:
        dc_tf = dn_tf = none

    mode = triton_mode(dtype)
    n_kb = -(-DK // cfg["BDK_Q"])
    dq = _empty_heads(q, DK, inner)
    den = torch.empty(BH, S, device=dev, dtype=f32)
    rho = torch.empty(BH, S, device=dev, dtype=f32)
    eta = torch.empty(BH, S, device=dev, dtype=f32)
    qdq = torch.empty(n_kb, BH, S, device=dev, dtype=f32)
    launch(
        mlstm_chunkwise_bwd_dq_kernel,
        (n_kb, NC, BH),
        q, k, v, i, f, h, dh, qn, m_out, c_s, n_s, m_s, dq, den, rho, eta, qdq, S, DK, DV, NC, *gate_strides,
        scale, eps,
        L=cfg["L"], BDK=cfg["BDK_Q"], BDV=cfg["BDV_Q"], MODE=mode, HEADS_INNER=inner, num_warps=cfg["warps_Q"],
        fallbacks=_SMALLER,
    )  # fmt: skip
    d_s = torch.empty(BH, NC, DK, DV, device=dev, dtype=c_s.dtype)
    dn_s = torch.empty(BH, NC, DK, device=dev, dtype=f32)
    mb_s = torch.empty(BH, NC, device=dev, dtype=f32)
    dc0 = torch.empty(BH, DK, DV, device=dev, dtype=f32) if has_init else none
    dn0 = torch.empty(BH, DK, device=dev, dtype=f32) if has_init else none
    launch(
        mlstm_bwd_dstates_kernel, (-(-DK // cfg["BDK_T"]), -(-DV // cfg["BDV_T"]), BH), q, i, f, dh, den, eta, m_out, m_t, dc_tf, dn_tf, m0f, d_s, dn_s, mb_s, dc0, dn0,
        S, DK, DV, NC, *gate_strides, scale,
        L=cfg["L"], BDK=cfg["BDK_T"], BDV=cfg["BDV_T"], HAS_INIT=has_init, HAS_DFINAL=has_dfinal,
        MODE=mode, HEADS_INNER=inner, num_warps=cfg["warps_T"], num_stages=cfg["stages_T"],
    )  # fmt: skip
    dk = _empty_heads(q, DK, inner)
    dv = _empty_heads(q, DV, inner)
    kdk = torch.empty(BH, S, device=dev, dtype=f32)
    launch(
        mlstm_chunkwise_bwd_dkdv_kernel,
        (NC, BH),
        q, k, v, i, f, dh, den, eta, m_out, d_s, dn_s, mb_s, dk, dv, kdk, S, DK, DV, NC, *gate_strides, scale,
        L=cfg["L"], BDK=cfg["BDK"], BDV=cfg["BDV"], MODE=mode, HEADS_INNER=inner, num_warps=cfg["warps"],
        num_stages=cfg["stages"], fallbacks=_SMALLER,
    )  # fmt: skip
    # the final state's pull on F_S (through exp(F_S) in C_S, n_S), and the final stabiliser's gradient
    pull = (dc_tf * c_t).sum((-2, -1)) + (dn_tf * n_t).sum(-1) if has_dfinal else None
    dm_tf = dm_t.reshape(BH).to(f32).contiguous() if dm_t is not None else None
    d_i, d_f, d_m_init = _gate_gradients(
        qdq, kdk, rho, i, f, m0f if has_init else None, pull, dm_tf, eps, gate_strides, none
    )

    shape = (B, NH, S)
    if has_init:
        d_m0 = (dc0 * c0f).sum((-2, -1)) + (dn0 * n0f).sum(-1) + d_m_init
        d_init = (dc0.view(B, NH, DK, DV), dn0.view(B, NH, DK), d_m0.view(B, NH, 1))
    else:
        nothing = torch.empty(0, device=dev, dtype=f32)
        d_init = (nothing, nothing.clone(), nothing.clone())
    return (
        dq,  # in the layout of q
        dk,
        dv,
        d_i.view(shape),
        d_f.view(shape),
        *d_init,
    )


def _gate_gradients(
    qdq: torch.Tensor,
    kdk: torch.Tensor,
    rho: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    m0: torch.Tensor | None,
    pull: torch.Tensor | None,
    dm_t: torch.Tensor | None,
    eps: float,
    gate_strides: tuple[int, int, int, int] | None = None,
    none: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The gate kernel (arguments and results as in :func:`gate_gradients_reference`; ``d i``, ``d f`` come
    back ``[BH, S]`` in the dtype of the gates, and the routed ``d m0`` is an empty tensor when ``m0`` is None).
    ``gate_strides`` ``(NH, stride_b, stride_h, stride_s)`` reads ``i``, ``f`` as ``[B, NH, S]`` through their
    strides; without it they are contiguous ``[BH, S]``.  ``none``: the caller's empty float32 tensor for
    absent arguments, if it has one."""
    from ._triton.chunkwise_bwd import mlstm_bwd_gates_kernel

    BH, S = kdk.shape
    dev, f32 = kdk.device, torch.float32
    if gate_strides is None:
        i, f = i.contiguous(), f.contiguous()
        gate_strides = (1, S, 0, 1)
    empty = torch.empty(0, device=dev, dtype=f32) if none is None else none
    d_i = torch.empty(BH, S, device=dev, dtype=i.dtype)
    d_f = torch.empty(BH, S, device=dev, dtype=i.dtype)
    d_m0 = torch.empty(BH, device=dev, dtype=f32) if m0 is not None else empty
    launch(
        mlstm_bwd_gates_kernel, (BH,), qdq, kdk, rho, i, f,
        m0 if m0 is not None else empty, pull if pull is not None else empty, dm_t if dm_t is not None else empty,
        torch.empty(BH, S, device=dev, dtype=torch.float64), torch.empty(BH, S, device=dev, dtype=torch.int8),
        d_i, d_f, d_m0, S, qdq.shape[0], *gate_strides, eps,
        BLOCK=min(pow2(S), _GATE_BLOCK), HAS_INIT=m0 is not None, HAS_PULL=pull is not None,
        HAS_DMT=dm_t is not None, num_warps=4,
    )  # fmt: skip
    return d_i, d_f, d_m0


def gate_gradients_reference(
    qdq: torch.Tensor,
    kdk: torch.Tensor,
    rho: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    m0: torch.Tensor | None,
    pull: torch.Tensor | None,
    dm_t: torch.Tensor | None,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What ``mlstm_bwd_gates_kernel`` computes, in plain PyTorch (the tests compare them).

    ``qdq`` ``[NKB, BH, S]`` (partial ``q . dq``), ``kdk``, ``rho``, ``i``, ``f`` ``[BH, S]``, ``m0``, ``pull``,
    ``dm_t`` ``[BH]`` or None; returns ``(d i, d f, d m0 routed through the stabiliser)`` in float32.
    """
    f32 = torch.float32
    d_cum = qdq.sum(0) - kdk  # dF_t = A_t - B_t
    d_i = kdk.clone()
    d_m = eps * rho  # d loss / d m_t through the outputs
    if pull is not None:
        d_cum[:, -1] += pull
        d_m[:, -1] += -pull
    if dm_t is not None:
        d_m[:, -1] += dm_t
    # m_t = F_t + max(m_0, running max of (i_j - F_j)): route d_m to F_t and to the arg-max
    cum64 = F.logsigmoid(f.double()).cumsum(-1)
    best, arg = torch.cummax(i.double() - cum64, dim=-1)
    m0_64 = m0.double()[:, None] if m0 is not None else torch.zeros_like(best[:, :1])
    from_init = m0_64 >= best  # the initial stabiliser is the maximum
    d_cum = d_cum + d_m
    to_key = torch.where(from_init, torch.zeros_like(d_m), d_m)
    d_i = d_i.scatter_add(-1, arg, to_key)
    d_cum = d_cum.scatter_add(-1, arg, -to_key)
    d_logf = d_cum.flip(-1).cumsum(-1).flip(-1)
    return d_i, d_logf * torch.sigmoid(-f.to(f32)), (d_m * from_init).sum(-1)


_bwd_op = torch.library.custom_op("xlstm_ts::mlstm_chunkwise_triton_bwd", mutates_args=())(_bwd_impl)


@_bwd_op.register_fake
def _bwd_fake(dh, dc_t, dn_t, dm_t, q, k, v, i, f, c0, n0, m0, *saved_and_params):
    B, NH, S, DK = q.shape
    DV, f32 = v.shape[-1], torch.float32
    if c0 is not None:
        d_init = (
            q.new_empty(B, NH, DK, DV, dtype=f32),
            q.new_empty(B, NH, DK, dtype=f32),
            q.new_empty(B, NH, 1, dtype=f32),
        )
    else:
        d_init = tuple(q.new_empty(0, dtype=f32) for _ in range(3))
    inner = _heads_inner(q)
    return (
        _empty_heads(q, DK, inner),
        _empty_heads(q, DK, inner),
        _empty_heads(q, DV, inner),
        q.new_empty(B, NH, S, dtype=i.dtype),
        q.new_empty(B, NH, S, dtype=i.dtype),
        *d_init,
    )


def _setup_context(ctx, inputs, output) -> None:
    q, k, v, i, f, c0, n0, m0, chunk_size, eps = inputs
    ctx.has_init = c0 is not None
    ctx.params = (chunk_size, eps)
    ctx.save_for_backward(q, k, v, i, f, c0, n0, m0, *output)


def _backward_through(bwd):
    """The backward of the forward op, running the backward as ``bwd`` (the custom op, or its implementation)."""

    def backward(ctx, dh, dc_t, dn_t, dm_t, *unused):
        q, k, v, i, f, c0, n0, m0, *outputs = ctx.saved_tensors
        if (
            dh is None
        ):  # only the final state is used (the eager path does not fill unused gradients with zeros)
            dh = torch.zeros_like(outputs[0])
        dq, dk, dv, di, df, dc0, dn0, dm0 = bwd(
            dh, dc_t, dn_t, dm_t, q, k, v, i, f, c0, n0, m0, *outputs, *ctx.params
        )
        d_init = (dc0, dn0, dm0) if ctx.has_init else (None, None, None)
        return dq, dk, dv, di, df, *d_init, None, None

    return backward


_fwd_op.register_autograd(_backward_through(_bwd_op), setup_context=_setup_context)
#: Outside torch.compile: the same implementations and context without the dispatcher's Python layer.  Of the
#: forward's outputs ``h`` and the final state (the first four) get gradients.
_EagerFwd = eager_function(_fwd_impl, _setup_context, _backward_through(_bwd_impl), differentiable=4)


def mlstm_chunkwise_triton(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    i: torch.Tensor,
    f: torch.Tensor,
    initial_state: mLSTMState | None = None,
    return_last_state: bool = False,
    chunk_size: int = 64,
    eps: float = 1e-6,
) -> tuple[torch.Tensor, mLSTMState | None]:
    """Chunkwise mLSTM on Triton kernels; returns ``(h, state or None)``.

    Parameters
    ----------
    q, k : torch.Tensor
        ``[B, NH, S, DK]`` (float32, float16 or bfloat16; ``DK <= 256``).
    v : torch.Tensor
        ``[B, NH, S, DV]`` (``DV <= 512``).
    i, f : torch.Tensor
        ``[B, NH, S]`` input- and forget-gate pre-activations.
    initial_state : mLSTMState, optional
        ``(c, n, m)`` to continue from (float32); zeros when omitted.
    return_last_state : bool
        Also return the final state (float32).
    chunk_size : int
        Longest chunk (rounded to a power of two in [16, 128], and not above the padded length); float32
        inputs use chunks of 16 with exact products, and 32 (``DK <= 64``) or 64 under the TF32 products of
        ``torch.set_float32_matmul_precision("high")`` or ``"medium"``, which measured fastest for them
        (see docs/benchmarks.md, 'mLSTM launch heuristics').  Every chunk length gives the same result up to
        rounding.
    eps : float
        Added to the normaliser.

    Examples
    --------
    Runs on a CUDA device, or on the CPU under ``TRITON_INTERPRET=1``:

    >>> import torch
    >>> from xlstm_ts.kernels.mlstm import mlstm_chunkwise_native
    >>> if torch.cuda.is_available():
    ...     q = k = v = torch.randn(1, 2, 100, 64, device="cuda")
    ...     i = f = torch.randn(1, 2, 100, device="cuda")
    ...     h, _ = mlstm_chunkwise_triton(q, k, v, i, f)
    ...     h_ref, _ = mlstm_chunkwise_native(q, k, v, i, f)
    ...     assert torch.allclose(h, h_ref, atol=1e-4)
    """
    B, NH, S, DK = q.shape
    DV = v.shape[-1]
    if q.dtype not in TRITON_MODES:
        raise TypeError(f"chunkwise--triton takes float32, float16 or bfloat16 inputs; got {q.dtype}.")
    if DK > MAX_DK or DV > MAX_DV:
        raise ValueError(f"chunkwise--triton takes DK <= {MAX_DK} and DV <= {MAX_DV}; got DK={DK}, DV={DV}.")
    if S == 0:
        h = v.new_zeros(B, NH, 0, DV)
        return h, (initial_state if return_last_state else None)
    c0 = n0 = m0 = None
    if initial_state is not None:
        c0, n0, m0 = initial_state
    args = (q, k, v, i, f, c0, n0, m0, chunk_size, eps)
    compiling = torch.compiler.is_compiling()
    if not (torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in args[:8])):
        h, c, n, m = (_infer_op if compiling else _infer_impl)(*args)
    elif compiling:
        h, c, n, m, *_ = _fwd_op(*args)
    else:
        h, c, n, m, *_ = _EagerFwd.apply(*args)
    return h, (mLSTMState(c, n, m) if return_last_state else None)


__all__ = ["MAX_DK", "MAX_DV", "mlstm_chunkwise_triton"]
