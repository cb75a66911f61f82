"""Forward pass of the chunkwise mLSTM in two kernels: the memory recurrence, then the outputs.

Layout: ``q, k`` ``[B, NH, S, DK]``, ``v, h`` ``[B, NH, S, DV]``, one program per head ``bh = b * NH + h``;
these four are stored either contiguous or (``HEADS_INNER``) as ``[B, S, NH, D]``, the layout of a
``[B, S, NH * D]`` projection viewed per head, so that the layer's projections reach the kernels without a
copy (:func:`head_rows`).  The gates ``[B, NH, S]`` are read through their strides ``G_SB, G_SH, G_SS``
(the layer's are a transposed slice of one ``[B, S, 2 NH]`` product).  Everything else is contiguous over
flattened heads: states ``c`` ``[BH, DK, DV]``, ``n`` ``[BH, DK]``, ``m`` ``[BH]`` (float32), per-step
statistics ``[BH, S]``, and the state entering every chunk ``c_s`` ``[BH, NC, DK, DV]``, ``n_s``
``[BH, NC, DK]``, ``m_s`` ``[BH, NC]``.

Per chunk of ``L`` steps, with ``b`` the running sum of the log forget gates inside the chunk, ``g`` its
total and ``m_prev`` the stabiliser entering the chunk (exactly the recurrent ``m`` one step earlier)::

    memory leaving the chunk:  m_new = max(g + m_prev, max_j (g - b_j + i_j))
                               C_new = exp(g + m_prev - m_new) C_prev + sum_j exp(g - b_j + i_j - m_new) k_j v_j^T
    outputs:                   log_d[t, j] = b_t - b_j + i_j (j <= t),  m_t = max(b_t + m_prev, max_j log_d[t, j])
                               W = exp(log_d - m_t),  gamma = exp(b_t + m_prev - m_t)
                               num = gamma (q C_prev) + (q k^T * W) v,  qn = gamma (q . n_prev) + rowsum(q k^T * W)
                               h = num / (max(|qn|, exp(-m_t)) + eps)

:func:`mlstm_fwd_states_kernel` walks the chunks of one head in order for one ``(DK, DV)`` tile of the
memory (grid ``(DK blocks, DV blocks, BH)``): each step is one ``[BDK, L] x [L, BDV]`` product, and the
loads of the next chunk do not wait for it.  :func:`mlstm_fwd_out_kernel` then computes every chunk's
outputs independently (grid ``(DV blocks, NC, BH)``).  :func:`mlstm_fwd_fused_kernel` does both in one
walk over the chunks (grid ``(DV blocks, BH)``, the whole ``DK`` per program): the memory never leaves the
chip, and it is what inference runs (it then writes only ``h`` and the final state).  Steps past the end of the sequence are masked to
``q = k = v = 0``, log forget gate ``0`` and input gate ``-inf``, which changes neither the outputs nor the
state.  The backward needs ``m_t`` and ``qn_t`` per step (written to ``M_OUT``, ``QN``) and the
chunk-entry states.  Matrix products follow ``MODE`` (0 float32, 1 float16, 2 bfloat16; ``kernels/_triton/common.py``).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import dot_in, dot_wide, logsigmoid


@triton.jit
def head_rows(bh, NH, S, D, HEADS_INNER: tl.constexpr):
    """Offset of the first step of head ``bh`` in a ``[B, NH, S, D]`` tensor and the stride between its steps:
    stored contiguous, or (``HEADS_INNER``) as ``[B, S, NH, D]``."""
    if HEADS_INNER:
        b = bh // NH
        off = b * S * NH * D + (bh - b * NH) * D
        step = NH * D
    else:
        off = bh * S * D
        step = D
    return off, step


@triton.jit
def gate_offset(bh, NH, G_SB, G_SH):
    """Offset of the first step of head ``bh`` in a ``[B, NH, S]`` gate tensor with strides ``G_SB, G_SH``."""
    b = bh // NH
    return b * G_SB + (bh - b * NH) * G_SH


@triton.jit
def chunk_gates(IG, FG, goff, t, G_SS, mask_t):
    """Input gates (``-inf`` past the end), in-chunk running log decay ``b`` and its total ``g``, of steps
    ``t`` of the head whose gates start at ``goff`` (steps ``G_SS`` apart)."""
    ig = tl.load(IG + goff + t * G_SS, mask=mask_t, other=0.0).to(tl.float32)
    fg = tl.load(FG + goff + t * G_SS, mask=mask_t, other=0.0).to(tl.float32)
    ig = tl.where(mask_t, ig, float("-inf"))
    logf = tl.where(mask_t, logsigmoid(fg), 0.0)
    return ig, tl.cumsum(logf, 0), tl.sum(logf, 0)


@triton.jit
def memory_step(k, v, ig, b, g, c, n, m_prev, MODE: tl.constexpr):
    """The memory ``(c, n, m)`` leaving a chunk from the one entering it and the chunk's keys, values and gates."""
    a = g - b + ig  # [L] log weight of step j in the end-of-chunk memory
    m_new = tl.maximum(g + m_prev, tl.max(a, 0))  # [1]
    decay = tl.exp(g + m_prev - m_new)  # [1]
    kw = k.to(tl.float32) * tl.exp(a - m_new)[:, None]  # [L, BDK]
    return c * decay[:, None] + dot_in(tl.trans(kw), v, MODE), n * decay + tl.sum(kw, 0), m_new


