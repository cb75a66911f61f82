"""Forward pass of the sLSTM over a whole sequence in one kernel, plus the step helpers the backward reuses.

Grid ``(ceil(B / BB), NH)``: one program per head and block of ``BB`` batch rows (``BB >= 16`` so that
the recurrent product is a ``tl.dot``; rows past ``B`` and columns past ``DH`` are masked).  The program
walks the ``S`` steps in order; per step::

    raw_g = (x_g + b_g) + h_{t-1} @ R_g          g in (i, f, z, o), R_g = R[h, :, g, :]  [DH, DH]
    lfm   = log sigmoid(raw_f) + m_{t-1}
    m_t   = raw_i where n_{t-1} == 0, else max(raw_i, lfm)
    i'    = exp(min(raw_i - m_t, 0)),  f' = exp(min(lfm - m_t, 0))
    c_t   = f' c_{t-1} + i' tanh(raw_z),  n_t = f' n_{t-1} + i',  h_t = sigmoid(raw_o) c_t / n_t

The gate arithmetic and the carried state are float32.  With ``RESIDENT`` the four ``[DH, DH]`` tiles
of the head's recurrent weights are loaded once before the loop; otherwise (large ``DH``, where they
would not fit in registers) they are re-read every step, which hits the cache.

Layouts (all contiguous): ``x`` ``[B, S, NH, 4, DH]``, ``R`` ``[NH, DH, 4, DH]``, bias ``[NH, 4, DH]``,
initial state fields ``[B, NH, DH]``, output ``h`` ``[B, S, NH, DH]``, final state ``[4, B, NH, DH]``
(``h, c, n, m``).  With ``SAVE`` the kernel also writes, for the backward, the raw pre-activations
``G`` ``[NH, S, 4, B, DH]`` and the state entering every step ``ST`` ``[NH, S + 1, 4, B, DH]`` (slot
``t`` holds the state before step ``t``; slot ``S`` the final state), both float32.

``MODE`` is the input dtype: 0 float32 (products exactly in float32), 1 float16, 2 bfloat16 (products of
16-bit operands, float32 accumulation; ``h`` is bounded by one, so rounding it to 16 bits is safe).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import dot_in, logsigmoid, sigmoid, tanh
from .tiles import initial_state, load4, program_rows, store4


@triton.jit
def pointwise(ri, rf, rz, ro, c, n, m):
    """One step of the gate update in float32; returns the new ``h, c, n, m`` and the intermediates."""
    lfm = logsigmoid(rf) + m
    m_new = tl.where(n == 0.0, ri, tl.maximum(ri, lfm))
    d_i = ri - m_new  # exponent of the input gate before the clamp
    d_f = lfm - m_new  # exponent of the forget gate before the clamp
    ig = tl.exp(tl.minimum(d_i, 0.0))
    fg = tl.exp(tl.minimum(d_f, 0.0))
    tz = tanh(rz)
    c_new = fg * c + ig * tz
    n_new = fg * n + ig
    so = sigmoid(ro)
    h_new = so * c_new / n_new
    return h_new, c_new, n_new, m_new, lfm, d_i, d_f, ig, fg, tz, so


@triton.jit
def slstm_fwd_kernel(
    X, R, BIAS,  # inputs
    H0, C0, N0, M0,  # initial state (read when HAS_INIT)
    H,  # output [B, S, NH, DH]
    ST, G,  # per-step states and raw gates (written when SAVE)
    FINAL,  # final state [4, B, NH, DH]
    B, S, NH, DH,
    BB: tl.constexpr,
    BDH: tl.constexpr,
    HAS_INIT: tl.constexpr,
    SAVE: tl.constexpr,
    RESIDENT: tl.constexpr,
    MODE: tl.constexpr,
):  # fmt: skip
    _pid_b, hd, rows64, mask_r = program_rows(B, BB)
    cols = tl.arange(0, BDH)
    mask_c = cols < DH
    mask = mask_r[:, None] & mask_c[None, :]

    # recurrent kernel of this head: R[hd, d_in, g, d_out] at ((hd * DH + d_in) * 4 + g) * DH + d_out
    r_off = (hd * DH + cols[:, None]) * 4 * DH + cols[None, :]
    r_mask = mask_c[:, None] & mask_c[None, :]
    if RESIDENT:
        r_i, r_f, r_z, r_o = load4(R, r_off, DH, r_mask)
    b_i, b_f, b_z, b_o = load4(BIAS, hd * 4 * DH + cols, DH, mask_c)
    b_i = b_i.to(tl.float32)[None, :]
    b_f = b_f.to(tl.float32)[None, :]
    b_z = b_z.to(tl.float32)[None, :]
    b_o = b_o.to(tl.float32)[None, :]

    st_off = (rows64[:, None] * NH + hd) * DH + cols[None, :]  # [B, NH, DH] fields
    h, c, n, m = initial_state(H0, C0, N0, M0, st_off, mask, HAS_INIT, BB, BDH)

    x_off = (rows64[:, None] * S * NH + hd) * 4 * DH + cols[None, :]  # x[b, 0, hd, 0, d]
    h_off = (rows64[:, None] * S * NH + hd) * DH + cols[None, :]  # h[b, 0, hd, d]
    sv_off = rows64[:, None] * DH + cols[None, :]  # [.., B, DH] slot of ST and G
    slot = B * DH  # one [B, DH] field of ST / G
    if SAVE:
        store4(ST, hd * (S + 1) * 4 * slot + sv_off, slot, h, c, n, m, mask)

    for t in range(S):
        if RESIDENT:
            ri_w = r_i
            rf_w = r_f
            rz_w = r_z
            ro_w = r_o
        else:
            ri_w, rf_w, rz_w, ro_w = load4(R, r_off, DH, r_mask)
        x_i, x_f, x_z, x_o = load4(X, x_off + t * NH * 4 * DH, DH, mask)
        ri = (x_i.to(tl.float32) + b_i) + dot_in(h, ri_w, MODE)
        rf = (x_f.to(tl.float32) + b_f) + dot_in(h, rf_w, MODE)
        rz = (x_z.to(tl.float32) + b_z) + dot_in(h, rz_w, MODE)
        ro = (x_o.to(tl.float32) + b_o) + dot_in(h, ro_w, MODE)
        h, c, n, m, _lfm, _di, _df, _ig, _fg, _tz, _so = pointwise(ri, rf, rz, ro, c, n, m)
        tl.store(H + h_off + t * NH * DH, h.to(H.dtype.element_ty), mask=mask)
        if SAVE:
            store4(G, (hd * S + t) * 4 * slot + sv_off, slot, ri, rf, rz, ro, mask)
            store4(ST, (hd * (S + 1) + t + 1) * 4 * slot + sv_off, slot, h, c, n, m, mask)

    store4(FINAL, st_off, B * NH * DH, h, c, n, m, mask)


__all__ = ["pointwise", "slstm_fwd_kernel", "triton"]
