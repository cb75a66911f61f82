"""The sLSTM over a whole sequence for wide heads: the recurrent state lives in memory, not in registers.

The kernels of ``sequence_fwd.py`` / ``sequence_bwd.py`` keep the carried state and the four ``[DH, DH]``
weight tiles of a head on chip; past ``DH = 128`` (``64`` in float32) the matrix products' operands no longer
fit in shared memory.  These kernels walk each step in blocks of ``BN`` output columns instead: the four
gate products of a block need only ``[DH, BN]`` slices of the weights (re-read every step; they stay in the
cache), and the carried state is read and written through global memory, with a CTA barrier between steps
so that every thread sees the new ``h`` before the next step's product.

Same grid, layouts, saved tensors (``ST``, ``G``) and gradients as the register-resident kernels, so the
wrapper treats both alike.  The forward carries the state in ``FINAL`` ``[4, B, NH, DH]`` (which ends up
holding the final state); the backward carries the state gradients in ``DINIT`` (which ends up holding the
initial-state gradients).  The gate update and its backward are the shared helpers ``pointwise`` and
``step_bwd``, so both kernel families compute the same float32 arithmetic.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import dot_in, dot_wide
from .sequence_bwd import step_bwd
from .sequence_fwd import pointwise


@triton.jit
def slstm_fwd_wide_kernel(
    X, R, BIAS,  # inputs
    H0, C0, N0, M0,  # initial state (read when HAS_INIT)
    H,  # output [B, S, NH, DH]
    ST, G,  # per-step states and raw gates (written when SAVE)
    FINAL,  # carried state, then the final state [4, B, NH, DH] (float32)
    B, S, NH, DH,
    BB: tl.constexpr,
    BDH: tl.constexpr,  # all head columns (power of two >= DH): the reduction of the recurrent product
    BN: tl.constexpr,  # output columns per block
    HAS_INIT: tl.constexpr,
    SAVE: tl.constexpr,
    MODE: tl.constexpr,
):  # fmt: skip
    pid_b = tl.program_id(0)
    hd = tl.program_id(1).to(tl.int64)
    rows = pid_b * BB + tl.arange(0, BB)
    rows64 = rows.to(tl.int64)
    mask_r = rows < B
    k_cols = tl.arange(0, BDH)
    mask_k = k_cols < DH
    mask_full = mask_r[:, None] & mask_k[None, :]
    field = B * NH * DH  # one field of FINAL
    slot = B * DH  # one [B, DH] field of ST / G
    full_off = (rows64[:, None] * NH + hd) * DH + k_cols[None, :]  # [B, NH, DH] fields, all columns

    # initial state into the carried state (and slot 0 of ST)
    if HAS_INIT:
        h = tl.load(H0 + full_off, mask=mask_full, other=0.0)
        c = tl.load(C0 + full_off, mask=mask_full, other=0.0)
        n = tl.load(N0 + full_off, mask=mask_full, other=0.0)
        m = tl.load(M0 + full_off, mask=mask_full, other=0.0)
    else:
        h = tl.zeros([BB, BDH], dtype=tl.float32)
        c = tl.zeros([BB, BDH], dtype=tl.float32)
        n = tl.zeros([BB, BDH], dtype=tl.float32)
        m = tl.zeros([BB, BDH], dtype=tl.float32)
    tl.store(FINAL + full_off, h, mask=mask_full)
    tl.store(FINAL + field + full_off, c, mask=mask_full)
    tl.store(FINAL + 2 * field + full_off, n, mask=mask_full)
    tl.store(FINAL + 3 * field + full_off, m, mask=mask_full)
    if SAVE:
        sv_full = rows64[:, None] * DH + k_cols[None, :]
        base = hd * (S + 1) * 4 * slot
        tl.store(ST + base + sv_full, h, mask=mask_full)
        tl.store(ST + base + slot + sv_full, c, mask=mask_full)
        tl.store(ST + base + 2 * slot + sv_full, n, mask=mask_full)
        tl.store(ST + base + 3 * slot + sv_full, m, mask=mask_full)
    tl.debug_barrier()

    for t in range(S):
        h_prev = tl.load(FINAL + full_off, mask=mask_full, other=0.0)  # [BB, BDH], the whole previous h
        tl.debug_barrier()  # every thread holds h_prev before any block of the new h overwrites it
        for j in range(0, DH, BN):
            cols = j + tl.arange(0, BN)
            mask_c = cols < DH
            mask = mask_r[:, None] & mask_c[None, :]
            # R[hd, k, g, cols]: the [BDH, BN] slice of gate g
            r_off = (hd * DH + k_cols[:, None]) * 4 * DH + cols[None, :]
            r_mask = mask_k[:, None] & mask_c[None, :]
            b_off = hd * 4 * DH + cols
            xt = X + ((rows64[:, None] * S + t) * NH + hd) * 4 * DH + cols[None, :]
            ri = tl.load(xt, mask=mask, other=0.0).to(tl.float32)
            ri += tl.load(BIAS + b_off, mask=mask_c, other=0.0).to(tl.float32)[None, :]
            ri += dot_in(h_prev, tl.load(R + r_off, mask=r_mask, other=0.0), MODE)
            rf = tl.load(xt + DH, mask=mask, other=0.0).to(tl.float32)
            rf += tl.load(BIAS + b_off + DH, mask=mask_c, other=0.0).to(tl.float32)[None, :]
            rf += dot_in(h_prev, tl.load(R + r_off + DH, mask=r_mask, other=0.0), MODE)
            rz = tl.load(xt + 2 * DH, mask=mask, other=0.0).to(tl.float32)
            rz += tl.load(BIAS + b_off + 2 * DH, mask=mask_c, other=0.0).to(tl.float32)[None, :]
            rz += dot_in(h_prev, tl.load(R + r_off + 2 * DH, mask=r_mask, other=0.0), MODE)
            ro = tl.load(xt + 3 * DH, mask=mask, other=0.0).to(tl.float32)
            ro += tl.load(BIAS + b_off + 3 * DH, mask=mask_c, other=0.0).to(tl.float32)[None, :]
            ro += dot_in(h_prev, tl.load(R + r_off + 3 * DH, mask=r_mask, other=0.0), MODE)

            st_off = (rows64[:, None] * NH + hd) * DH + cols[None, :]
            c_p = tl.load(FINAL + field + st_off, mask=mask, other=0.0)
            n_p = tl.load(FINAL + 2 * field + st_off, mask=mask, other=0.0)
            m_p = tl.load(FINAL + 3 * field + st_off, mask=mask, other=0.0)
            # (names of their own: a loop may not change the shape of the [BB, BDH] h, c, n, m above)
            h_b, c_b, n_b, m_b, _lfm, _di, _df, _ig, _fg, _tz, _so = pointwise(ri, rf, rz, ro, c_p, n_p, m_p)
            tl.store(FINAL + st_off, h_b, mask=mask)
            tl.store(FINAL + field + st_off, c_b, mask=mask)
            tl.store(FINAL + 2 * field + st_off, n_b, mask=mask)
            tl.store(FINAL + 3 * field + st_off, m_b, mask=mask)
            h_off = ((rows64[:, None] * S + t) * NH + hd) * DH + cols[None, :]
            tl.store(H + h_off, h_b.to(H.dtype.element_ty), mask=mask)
            if SAVE:
                sv_off = rows64[:, None] * DH + cols[None, :]
                g_base = (hd * S + t) * 4 * slot
                tl.store(G + g_base + sv_off, ri, mask=mask)
                tl.store(G + g_base + slot + sv_off, rf, mask=mask)
                tl.store(G + g_base + 2 * slot + sv_off, rz, mask=mask)
                tl.store(G + g_base + 3 * slot + sv_off, ro, mask=mask)
                base = (hd * (S + 1) + t + 1) * 4 * slot
                tl.store(ST + base + sv_off, h_b, mask=mask)
                tl.store(ST + base + slot + sv_off, c_b, mask=mask)
                tl.store(ST + base + 2 * slot + sv_off, n_b, mask=mask)
                tl.store(ST + base + 3 * slot + sv_off, m_b, mask=mask)
        tl.debug_barrier()  # the whole new h is written before the next step reads it


@triton.jit
def slstm_bwd_wide_kernel(
    R,  # recurrent kernel [NH, DH, 4, DH]
    ST, G,  # saved by the forward
    DH_OUT,  # gradient of the outputs [B, S, NH, DH]
    DFINAL,  # gradient of the final state [4, B, NH, DH] (float32)
    DX,  # gradient of the raw pre-activations [B, S, NH, 4, DH] (float32)
    DINIT,  # carried state gradients, then those of the initial state [4, B, NH, DH]
    B, S, NH, DH,
    BB: tl.constexpr,
    BDH: tl.constexpr,
    BN: tl.constexpr,
    MODE: tl.constexpr,
):  # fmt: skip
    pid_b = tl.program_id(0)
    hd = tl.program_id(1).to(tl.int64)
    rows = pid_b * BB + tl.arange(0, BB)
    rows64 = rows.to(tl.int64)
    mask_r = rows < B
    k_cols = tl.arange(0, BDH)
    mask_k = k_cols < DH
    mask_full = mask_r[:, None] & mask_k[None, :]
    field = B * NH * DH
    slot = B * DH
    full_off = (rows64[:, None] * NH + hd) * DH + k_cols[None, :]

    for f in range(4):  # the carried gradients start as those of the final state
        d = tl.load(DFINAL + f * field + full_off, mask=mask_full, other=0.0)
        tl.store(DINIT + f * field + full_off, d, mask=mask_full)
    tl.debug_barrier()

    for k in range(S):
        t = S - 1 - k
        dh_prev = tl.zeros([BB, BDH], dtype=tl.float32)  # sum_g draw_g @ R_g^T over all column blocks
        for j in range(0, DH, BN):
            cols = j + tl.arange(0, BN)
            mask_c = cols < DH
            mask = mask_r[:, None] & mask_c[None, :]
            sv_off = rows64[:, None] * DH + cols[None, :]
            g_base = (hd * S + t) * 4 * slot
            ri = tl.load(G + g_base + sv_off, mask=mask, other=0.0)
            rf = tl.load(G + g_base + slot + sv_off, mask=mask, other=0.0)
            rz = tl.load(G + g_base + 2 * slot + sv_off, mask=mask, other=0.0)
            ro = tl.load(G + g_base + 3 * slot + sv_off, mask=mask, other=0.0)
            base = (hd * (S + 1) + t) * 4 * slot  # state entering step t
            c_p = tl.load(ST + base + slot + sv_off, mask=mask, other=0.0)
            n_p = tl.load(ST + base + 2 * slot + sv_off, mask=mask, other=0.0)
            m_p = tl.load(ST + base + 3 * slot + sv_off, mask=mask, other=0.0)

            st_off = (rows64[:, None] * NH + hd) * DH + cols[None, :]
            h_off = ((rows64[:, None] * S + t) * NH + hd) * DH + cols[None, :]
            dh = tl.load(DINIT + st_off, mask=mask, other=0.0)
            dh += tl.load(DH_OUT + h_off, mask=mask, other=0.0).to(tl.float32)
            dc = tl.load(DINIT + field + st_off, mask=mask, other=0.0)
            dn = tl.load(DINIT + 2 * field + st_off, mask=mask, other=0.0)
            dm = tl.load(DINIT + 3 * field + st_off, mask=mask, other=0.0)
            d_ri, d_rf, d_rz, d_ro, dc, dn, dm = step_bwd(ri, rf, rz, ro, c_p, n_p, m_p, dh, dc, dn, dm)
            d_ri = tl.where(mask, d_ri, 0.0)
            d_rf = tl.where(mask, d_rf, 0.0)
            d_rz = tl.where(mask, d_rz, 0.0)
            d_ro = tl.where(mask, d_ro, 0.0)
            tl.store(DINIT + field + st_off, dc, mask=mask)
            tl.store(DINIT + 2 * field + st_off, dn, mask=mask)
            tl.store(DINIT + 3 * field + st_off, dm, mask=mask)
            xt = DX + ((rows64[:, None] * S + t) * NH + hd) * 4 * DH + cols[None, :]
            tl.store(xt, d_ri, mask=mask)
            tl.store(xt + DH, d_rf, mask=mask)
            tl.store(xt + 2 * DH, d_rz, mask=mask)
            tl.store(xt + 3 * DH, d_ro, mask=mask)

            # R_g^T rows of this block: RT[n, k] = R[hd, k, g, j + n], a [BN, BDH] tile
            rt_off = (hd * DH + k_cols[None, :]) * 4 * DH + cols[:, None]
            rt_mask = mask_c[:, None] & mask_k[None, :]
            dh_prev += dot_wide(d_ri, tl.load(R + rt_off, mask=rt_mask, other=0.0), MODE)
            dh_prev += dot_wide(d_rf, tl.load(R + rt_off + DH, mask=rt_mask, other=0.0), MODE)
            dh_prev += dot_wide(d_rz, tl.load(R + rt_off + 2 * DH, mask=rt_mask, other=0.0), MODE)
            dh_prev += dot_wide(d_ro, tl.load(R + rt_off + 3 * DH, mask=rt_mask, other=0.0), MODE)
        tl.debug_barrier()  # every block has read this step's dh before it is replaced
        tl.store(DINIT + full_off, dh_prev, mask=mask_full)
        tl.debug_barrier()


__all__ = ["slstm_bwd_wide_kernel", "slstm_fwd_wide_kernel", "triton"]
