"""Forward pass of the chunkwise mLSTM in two kernels: the memory recurrence, then the outputs.

Layout (flattened heads, all contiguous): ``q, k`` ``[BH, S, DK]``, ``v, h`` ``[BH, S, DV]``, gates
``[BH, S]``, states ``c`` ``[BH, DK, DV]``, ``n`` ``[BH, DK]``, ``m`` ``[BH]`` (float32), and the state
entering every chunk ``c_s`` ``[BH, NC, DK, DV]``, ``n_s`` ``[BH, NC, DK]``, ``m_s`` ``[BH, NC]``.

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
outputs independently (grid ``(DV blocks, NC, BH)``).  Steps past the end of the sequence are masked to
``q = k = v = 0``, log forget gate ``0`` and input gate ``-inf``, which changes neither the outputs nor the
state.  The backward needs ``m_t`` and ``qn_t`` per step (written to ``M_OUT``, ``QN``) and the
chunk-entry states.  Matrix products follow ``MODE`` (0 float32, 1 float16, 2 bfloat16; ``kernels/_triton/common.py``).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import dot_in, dot_wide, logsigmoid


@triton.jit
def chunk_gates(IG, FG, bh, t, mask_t, S):
    """Input gates (``-inf`` past the end), in-chunk running log decay ``b`` and its total ``g``."""
    ig = tl.load(IG + bh * S + t, mask=mask_t, other=0.0).to(tl.float32)
    fg = tl.load(FG + bh * S + t, mask=mask_t, other=0.0).to(tl.float32)
    ig = tl.where(mask_t, ig, float("-inf"))
    logf = tl.where(mask_t, logsigmoid(fg), 0.0)
    return ig, tl.cumsum(logf, 0), tl.sum(logf, 0)


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
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    HAS_INIT: tl.constexpr,
    MODE: tl.constexpr,
):
    pid_k = tl.program_id(0)
    pid_v = tl.program_id(1)
    bh = tl.program_id(2).to(tl.int64)
    write_n = pid_v == 0
    write_m = (pid_v == 0) & (pid_k == 0)

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
            K + bh * S * DK + t[:, None] * DK + offs_k[None, :],
            mask=mask_t[:, None] & mask_k[None, :],
            other=0.0,
        )
        v = tl.load(
            V + bh * S * DV + t[:, None] * DV + offs_v[None, :],
            mask=mask_t[:, None] & mask_v[None, :],
            other=0.0,
        )
        ig, b, g = chunk_gates(IG, FG, bh, t, mask_t, S)
        a = g - b + ig  # [L] log weight of step j in the end-of-chunk memory
        m_new = tl.maximum(g + m_prev, tl.max(a, 0))  # [1]
        decay = tl.exp(g + m_prev - m_new)  # [1]
        kw = k.to(tl.float32) * tl.exp(a - m_new)[:, None]  # [L, BDK]
        c = c * decay[:, None] + dot_in(tl.trans(kw), v, MODE)
        n = n * decay + tl.sum(kw, 0)
        m_prev = m_new

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
    scale,
    eps,
    L: tl.constexpr,
    BDK: tl.constexpr,
    BDV: tl.constexpr,
    MODE: tl.constexpr,
):
    pid_v = tl.program_id(0)
    ci = tl.program_id(1).to(tl.int64)
    bh = tl.program_id(2).to(tl.int64)
    chunk = bh * NC + ci

    offs_l = tl.arange(0, L)
    t = ci * L + offs_l
    mask_t = t < S
    offs_k = tl.arange(0, BDK)
    offs_v = pid_v * BDV + tl.arange(0, BDV)
    mask_k = offs_k < DK
    mask_v = offs_v < DV

    row_k = bh * S * DK + t[:, None] * DK + offs_k[None, :]
    mask_tk = mask_t[:, None] & mask_k[None, :]
    q = tl.load(Q + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    k = tl.load(K + row_k, mask=mask_tk, other=0.0)  # [L, BDK]
    row_v = bh * S * DV + t[:, None] * DV + offs_v[None, :]
    mask_tv = mask_t[:, None] & mask_v[None, :]
    v = tl.load(V + row_v, mask=mask_tv, other=0.0)  # [L, BDV]
    c_prev = tl.load(
        C_S + chunk * DK * DV + offs_k[:, None] * DV + offs_v[None, :],
        mask=mask_k[:, None] & mask_v[None, :],
        other=0.0,
    )  # [BDK, BDV]
    n_prev = tl.load(N_S + chunk * DK + offs_k, mask=mask_k, other=0.0)  # [BDK]
    m_prev = tl.load(M_S + chunk + tl.arange(0, 1))  # [1]

    ig, b, _ = chunk_gates(IG, FG, bh, t, mask_t, S)
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
    tl.store(H + row_v, (num / den[:, None]).to(H.dtype.element_ty), mask=mask_tv)
    if pid_v == 0:
        tl.store(M_OUT + bh * S + t, m_t, mask=mask_t)
        tl.store(QN + bh * S + t, qn, mask=mask_t)


__all__ = ["chunk_gates", "mlstm_fwd_out_kernel", "mlstm_fwd_states_kernel", "triton"]
