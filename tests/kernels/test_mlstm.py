"""mLSTM kernels: native chunkwise and step against the float64 recurrent reference."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.kernels import mLSTMState, mlstm_sequence, mlstm_step
from xlstm_ts.kernels.mlstm import (
    mlstm_chunkwise_native,
    mlstm_parallel_naive,
    mlstm_recurrent_naive,
    mlstm_step_native,
)

# Per-dtype tolerances of the native kernel against the float64 reference (rtol, atol).
# bf16/fp16: h is rounded to the input dtype on output (8 / 11 mantissa bits).
TOL = {
    torch.float64: (1e-10, 1e-10),
    torch.float32: (1e-4, 1e-5),
    torch.bfloat16: (2e-2, 2e-2),
    torch.float16: (5e-3, 5e-3),
}


def make_inputs(B, NH, S, DK, DV, dtype=torch.float64, seed=0, gate_scale=3.0, state=False):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, NH, S, DK, generator=g, dtype=torch.float64)
    k = torch.randn(B, NH, S, DK, generator=g, dtype=torch.float64)
    v = torch.randn(B, NH, S, DV, generator=g, dtype=torch.float64)
    i = gate_scale * torch.randn(B, NH, S, generator=g, dtype=torch.float64)
    f = gate_scale * torch.randn(B, NH, S, generator=g, dtype=torch.float64) + 2.0
    tensors = [t.to(dtype) for t in (q, k, v, i, f)]
    init = None
    if state:
        init = mLSTMState(
            torch.randn(B, NH, DK, DV, generator=g, dtype=torch.float64),
            torch.randn(B, NH, DK, generator=g, dtype=torch.float64).abs(),
            torch.randn(B, NH, 1, generator=g, dtype=torch.float64),
        )
    return tensors, init


def _loss(h, state, seed=1):
    g = torch.Generator().manual_seed(seed)
    total = (h.double() * torch.randn(h.shape, generator=g, dtype=torch.float64).to(h.device)).sum()
    for t in state:
        total = (
            total + (t.double() * torch.randn(t.shape, generator=g, dtype=torch.float64).to(t.device)).sum()
        )
    return total


def _grads(fn, inputs, init):
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    init_leaves = (
        None if init is None else mLSTMState(*(t.detach().clone().requires_grad_(True) for t in init))
    )
    h, state = fn(*leaves, init_leaves)
    _loss(h, state).backward()
    grads = [t.grad for t in leaves] + ([] if init_leaves is None else [t.grad for t in init_leaves])
    return h, state, grads


GRAD_NAMES = ["dq", "dk", "dv", "di", "df", "dc0", "dn0", "dm0"]

SHAPES = [
    pytest.param(1, 1, 1, 4, 4, 16, id="S1"),
    pytest.param(2, 3, 7, 5, 3, 16, id="S7-odd-dims"),
    pytest.param(1, 2, 16, 8, 8, 16, id="S16-one-chunk"),
    pytest.param(2, 2, 63, 16, 12, 16, id="S63"),
    pytest.param(1, 2, 65, 16, 16, 16, id="S65"),
    pytest.param(2, 1, 93, 8, 24, 32, id="S93-DK<DV"),
    pytest.param(1, 2, 40, 33, 7, 64, id="S<chunk-DK33"),
]


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
@pytest.mark.parametrize("B,NH,S,DK,DV,chunk", SHAPES)
def test_chunkwise_matches_recurrent_reference_float64(B, NH, S, DK, DV, chunk, with_state):
    inputs, init = make_inputs(B, NH, S, DK, DV, state=with_state)
    h_ref, st_ref, g_ref = _grads(lambda *a: mlstm_recurrent_naive(*a[:5], a[5]), inputs, init)
    h, st, g = _grads(
        lambda *a: mlstm_chunkwise_native(*a[:5], a[5], return_last_state=True, chunk_size=chunk),
        inputs,
        init,
    )
    torch.testing.assert_close(h, h_ref, rtol=1e-10, atol=1e-10)
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=f"final state {name}")
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=False):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-9, msg=f"gradient {name}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("S", [1, 7, 65])
def test_chunkwise_low_precision_against_float64(dtype, S):
    inputs, _ = make_inputs(2, 2, S, 16, 16, dtype=dtype)
    h, st = mlstm_chunkwise_native(*inputs, return_last_state=True, chunk_size=16)
    assert h.dtype == dtype
    assert all(t.dtype == torch.float32 for t in st), "states must be float32"
    h_ref, st_ref = mlstm_recurrent_naive(*(t.double() for t in inputs))
    rtol, atol = TOL[dtype]
    torch.testing.assert_close(h.double(), h_ref, rtol=rtol, atol=atol)
    for a, b in zip(st, st_ref, strict=True):
        torch.testing.assert_close(a.double(), b, rtol=1e-4, atol=1e-4)


def test_float32_gradients_against_float64():
    inputs, init = make_inputs(2, 2, 37, 8, 8, state=True)
    _, _, g_ref = _grads(lambda *a: mlstm_recurrent_naive(*a[:5], a[5]), inputs, init)
    inputs32 = [t.float() for t in inputs]
    init32 = mLSTMState(*(t.float() for t in init))
    _, _, g = _grads(lambda *a: mlstm_chunkwise_native(*a[:5], a[5], True, chunk_size=16), inputs32, init32)
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=True):
        torch.testing.assert_close(a.double(), b, rtol=1e-3, atol=1e-4, msg=f"gradient {name}")


def test_gradcheck_chunkwise():
    inputs, init = make_inputs(1, 2, 5, 3, 2, state=True)
    leaves = [t.requires_grad_(True) for t in (*inputs, *init)]

    def fn(q, k, v, i, f, c, n, m):
        h, st = mlstm_chunkwise_native(q, k, v, i, f, mLSTMState(c, n, m), True, chunk_size=2)
        return h, *st

    assert torch.autograd.gradcheck(fn, leaves)


@pytest.mark.parametrize("split", [1, 5, 16, 17])
def test_state_passing_equals_full_sequence(split):
    inputs, init = make_inputs(2, 2, 40, 8, 6, state=True)
    h_full, st_full = mlstm_chunkwise_native(*inputs, init, True, chunk_size=8)
    first = [t[:, :, :split] for t in inputs]
    second = [t[:, :, split:] for t in inputs]
    h1, st1 = mlstm_chunkwise_native(*first, init, True, chunk_size=8)
    h2, st2 = mlstm_chunkwise_native(*second, st1, True, chunk_size=8)
    torch.testing.assert_close(torch.cat([h1, h2], dim=2), h_full, rtol=1e-10, atol=1e-10)
    for a, b in zip(st2, st_full, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_step_loop_equals_chunkwise(dtype):
    inputs, _ = make_inputs(2, 3, 21, 8, 4, dtype=dtype)
    h_full, st_full = mlstm_chunkwise_native(*inputs, None, True, chunk_size=8)
    state, hs = None, []
    for t in range(21):
        h_t, state = mlstm_step_native(*(x[:, :, t] for x in inputs), state)
        hs.append(h_t)
    rtol, atol = TOL[dtype]
    torch.testing.assert_close(torch.stack(hs, 2), h_full, rtol=rtol, atol=atol)
    for a, b in zip(state, st_full, strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)


def test_parallel_form_agrees_up_to_eps_convention():
    inputs, _ = make_inputs(2, 2, 30, 8, 8, gate_scale=1.0)
    h_par = mlstm_parallel_naive(*inputs)
    h_rec, _ = mlstm_recurrent_naive(*inputs)
    # The two forms add eps on different scales (row max vs carried m); with |i| ~ 1 this is << 1e-4.
    torch.testing.assert_close(h_par, h_rec, rtol=1e-4, atol=1e-5)
    h_rec_no_eps, _ = mlstm_recurrent_naive(*inputs, eps=0.0)
    torch.testing.assert_close(mlstm_parallel_naive(*inputs, eps=0.0), h_rec_no_eps, rtol=1e-9, atol=1e-9)


def test_long_sequence_and_large_inputs_stay_finite():
    g = torch.Generator().manual_seed(0)
    S = 16384
    q, k, v = (1e3 * torch.randn(1, 2, S, 16, generator=g) for _ in range(3))
    i = 20 * torch.randn(1, 2, S, generator=g)
    f = 20 * torch.randn(1, 2, S, generator=g)
    h, st = mlstm_sequence(q, k, v, i, f, return_last_state=True)
    assert torch.isfinite(h).all()
    assert all(torch.isfinite(t).all() for t in st)


def test_dispatch_validates_shapes_with_clear_messages():
    (q, k, v, i, f), _ = make_inputs(1, 2, 5, 4, 4, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"v must be \[B, NH, S, DV\]"):
        mlstm_sequence(q, k, v[:, :1], i, f)
    with pytest.raises(ValueError, match="igate must have shape"):
        mlstm_sequence(q, k, v, i[..., :3], f)
    bad_state = mLSTMState(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4), torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"mLSTM state \(c, n, m\) must have shapes"):
        mlstm_sequence(q, k, v, i, f, initial_state=bad_state)
    with pytest.raises(ValueError, match="neither accepts nor returns states"):
        mlstm_sequence(q, k, v, i, f, return_last_state=True, kernel="parallel--naive")
    h, st = mlstm_step(q[:, :, 0], k[:, :, 0], v[:, :, 0], i[:, :, 0], f[:, :, 0])
    assert h.shape == (1, 2, 4) and st.m.shape == (1, 2, 1)
