"""Fused Triton mLSTM step against the float64 references.

Without a CUDA device the kernel runs under Triton's interpreter (``TRITON_INTERPRET=1``, set by
tests/conftest.py before anything imports Triton), at tiny sizes.  The ``gpu`` tests run the compiled kernel at
production head sizes.  Every output buffer the wrapper allocates is poisoned with NaN (see the
``poison_empty`` fixture), so an element the kernel forgets to write fails the comparison.
"""

from __future__ import annotations

import pytest
import torch

triton = pytest.importorskip("triton")

import xlstm_ts.kernels.mlstm.triton_step as step_mod  # noqa: E402
from xlstm_ts.kernels import mLSTMState  # noqa: E402
from xlstm_ts.kernels.mlstm import (  # noqa: E402
    mlstm_chunkwise_native,
    mlstm_recurrent_naive,
    mlstm_step_native,
)
from xlstm_ts.kernels.mlstm.triton_step import mlstm_step_triton  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# (rtol, atol) of h against the float64 reference; states are float32 throughout and get STATE_TOL.
# float16 / bfloat16: h is rounded to 11 / 8 mantissa bits on output.
TOL = {
    torch.float32: (1e-4, 1e-5),
    torch.float16: (5e-3, 5e-3),
    torch.bfloat16: (2e-2, 2e-2),
}
STATE_TOL = {torch.float32: (1e-4, 1e-5), torch.float16: (1e-4, 1e-4), torch.bfloat16: (1e-4, 1e-4)}


@pytest.fixture(autouse=True)
def poison_empty(monkeypatch):
    """Make ``torch.empty`` return NaN-filled floating tensors for the duration of a test."""
    original = torch.empty

    def empty_nan(*args, **kwargs):
        out = original(*args, **kwargs)
        if out.is_floating_point():
            out.fill_(float("nan"))
        return out

    monkeypatch.setattr(torch, "empty", empty_nan)


def make_step(B, NH, DK, DV, dtype=torch.float32, seed=0, state=None, gate_scale=3.0, S=None):
    """Random step inputs (``S=None``) or a sequence ``[B, NH, S, ...]``, rounded to ``dtype``.

    ``state``: None, ``"pos"`` (n >= 0) or ``"rand"`` (n of any sign); m is random in both cases.
    """
    g = torch.Generator().manual_seed(seed)
    lead = (B, NH) if S is None else (B, NH, S)
    q = torch.randn(*lead, DK, generator=g, dtype=torch.float64)
    k = torch.randn(*lead, DK, generator=g, dtype=torch.float64)
    v = torch.randn(*lead, DV, generator=g, dtype=torch.float64)
    i = gate_scale * torch.randn(*lead, generator=g, dtype=torch.float64)
    f = gate_scale * torch.randn(*lead, generator=g, dtype=torch.float64) + 2.0
    inputs = [t.to(dtype) for t in (q, k, v, i, f)]
    init = None
    if state is not None:
        n = torch.randn(B, NH, DK, generator=g, dtype=torch.float64)
        init = mLSTMState(
            torch.randn(B, NH, DK, DV, generator=g, dtype=torch.float64).float(),
            (n.abs() if state == "pos" else n).float(),
            torch.randn(B, NH, 1, generator=g, dtype=torch.float64).float(),
        )
    return inputs, init


def to_device(inputs, init):
    inputs = [t.to(DEVICE) for t in inputs]
    init = None if init is None else mLSTMState(*(t.to(DEVICE) for t in init))
    return inputs, init


def reference(inputs, init, eps=1e-6):
    """float64 recurrent reference over one step (S = 1), on the CPU."""
    q, k, v, i, f = (t.detach().cpu().double()[:, :, None] for t in inputs)  # [B, NH, ...] -> [B, NH, 1, ...]
    init64 = None if init is None else mLSTMState(*(t.detach().cpu().double() for t in init))
    h, state = mlstm_recurrent_naive(q, k, v, i, f, init64, eps=eps)
    return h[:, :, 0], state  # [B, NH, 1, DV] -> [B, NH, DV]