@triton.jit
def chunk_outputs(q, k, v, ig, b, c_prev, n_prev, m_prev, scale, eps, L: tl.constexpr, MODE: tl.constexpr):
    """One chunk's outputs ``h`` (float32), stabilisers ``m_t`` and ``qn_t`` from the memory entering it."""
    offs_l = tl.arange(0, L)
    causal = offs_l[:, None] >= offs_l[None, :]
    log_d = tl.where(causal, b[:, None] - b[None, :] + ig[None, :], float("-inf"))  # [L, L]
    m_inter = b + m_prev  # [L]
    m_t = tl.maximum(m_inter, tl.max(log_d, 1))  # [L], the recurrent stabiliser at each step
    w = tl.exp(log_d - m_t[:, None])  # [L, L], 0 above the diagonal
    gamma = tl.exp(m_inter - m_t)  # [L]
    p = dot_in(q, tl.trans(k), MODE) * scale * w  # [L, L]
    num = dot_in(p, v, MODE) + dot_wide(q, c_prev, MODE) * (gamma * scale)[:, None]  # [L, BDV]
    qn = gamma * scale * tl.sum(q.to(tl.float32) * n_prev[None, :], 1) + tl.sum(p, 1)  # [L]
    den = tl.maximum(tl.abs(qn), tl.exp(-m_t)) + eps
    return num / den[:, None], m_t, qn


@triton.jit
def mlstm_fwd_states_kernel(
    K,
    V,
    IG,
    FG,  # inputs
    C0,
    N0,
    M0,  # initial state (read when HAS_INIT)
    C_S,
    N_S,
    M_S,  # state entering each chunk
    C_T,
    N_T,
    M_T,  # final state
    S,
    DK,
    DV,
    NC,
    NH,
    G_SB,
    G_SH,
    G_SS,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    HAS_INIT: tl.constexpr,
    MODE: tl.constexpr,
    HEADS_INNER: tl.constexpr,
):
    pid_k = tl.program_id(0)
    pid_v = tl.program_id(1)
    bh = tl.program_id(2).to(tl.int64)
    write_n = pid_v == 0
    write_m = (pid_v == 0) & (pid_k == 0)
    k_off, k_step = head_rows(bh, NH, S, DK, HEADS_INNER)
    v_off, v_step = head_rows(bh, NH, S, DV, HEADS_INNER)
    goff = gate_offset(bh, NH, G_SB, G_SH)

    offs_l = tl.arange(0, L)
    offs_k = pid_k * BDK + tl.arange(0, BDK)
    offs_v = pid_v * BDV + tl.arange(0, BDV)
    mask_k = offs_k < DK
    mask_v = offs_v < DV
    tile = offs_k[:, None] * DV + offs_v[None, :]
    tile_mask = mask_k[:, None] & mask_v[None, :]
    if HAS_INIT:
        c = tl.load(C0 + bh * DK * DV + tile, mask=tile_mask, other=0.0)  # [BDK, BDV]
        n = tl.load(N0 + bh * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]
        m_prev = tl.load(M0 + bh + tl.arange(0, 1))  # [1]
    else:
        c = tl.zeros([BDK, BDV], dtype=tl.float32)
        n = tl.zeros([BDK], dtype=tl.float32)
        m_prev = tl.zeros([1], dtype=tl.float32)

    for ci in range(NC):
        chunk = bh * NC + ci
        tl.store(C_S + chunk * DK * DV + tile, c.to(C_S.dtype.element_ty), mask=tile_mask)
        if write_n:
            tl.store(N_S + chunk * DK + offs_k, n, mask=mask_k)
        if write_m:
            tl.store(M_S + chunk + tl.arange(0, 1), m_prev)

        t = ci * L + offs_l
        mask_t = t < S
        k = tl.load(
            K + k_off + t[:, None] * k_step + offs_k[None, :],
            mask=mask_t[:, None] & mask_k[None, :],
            other=0.0,
        )
        v = tl.load(
            V + v_off + t[:, None] * v_step + offs_v[None, :],
            mask=mask_t[:, None] & mask_v[None, :],
            other=0.0,
        )
        ig, b, g = chunk_gates(IG, FG, goff, t, G_SS, mask_t)
        c, n, m_prev = memory_step(k, v, ig, b, g, c, n, m_prev, MODE)

    tl.store(C_T + bh * DK * DV + tile, c, mask=tile_mask)
    if write_n:
        tl.store(N_T + bh * DK + offs_k, n, mask=mask_k)
    if write_m:
        tl.store(M_T + bh + tl.arange(0, 1), m_prev)


