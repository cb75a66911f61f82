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
from .tiles import initial_state, load4, program_rows, store4


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
    _pid_b, hd, rows64, mask_r = program_rows(B, BB)
    k_cols = tl.arange(0, BDH)
    mask_k = k_cols < DH
    mask_full = mask_r[:, None] & mask_k[None, :]
    field = B * NH * DH  # one field of FINAL
    slot = B * DH  # one [B, DH] field of ST / G
    full_off = (rows64[:, None] * NH + hd) * DH + k_cols[None, :]  # [B, NH, DH] fields, all columns

    # initial state into the carried state (and slot 0 of ST)
    h, c, n, m = initial_state(H0, C0, N0, M0, full_off, mask_full, HAS_INIT, BB, BDH)
    store4(FINAL, full_off, field, h, c, n, m, mask_full)
    if SAVE:
        slot0 = hd * (S + 1) * 4 * slot + rows64[:, None] * DH + k_cols[None, :]
        store4(ST, slot0, slot, h, c, n, m, mask_full)
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
            ri_w, rf_w, rz_w, ro_w = load4(R, r_off, DH, mask_k[:, None] & mask_c[None, :])
            b_i, b_f, b_z, b_o = load4(BIAS, hd * 4 * DH + cols, DH, mask_c)
            x_off = ((rows64[:, None] * S + t) * NH + hd) * 4 * DH + cols[None, :]
            x_i, x_f, x_z, x_o = load4(X, x_off, DH, mask)
            ri = (x_i.to(tl.float32) + b_i.to(tl.float32)[None, :]) + dot_in(h_prev, ri_w, MODE)
            rf = (x_f.to(tl.float32) + b_f.to(tl.float32)[None, :]) + dot_in(h_prev, rf_w, MODE)
            rz = (x_z.to(tl.float32) + b_z.to(tl.float32)[None, :]) + dot_in(h_prev, rz_w, MODE)
            ro = (x_o.to(tl.float32) + b_o.to(tl.float32)[None, :]) + dot_in(h_prev, ro_w, MODE)

            st_off = (rows64[:, None] * NH + hd) * DH + cols[None, :]
            c_p = tl.load(FINAL + field + st_off, mask=mask, other=0.0)
            n_p = tl.load(FINAL + 2 * field + st_off, mask=mask, other=0.0)
            m_p = tl.load(FINAL + 3 * field + st_off, mask=mask, other=0.0)
            # (names of their own: a loop may not change the shape of the [BB, BDH] h, c, n, m above)
            h_b, c_b, n_b, m_b, _lfm, _di, _df, _ig, _fg, _tz, _so = pointwise(ri, rf, rz, ro, c_p, n_p, m_p)
            store4(FINAL, st_off, field, h_b, c_b, n_b, m_b, mask)
            h_off = ((rows64[:, None] * S + t) * NH + hd) * DH + cols[None, :]
            tl.store(H + h_off, h_b.to(H.dtype.element_ty), mask=mask)
            if SAVE:
                sv_off = rows64[:, None] * DH + cols[None, :]
                store4(G, (hd * S + t) * 4 * slot + sv_off, slot, ri, rf, rz, ro, mask)
                store4(ST, (hd * (S + 1) + t + 1) * 4 * slot + sv_off, slot, h_b, c_b, n_b, m_b, mask)
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
    _pid_b, hd, rows64, mask_r = program_rows(B, BB)
    k_cols = tl.arange(0, BDH)
    mask_k = k_cols < DH
    mask_full = mask_r[:, None] & mask_k[None, :]
    field = B * NH * DH
    slot = B * DH
    full_off = (rows64[:, None] * NH + hd) * DH + k_cols[None, :]

    # the carried gradients start as those of the final state
    dh0, dc0, dn0, dm0 = load4(DFINAL, full_off, field, mask_full)
    store4(DINIT, full_off, field, dh0, dc0, dn0, dm0, mask_full)
    tl.debug_barrier()

    for k in range(S):
        t = S - 1 - k
        dh_prev = tl.zeros([BB, BDH], dtype=tl.float32)  # sum_g draw_g @ R_g^T over all column blocks
        for j in range(0, DH, BN):
            cols = j + tl.arange(0, BN)
            mask_c = cols < DH
            mask = mask_r[:, None] & mask_c[None, :]
            sv_off = rows64[:, None] * DH + cols[None, :]
            ri, rf, rz, ro = load4(G, (hd * S + t) * 4 * slot + sv_off, slot, mask)
            base = (hd * (S + 1) + t) * 4 * slot + sv_off  # state entering step t (its h is not needed)
            c_p = tl.load(ST + base + slot, mask=mask, other=0.0)
            n_p = tl.load(ST + base + 2 * slot, mask=mask, other=0.0)
            m_p = tl.load(ST + base + 3 * slot, mask=mask, other=0.0)

            st_off = (rows64[:, None] * NH + hd) * DH + cols[None, :]
            h_off = ((rows64[:, None] * S + t) * NH + hd) * DH + cols[None, :]
            dh, dc, dn, dm = load4(DINIT, st_off, field, mask)
            dh += tl.load(DH_OUT + h_off, mask=mask, other=0.0).to(tl.float32)
            d_ri, d_rf, d_rz, d_ro, dc, dn, dm = step_bwd(ri, rf, rz, ro, c_p, n_p, m_p, dh, dc, dn, dm)
            d_ri = tl.where(mask, d_ri, 0.0)
            d_rf = tl.where(mask, d_rf, 0.0)
            d_rz = tl.where(mask, d_rz, 0.0)
            d_ro = tl.where(mask, d_ro, 0.0)
            # dc, dn, dm of this block's columns now refer to the entering state; dh is replaced after the loop
            tl.store(DINIT + field + st_off, dc, mask=mask)
            tl.store(DINIT + 2 * field + st_off, dn, mask=mask)
            tl.store(DINIT + 3 * field + st_off, dm, mask=mask)
            x_off = ((rows64[:, None] * S + t) * NH + hd) * 4 * DH + cols[None, :]
            store4(DX, x_off, DH, d_ri, d_rf, d_rz, d_ro, mask)

            # R_g^T rows of this block: RT[n, k] = R[hd, k, g, j + n], a [BN, BDH] tile
            rt_off = (hd * DH + k_cols[None, :]) * 4 * DH + cols[:, None]
            ri_t, rf_t, rz_t, ro_t = load4(R, rt_off, DH, mask_c[:, None] & mask_k[None, :])
            dh_prev += dot_wide(d_ri, ri_t, MODE)
            dh_prev += dot_wide(d_rf, rf_t, MODE)
            dh_prev += dot_wide(d_rz, rz_t, MODE)
            dh_prev += dot_wide(d_ro, ro_t, MODE)
        tl.debug_barrier()  # every block has read this step's dh before it is replaced
        tl.store(DINIT + full_off, dh_prev, mask=mask_full)
        tl.debug_barrier()


__all__ = ["slstm_bwd_wide_kernel", "slstm_fwd_wide_kernel", "triton"]
