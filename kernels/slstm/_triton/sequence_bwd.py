"""Backward pass of the sLSTM over a whole sequence: one kernel walking the steps in reverse.

Grid ``(ceil(B / BB), NH)`` as in the forward.  The program carries the gradients of the state leaving
the step being processed (``dh`` from the next step's recurrent product, ``dc``, ``dn``, ``dm``; at the
start those of the final state), recomputes the step's gate update from the saved raw pre-activations
``G`` and the saved entering state ``ST`` (the same float32 code as the forward, so every comparison
comes out the same), and produces:

* ``draw`` ``[BB, 4, DH]``, the gradient of the raw pre-activations, which is also ``dx`` (written as
  float32 to ``DX`` ``[B, S, NH, 4, DH]``; the wrapper sums it over batch and time for the bias);
* ``dh_{t-1} = sum_g draw_g @ R_g^T``;
* with ``ACC_DR`` (off by default: measured slower, see docs/benchmarks.md, 'sLSTM launch heuristics'),
  ``dR_g += h_{t-1}^T @ draw_g``, kept in registers and
  written once per batch block to ``DR`` ``[NBB, NH, DH, 4, DH]`` (the wrapper sums the blocks; without it
  the wrapper forms ``dR`` from ``DX`` and the saved states with ``sum_outer``).

The gradients are those autograd gives for the reference loop, ties included: ``torch.minimum`` and
``torch.maximum`` send half the gradient to each side where their arguments are equal (and every step
has at least one such tie, as ``m_t`` equals one of the two exponents), and ``where(n == 0, ...)`` sends
the gradient of ``m_t`` only to the branch it took, none to ``n``.  The initial-state gradients end up
in ``DINIT`` ``[4, B, NH, DH]`` (``h, c, n, m``).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ..._triton.common import dot_wide, sigmoid
from .sequence_fwd import pointwise
from .tiles import load4, program_rows, store4


@triton.jit
def clamp_weight(x):
    # d min(x, 0) / dx as autograd gives it: 1 below zero, 1/2 at the tie, 0 above
    return tl.where(x < 0.0, 1.0, tl.where(x == 0.0, 0.5, 0.0))


@triton.jit
def step_bwd(ri, rf, rz, ro, c_p, n_p, m_p, dh, dc, dn, dm):
    """Backward of one step's gate update (float32): from the raw gates, the entering state ``c_p, n_p, m_p``
    and the gradients of the leaving ``h, c, n, m``, the gradients of the four raw gates and of the entering
    ``c, n, m`` (that of the entering ``h`` goes through the recurrent product, outside)."""
    _h, c, n, _m, lfm, d_i, d_f, ig, fg, tz, so = pointwise(ri, rf, rz, ro, c_p, n_p, m_p)
    # h = sigmoid(o) * c / n
    d_ro = dh * c / n * so * (1.0 - so)
    dc = dc + dh * so / n
    dn = dn - dh * so * c / (n * n)
    # c = f' c_p + i' tanh(z), n = f' n_p + i'
    d_ig = dc * tz + dn
    d_fg = dc * c_p + dn * n_p
    d_rz = dc * ig * (1.0 - tz * tz)
    # i' = exp(min(ri - m, 0)), f' = exp(min(lfm - m, 0))
    g_i = d_ig * ig * clamp_weight(d_i)
    g_f = d_fg * fg * clamp_weight(d_f)
    d_mnew = dm - g_i - g_f
    # m = where(n_p == 0, ri, max(ri, lfm))
    first = n_p == 0.0
    d_max = tl.where(first, 0.0, d_mnew)
    w_i = tl.where(ri > lfm, 1.0, tl.where(ri == lfm, 0.5, 0.0))
    d_ri = g_i + tl.where(first, d_mnew, 0.0) + d_max * w_i
    d_lfm = g_f + d_max * (1.0 - w_i)
    d_rf = d_lfm * sigmoid(-rf)  # lfm = log sigmoid(rf) + m_p
    return d_ri, d_rf, d_rz, d_ro, dc * fg, dn * fg, d_lfm


@triton.jit
def slstm_bwd_kernel(
    R,  # recurrent kernel [NH, DH, 4, DH]
    ST, G,  # saved by the forward
    DH_OUT,  # gradient of the outputs [B, S, NH, DH]
    DFINAL,  # gradient of the final state [4, B, NH, DH] (float32)
    DX,  # gradient of the raw pre-activations [B, S, NH, 4, DH] (float32)
    DR,  # per-block recurrent-kernel gradients [NBB, NH, DH, 4, DH] (written when ACC_DR)
    DINIT,  # gradient of the initial state [4, B, NH, DH]
    B, S, NH, DH,
    BB: tl.constexpr,
    BDH: tl.constexpr,
    RESIDENT: tl.constexpr,
    ACC_DR: tl.constexpr,
    MODE: tl.constexpr,
):  # fmt: skip
    pid_b, hd, rows64, mask_r = program_rows(B, BB)
    cols = tl.arange(0, BDH)
    mask_c = cols < DH
    mask = mask_r[:, None] & mask_c[None, :]

    # the weights enter only as R_g^T [DH_out, DH_in]: read them transposed from memory, not tl.trans per step
    r_mask = mask_c[:, None] & mask_c[None, :]
    rt_off = (hd * DH + cols[None, :]) * 4 * DH + cols[:, None]
    if RESIDENT:
        rt_i, rt_f, rt_z, rt_o = load4(R, rt_off, DH, r_mask)
    if ACC_DR:
        dr_i = tl.zeros([BDH, BDH], dtype=tl.float32)
        dr_f = tl.zeros([BDH, BDH], dtype=tl.float32)
        dr_z = tl.zeros([BDH, BDH], dtype=tl.float32)
        dr_o = tl.zeros([BDH, BDH], dtype=tl.float32)

    st_off = (rows64[:, None] * NH + hd) * DH + cols[None, :]  # [B, NH, DH] fields
    field = B * NH * DH
    dh, dc, dn, dm = load4(DFINAL, st_off, field, mask)

    x_off = (rows64[:, None] * S * NH + hd) * 4 * DH + cols[None, :]  # dx[b, 0, hd, 0, d]
    h_off = (rows64[:, None] * S * NH + hd) * DH + cols[None, :]  # dh_out[b, 0, hd, d]
    sv_off = rows64[:, None] * DH + cols[None, :]
    slot = B * DH

    for k in range(S):
        t = S - 1 - k
        ri, rf, rz, ro = load4(G, (hd * S + t) * 4 * slot + sv_off, slot, mask)
        h_p, c_p, n_p, m_p = load4(ST, (hd * (S + 1) + t) * 4 * slot + sv_off, slot, mask)  # entering step t
        dh = dh + tl.load(DH_OUT + h_off + t * NH * DH, mask=mask, other=0.0).to(tl.float32)
        d_ri, d_rf, d_rz, d_ro, dc, dn, dm = step_bwd(ri, rf, rz, ro, c_p, n_p, m_p, dh, dc, dn, dm)
        d_ri = tl.where(mask, d_ri, 0.0)
        d_rf = tl.where(mask, d_rf, 0.0)
        d_rz = tl.where(mask, d_rz, 0.0)
        d_ro = tl.where(mask, d_ro, 0.0)
        store4(DX, x_off + t * NH * 4 * DH, DH, d_ri, d_rf, d_rz, d_ro, mask)

        if RESIDENT:
            ri_t = rt_i
            rf_t = rt_f
            rz_t = rt_z
            ro_t = rt_o
        else:
            ri_t, rf_t, rz_t, ro_t = load4(R, rt_off, DH, r_mask)
        dh = dot_wide(d_ri, ri_t, MODE)
        dh += dot_wide(d_rf, rf_t, MODE)
        dh += dot_wide(d_rz, rz_t, MODE)
        dh += dot_wide(d_ro, ro_t, MODE)
        if ACC_DR:
            h_pt = tl.trans(h_p)
            dr_i += dot_wide(h_pt, d_ri, MODE)
            dr_f += dot_wide(h_pt, d_rf, MODE)
            dr_z += dot_wide(h_pt, d_rz, MODE)
            dr_o += dot_wide(h_pt, d_ro, MODE)

    store4(DINIT, st_off, field, dh, dc, dn, dm, mask)
    if ACC_DR:
        # DR[pid_b, hd, d_in, g, d_out]; row d_in, column d_out
        dr_off = ((pid_b * NH + hd) * DH + cols[:, None]) * 4 * DH + cols[None, :]
        store4(DR, dr_off, DH, dr_i, dr_f, dr_z, dr_o, r_mask)


__all__ = ["clamp_weight", "slstm_bwd_kernel", "step_bwd", "triton"]