@triton.jit
def mlstm_fwd_out_kernel(
    Q,
    K,
    V,
    IG,
    FG,  # inputs
    C_S,
    N_S,
    M_S,  # state entering each chunk
    H,
    M_OUT,
    QN,  # outputs
    S,
    DK,
    DV,
    NC,
    NH,
    G_SB,
    G_SH,
    G_SS,
    scale,
    eps,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    MODE: tl.constexpr,
    HEADS_INNER: tl.constexpr,
):
    pid_v = tl.program_id(0)
    ci = tl.program_id(1).to(tl.int64)
    bh = tl.program_id(2).to(tl.int64)
    chunk = bh * NC + ci
    k_off, k_step = head_rows(bh, NH, S, DK, HEADS_INNER)
    v_off, v_step = head_rows(bh, NH, S, DV, HEADS_INNER)
    goff = gate_offset(bh, NH, G_SB, G_SH)

    offs_l = tl.arange(0, L)
    t = ci * L + offs_l
    mask_t = t < S
    offs_k = tl.arange(0, BDK)
    offs_v = pid_v * BDV + tl.arange(0, BDV)
    mask_k = offs_k < DK
    mask_v = offs_v < DV

    row_k = k_off + t[:, None] * k_step + offs_k[None, :]
    mask_tk = mask_t[:, None] & mask_k[None, :]
    q = tl.load(Q + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    k = tl.load(K + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    row_v = v_off + t[:, None] * v_step + offs_v[None, :]
    mask_tv = mask_t[:, None] & mask_v[None, :]
    v = tl.load(V + row_v, mask=mask_tv, other=0.0)  # [L, BDV]
    c_prev = tl.load(
        C_S + chunk * DK * DV + offs_k[:, None] * DV + offs_v[None, :],
        mask=mask_k[:, None] & mask_v[None, :],
        other=0.0,
    )  # [BDK, BDV]
    n_prev = tl.load(N_S + chunk * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]
    m_prev = tl.load(M_S + chunk + tl.arange(0, 1))  # [1]

    ig, b, _ = chunk_gates(IG, FG, goff, t, G_SS, mask_t)
    h, m_t, qn = chunk_outputs(q, k, v, ig, b, c_prev, n_prev, m_prev, scale, eps, L, MODE)
    tl.store(H + row_v, h.to(H.dtype.element_ty), mask=mask_tv)
    if pid_v == 0:
        tl.store(M_OUT + bh * S + t, m_t, mask=mask_t)
        tl.store(QN + bh * S + t, qn, mask=mask_t)


@triton.jit
def mlstm_fwd_fused_kernel(
    Q,
    K,
    V,
    IG,
    FG,  # inputs
    C0,
    N0,
    M0,  # initial state (read when HAS_INIT)
    H,
    M_OUT,
    QN,  # outputs (M_OUT, QN written when STORE)
    C_S,
    N_S,
    M_S,  # state entering each chunk (written when STORE)
    C_T,
    N_T,
    M_T,  # final state
    S,
    DK,
    DV,
    NC,
    NH,
    G_SB,
    G_SH,
    G_SS,
    scale,
    eps,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    HAS_INIT: tl.constexpr,
    STORE: tl.constexpr,
    MODE: tl.constexpr,
    HEADS_INNER: tl.constexpr,
):
    """Both forward kernels in one: the memory recurrence of one ``[DK, BDV]`` slice of one head, and at each
    chunk, before the memory moves on, that chunk's outputs for those values (grid ``(DV blocks, BH)``).

    The memory stays on chip, so nothing is read back; ``STORE`` also writes what the backward needs (the
    chunk-entry states, ``m_t`` and ``qn_t``), and without it (inference) only ``h`` and the final state
    leave the kernel.  Same arithmetic as the two kernels, step for step (the memory enters the output
    product rounded to ``C_S``'s dtype there and to the product's operand dtype here: the same rounding)."""
    pid_v = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    first = pid_v == 0
    k_off, k_step = head_rows(bh, NH, S, DK, HEADS_INNER)
    v_off, v_step = head_rows(bh, NH, S, DV, HEADS_INNER)
    goff = gate_offset(bh, NH, G_SB, G_SH)

    offs_l = tl.arange(0, L)
    offs_k = tl.arange(0, BDK)
    offs_v = pid_v * BDV + tl.arange(0, BDV)
    mask_k = offs_k < DK
    mask_v = offs_v < DV
    tile = offs_k[:, None] * DV + offs_v[None, :]
    tile_mask = mask_k[:, None] & mask_v[None, :]
    if HAS_INIT:
        c = tl.load(C0 + bh * DK * DV + tile, mask=tile_mask, other=0.0)  # [BDK, BDV]
        n = tl.load(N0 + bh * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]
        m_prev = tl.load(M0 + bh + tl.arange(0, 1))  # [1]
    else:
        c = tl.zeros([BDK, BDV], dtype=tl.float32)
        n = tl.zeros([BDK], dtype=tl.float32)
        m_prev = tl.zeros([1], dtype=tl.float32)

    for ci in range(NC):
        if STORE:
            chunk = bh * NC + ci
            tl.store(C_S + chunk * DK * DV + tile, c.to(C_S.dtype.element_ty), mask=tile_mask)
            if first:
                tl.store(N_S + chunk * DK + offs_k, n, mask=mask_k)
                tl.store(M_S + chunk + tl.arange(0, 1), m_prev)

        t = ci * L + offs_l
        mask_t = t < S
        row_k = k_off + t[:, None] * k_step + offs_k[None, :]
        mask_tk = mask_t[:, None] & mask_k[None, :]
        q = tl.load(Q + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
        k = tl.load(K + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
        row_v = v_off + t[:, None] * v_step + offs_v[None, :]
        mask_tv = mask_t[:, None] & mask_v[None, :]
        v = tl.load(V + row_v, mask=mask_tv, other=0.0)  # [L, BDV]
        ig, b, g = chunk_gates(IG, FG, goff, t, G_SS, mask_t)

        # this chunk's outputs from the memory entering it, then the memory leaving it
        h, m_t, qn = chunk_outputs(q, k, v, ig, b, c.to(C_S.dtype.element_ty), n, m_prev, scale, eps, L, MODE)
        tl.store(H + row_v, h.to(H.dtype.element_ty), mask=mask_tv)
        if STORE:  # noqa: SIM102 (a compile-time branch around a run-time one: Triton keeps them apart)
            if first:
                tl.store(M_OUT + bh * S + t, m_t, mask=mask_t)
                tl.store(QN + bh * S + t, qn, mask=mask_t)
        c, n, m_prev = memory_step(k, v, ig, b, g, c, n, m_prev, MODE)

    tl.store(C_T + bh * DK * DV + tile, c, mask=tile_mask)
    if first:
        tl.store(N_T + bh * DK + offs_k, n, mask=mask_k)
        tl.store(M_T + bh + tl.arange(0, 1), m_prev)


__all__ = [
    "chunk_gates",
    "chunk_outputs",
    "gate_offset",
    "head_rows",
    "memory_step",
    "mlstm_fwd_fused_kernel",
    "mlstm_fwd_out_kernel",
    "mlstm_fwd_states_kernel",
    "triton",
]
