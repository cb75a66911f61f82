"""``@triton.jit`` helpers shared by the sLSTM kernels for the tile bookkeeping: which head and batch rows a
program owns, and the four fields (gates ``i, f, z, o`` or state ``h, c, n, m``) that every layout stores
side by side, ``stride`` elements apart."""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def program_rows(B, BB: tl.constexpr):
    """This program's batch block, head, batch rows (int64) and their mask (grid ``(ceil(B / BB), NH)``)."""
    pid_b = tl.program_id(0)
    rows = pid_b * BB + tl.arange(0, BB)
    return pid_b, tl.program_id(1).to(tl.int64), rows.to(tl.int64), rows < B


@triton.jit
def load4(PTR, off, stride, mask):
    """The four fields at ``PTR + off + k * stride``, ``k = 0..3`` (padding zero)."""
    a = tl.load(PTR + off, mask=mask, other=0.0)
    b = tl.load(PTR + off + stride, mask=mask, other=0.0)
    c = tl.load(PTR + off + 2 * stride, mask=mask, other=0.0)
    d = tl.load(PTR + off + 3 * stride, mask=mask, other=0.0)
    return a, b, c, d


@triton.jit
def store4(PTR, off, stride, a, b, c, d, mask):
    """Store four fields at ``PTR + off + k * stride``, ``k = 0..3``."""
    tl.store(PTR + off, a, mask=mask)
    tl.store(PTR + off + stride, b, mask=mask)
    tl.store(PTR + off + 2 * stride, c, mask=mask)
    tl.store(PTR + off + 3 * stride, d, mask=mask)


@triton.jit
def initial_state(H0, C0, N0, M0, off, mask, HAS_INIT: tl.constexpr, BB: tl.constexpr, BDH: tl.constexpr):
    """``h, c, n, m`` at the start: read from the four ``[B, NH, DH]`` fields, or zeros."""
    if HAS_INIT:
        h = tl.load(H0 + off, mask=mask, other=0.0)
        c = tl.load(C0 + off, mask=mask, other=0.0)
        n = tl.load(N0 + off, mask=mask, other=0.0)
        m = tl.load(M0 + off, mask=mask, other=0.0)
    else:
        h = tl.zeros([BB, BDH], dtype=tl.float32)
        c = tl.zeros([BB, BDH], dtype=tl.float32)
        n = tl.zeros([BB, BDH], dtype=tl.float32)
        m = tl.zeros([BB, BDH], dtype=tl.float32)
    return h, c, n, m


__all__ = ["initial_state", "load4", "program_rows", "store4", "triton"]