def assert_matches(h, state, h_ref, state_ref, dtype, what=""):
    assert torch.isfinite(h).all(), f"{what}: h has non-finite (unwritten?) elements"
    for name, t in zip("cnm", state):
        assert t.dtype == torch.float32, f"{what}: state {name} must be float32"
        assert torch.isfinite(t).all(), f"{what}: state {name} has non-finite (unwritten?) elements"
    rtol, atol = TOL[dtype]
    torch.testing.assert_close(h.cpu().double(), h_ref, rtol=rtol, atol=atol, msg=f"{what}: h")
    s_rtol, s_atol = STATE_TOL[dtype]
    for name, a, b in zip("cnm", state, state_ref):
        torch.testing.assert_close(a.cpu().double(), b, rtol=s_rtol, atol=s_atol, msg=f"{what}: state {name}")


SHAPES = [
    pytest.param(1, 1, 4, 4, id="B1-NH1-D4"),
    pytest.param(2, 3, 5, 3, id="odd-DK5-DV3-B2-NH3"),
    pytest.param(1, 2, 8, 4, id="DK8>DV4"),
    pytest.param(2, 2, 33, 40, id="DK33-DV40-B2-NH2"),
]


@pytest.mark.parametrize("state", [None, "pos", "rand"], ids=["zero-state", "state-n-pos", "state-n-rand"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
@pytest.mark.parametrize("B,NH,DK,DV", SHAPES)
def test_step_matches_float64_reference(B, NH, DK, DV, dtype, state):
    inputs, init = to_device(*make_step(B, NH, DK, DV, dtype=dtype, state=state))
    h, new_state = mlstm_step_triton(*inputs, init)
    assert h.dtype == dtype and h.shape == (B, NH, DV)
    assert tuple(new_state.m.shape) == (B, NH, 1)
    h_ref, state_ref = reference(inputs, init)
    assert_matches(h, new_state, h_ref, state_ref, dtype)


@pytest.mark.parametrize("B,NH,DK,DV", [(1, 2, 33, 40), (2, 1, 5, 3), (1, 1, 16, 9)])
def test_many_value_blocks(monkeypatch, B, NH, DK, DV):
    """A small tile target splits DV over several column blocks (the last one partial)."""
    monkeypatch.setattr(step_mod, "_TILE_ELEMENTS", 64)
    block_dk, block_dv, _ = step_mod._launch_config(DK, DV, B * NH, 1)
    assert block_dk >= 16 and block_dv == 4
    inputs, init = to_device(*make_step(B, NH, DK, DV, state="rand", seed=3))
    h, new_state = mlstm_step_triton(*inputs, init)
    assert_matches(h, new_state, *reference(inputs, init), torch.float32)


def test_large_gates_stay_finite():
    """Gate pre-activations up to +-50 and a large stabiliser: no overflow, same values."""
    g = torch.Generator().manual_seed(7)
    (q, k, v, _, _), init = make_step(2, 3, 8, 6, state="rand", seed=7)
    signs = torch.randint(0, 2, (2, 2, 3), generator=g).float() * 2 - 1
    i = 50.0 * signs[0]  # [B, NH], each +-50
    f = 50.0 * signs[1]
    init = init._replace(m=init.m * 30.0)
    for state in (None, init):
        inputs, st = to_device([q, k, v, i, f], state)
        h, new_state = mlstm_step_triton(*inputs, st)
        assert_matches(h, new_state, *reference(inputs, st), torch.float32, what=f"state={state is not None}")


def test_step_loop_equals_chunkwise():
    """20 steps of the fused kernel == the native chunkwise form over the same 20 steps."""
    (q, k, v, i, f), init = make_step(2, 2, 6, 5, state="pos", seed=11, S=20)
    h_full, st_full = mlstm_chunkwise_native(q, k, v, i, f, init, return_last_state=True, chunk_size=8)
    inputs, state = to_device([q, k, v, i, f], init)
    hs = []
    for t in range(20):
        h_t, state = mlstm_step_triton(*(x[:, :, t] for x in inputs), state)
        hs.append(h_t)
    h_loop = torch.stack(hs, dim=2).cpu()  # S x [B, NH, DV] -> [B, NH, S, DV]
    assert torch.isfinite(h_loop).all()
    torch.testing.assert_close(h_loop, h_full, rtol=1e-4, atol=1e-5)
    for name, a, b in zip("cnm", state, st_full):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-4, atol=1e-5, msg=f"final state {name}")


def test_strided_inputs_and_state_left_untouched():
    """Slices of a sequence and a transposed memory are read through their strides; inputs stay as they were."""
    (q, k, v, i, f), init = make_step(2, 2, 6, 5, state="rand", seed=5, S=4)
    inputs, init = to_device([q, k, v, i, f], init)
    step_inputs = [x[:, :, 2] for x in inputs]  # [B, NH, S, D] -> [B, NH, D], not contiguous
    c_t = init.c.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, column-major strides
    state = mLSTMState(c_t, init.n, init.m)
    assert not step_inputs[0].is_contiguous() and not c_t.is_contiguous()
    before = [t.clone() for t in (*step_inputs, *state)]
    h, new_state = mlstm_step_triton(*step_inputs, state)
    for a, b in zip(before, (*step_inputs, *state)):
        assert torch.equal(a, b), "inputs and the previous state must not be modified"
    assert all(a.data_ptr() != b.data_ptr() for a, b in zip(new_state, state))
    assert_matches(h, new_state, *reference(step_inputs, state), torch.float32)


def test_requires_grad_falls_back_to_native():
    (q, k, v, i, f), init = make_step(1, 2, 4, 3, state="rand", seed=2)
    leaves = [t.clone().requires_grad_(True) for t in (q, k, v, i, f)]
    h, state = mlstm_step_triton(*leaves, init)
    h_nat, state_nat = mlstm_step_native(*leaves, init)
    for a, b in zip((h, *state), (h_nat, *state_nat)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    (h.sum() + state.c.sum()).backward()
    assert all(t.grad is not None and torch.isfinite(t.grad).all() for t in leaves)


def test_float64_inputs_use_native_step():
    (q, k, v, i, f), init = make_step(1, 2, 4, 3, dtype=torch.float64, state="pos")
    h, state = mlstm_step_triton(q, k, v, i, f, init)
    h_nat, state_nat = mlstm_step_native(q, k, v, i, f, init)
    assert h.dtype == torch.float64 and state.c.dtype == torch.float64
    for a, b in zip((h, *state), (h_nat, *state_nat)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_shape_errors_name_the_expected_shape():
    (q, k, v, i, f), init = make_step(1, 2, 4, 3, state="pos")
    with pytest.raises(ValueError, match=r"igate must have shape \(1, 2\)"):
        mlstm_step_triton(q, k, v, i[:, :1], f)
    with pytest.raises(ValueError, match=r"v must be \[B, NH, DV\]"):
        mlstm_step_triton(q, k, v[:, :1], i, f)
    with pytest.raises(ValueError, match=r"mLSTM state \(c, n, m\) must have shapes"):
        mlstm_step_triton(q, k, v, i, f, init._replace(m=init.m[..., 0]))


# --------------------------------------------------------------------------------------------- GPU only
GPU_SHAPES = [
    pytest.param(64, 64, id="D64"),
    pytest.param(128, 128, id="D128"),
    pytest.param(256, 256, id="D256"),
    pytest.param(256, 512, id="DK256-DV512"),
]


@pytest.mark.gpu
@pytest.mark.parametrize("state", [None, "rand"], ids=["zero-state", "init-state"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("DK,DV", GPU_SHAPES)
def test_gpu_step_matches_float64_reference(DK, DV, dtype, state):
    inputs, init = make_step(2, 4, DK, DV, dtype=dtype, state=state, seed=DK + DV)
    inputs = [t.cuda() for t in inputs]
    init = None if init is None else mLSTMState(*(t.cuda() for t in init))
    h, new_state = mlstm_step_triton(*inputs, init)
    assert h.is_cuda and h.dtype == dtype
    assert_matches(h, new_state, *reference(inputs, init), dtype)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_gpu_step_loop_equals_chunkwise(dtype):
    (q, k, v, i, f), init = make_step(2, 4, 128, 128, dtype=dtype, state="pos", seed=1, S=20)
    h_full, st_full = mlstm_chunkwise_native(
        *(t.double() for t in (q, k, v, i, f)), mLSTMState(*(t.double() for t in init)), True, chunk_size=8
    )
    state = mLSTMState(*(t.cuda() for t in init))
    hs = []
    for t in range(20):
        h_t, state = mlstm_step_triton(*(x[:, :, t].cuda() for x in (q, k, v, i, f)), state)
        hs.append(h_t)
    h_loop = torch.stack(hs, dim=2).cpu().double()  # S x [B, NH, DV] -> [B, NH, S, DV]
    rtol, atol = TOL[dtype]
    torch.testing.assert_close(h_loop, h_full, rtol=rtol, atol=atol)
    for name, a, b in zip("cnm", state, st_full):
        torch.testing.assert_close(a.cpu().double(), b, rtol=1e-4, atol=1e-4, msg=f"final state {name}")
