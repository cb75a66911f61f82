"""Triton chunkwise mLSTM against the float64 reference: outputs, final states and every gradient.

Without a GPU the kernels run under the Triton interpreter (``TRITON_INTERPRET=1``, set by
tests/conftest.py) at tiny shapes.  The interpreter's bfloat16 ``tl.dot`` is wrong (docs/gpu.md, 'Triton facts the kernels and tests depend on'),
so bfloat16 is covered by the ``gpu`` tests only.

Tolerance policy (float32 kernel against the float64 reference): a small normaliser makes single
outputs ill-conditioned (a cancellation in ``q . n`` divides everything), so gradients are compared by
the relative error of the whole tensor (``||a - b|| / ||b||``) and by the largest error relative to the
largest value, not element by element.  The native float32 kernel shows the same size of error.
"""

from __future__ import annotations

import json

import pytest
import torch

from tests.kernels.test_mlstm import GRAD_NAMES, _grads, make_inputs
from xlstm_ts.kernels import get_kernel, mLSTMState, mlstm_sequence
from xlstm_ts.kernels.mlstm import mlstm_chunkwise_native, mlstm_recurrent_naive

triton = pytest.importorskip("triton")
from xlstm_ts.kernels.mlstm.triton_chunkwise import mlstm_chunkwise_triton  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def assert_close_rel(a: torch.Tensor, b: torch.Tensor, rel: float, what: str) -> None:
    a, b = a.double().cpu(), b.double().cpu()
    assert torch.isfinite(a).all(), f"{what}: non-finite values"
    err = (a - b).norm() / b.norm().clamp_min(1e-30)
    worst = (a - b).abs().max() / b.abs().max().clamp_min(1e-30)
    assert err < rel and worst < 10 * rel, (
        f"{what}: relative error {err:.2e}, worst {worst:.2e} (bound {rel:g})"
    )


def _to(tensors, dtype):
    return [t.to(device=DEVICE, dtype=dtype) for t in tensors]


def _triton_fn(chunk):
    return lambda *a: mlstm_chunkwise_triton(*a[:5], a[5], True, chunk_size=chunk)


def _reference(inputs, init):
    return _grads(lambda *a: mlstm_recurrent_naive(*a[:5], a[5]), inputs, init)


SHAPES = [
    pytest.param(1, 1, 1, 4, 4, 16, id="S1"),
    pytest.param(2, 3, 7, 5, 3, 16, id="S7-odd-dims"),
    pytest.param(1, 2, 16, 16, 16, 16, id="S16-one-chunk"),
    pytest.param(2, 2, 63, 16, 12, 16, id="S63"),
    pytest.param(1, 2, 65, 16, 16, 16, id="S65"),
    pytest.param(2, 1, 93, 8, 24, 32, id="S93-DK<DV"),
    pytest.param(1, 2, 40, 33, 7, 64, id="S<chunk-DK33"),
    pytest.param(1, 1, 70, 24, 40, 16, id="S70"),
    pytest.param(1, 1, 50, 80, 70, 16, id="S50-two-memory-tiles-each-way"),
]


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
@pytest.mark.parametrize("B,NH,S,DK,DV,chunk", SHAPES)
def test_float32_matches_float64_reference(B, NH, S, DK, DV, chunk, with_state):
    inputs, init = make_inputs(B, NH, S, DK, DV, state=with_state)
    h_ref, st_ref, g_ref = _reference(inputs, init)
    init32 = None if init is None else mLSTMState(*_to(init, torch.float32))
    h, st, g = _grads(_triton_fn(chunk), _to(inputs, torch.float32), init32)
    assert h.dtype == torch.float32 and all(t.dtype == torch.float32 for t in st)
    assert_close_rel(h, h_ref, 1e-5, "h")
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        assert_close_rel(a, b, 1e-5, f"final state {name}")
    assert len(g) == len(g_ref)
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=False):
        assert_close_rel(a, b, 1e-4, f"gradient {name}")


@pytest.mark.parametrize("S", [1, 7, 65])
def test_float16_against_float64(S):
    inputs, init = make_inputs(2, 2, S, 16, 16, state=True)
    inputs = [t.half().double() for t in inputs]  # the reference sees the same rounded inputs
    h_ref, st_ref, g_ref = _reference(inputs, init)
    h, st, g = _grads(_triton_fn(16), _to(inputs, torch.float16), mLSTMState(*_to(init, torch.float32)))
    assert h.dtype == torch.float16 and all(t.dtype == torch.float32 for t in st)
    assert_close_rel(h, h_ref, 5e-3, "h")
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        assert_close_rel(a, b, 5e-3, f"final state {name}")
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=False):
        assert_close_rel(a, b, 2e-2, f"gradient {name}")


@pytest.mark.parametrize("gate_scale", [20.0, 60.0])
def test_large_gates_stay_finite_and_correct(gate_scale):
    # Input gates far above and below zero (|i| up to ~150 at scale 60): the stabiliser path carries
    # real gradient, some normalisers overflow to their exp(-m) floor, and padded steps sit next to huge
    # weights.  float32 log weights of that size lose ~1e-5 absolute, so dq is good to ~1e-3 (the native
    # float32 kernel measures 9e-4 on the same case), and df, which the kernel gets from the difference
    # q.dq - k.dk, to ~2e-4: the bound is 2e-3 at scale 60.
    inputs, init = make_inputs(1, 2, 45, 16, 8, state=True, gate_scale=gate_scale)
    h_ref, st_ref, g_ref = _reference(inputs, init)
    h, st, g = _grads(_triton_fn(16), _to(inputs, torch.float32), mLSTMState(*_to(init, torch.float32)))
    assert_close_rel(h, h_ref, 1e-5, "h")
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        assert_close_rel(a, b, 1e-5, f"final state {name}")
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=True):
        assert_close_rel(a, b, 2e-3 if gate_scale > 50 else 1e-4, f"gradient {name}")


def test_gradient_through_final_state_only():
    inputs, init = make_inputs(2, 1, 30, 8, 8, state=True)

    def loss_of(fn, tensors, state):
        leaves = [t.detach().clone().requires_grad_(True) for t in tensors]
        st_leaves = mLSTMState(*(t.detach().clone().requires_grad_(True) for t in state))
        _, st = fn(*leaves, st_leaves)
        (st.c.double().sum() + (st.n.double() ** 2).sum() + 3 * st.m.double().sum()).backward()
        # q only reaches the outputs: autograd leaves its gradient None, the kernel returns zeros
        return [torch.zeros_like(t) if t.grad is None else t.grad for t in leaves + list(st_leaves)]

    ref = loss_of(lambda *a: mlstm_recurrent_naive(*a[:5], a[5]), inputs, init)
    got = loss_of(_triton_fn(16), _to(inputs, torch.float32), mLSTMState(*_to(init, torch.float32)))
    for name, a, b in zip(GRAD_NAMES, got, ref, strict=True):
        assert_close_rel(a, b, 1e-4, f"gradient {name}")


@pytest.mark.parametrize("split", [1, 17, 32])
def test_state_passing_across_calls(split):
    inputs, init = make_inputs(1, 2, 48, 16, 16, state=True)
    x = _to(inputs, torch.float32)
    s0 = mLSTMState(*_to(init, torch.float32))
    h_full, st_full = mlstm_chunkwise_triton(*x, s0, True, chunk_size=16)
    h1, st1 = mlstm_chunkwise_triton(*(t[:, :, :split] for t in x), s0, True, chunk_size=16)
    h2, st2 = mlstm_chunkwise_triton(*(t[:, :, split:] for t in x), st1, True, chunk_size=16)
    torch.testing.assert_close(torch.cat([h1, h2], dim=2), h_full, rtol=1e-4, atol=1e-5)
    for a, b in zip(st2, st_full, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def _layer_layout(inputs, gate_strides="layer"):
    """Leaves in the layer's layout and the kernel's [B, NH, S, D] views of them: q, k, v from [B, S, NH * D]
    tensors, and the gates from one [B, S, 2 NH] tensor (transposed and split, as mLSTMCell makes them)."""
    q, k, v, i, f = inputs
    B, NH, S, _ = q.shape
    flat = [t.transpose(1, 2).reshape(B, S, -1).detach().clone().requires_grad_(True) for t in (q, k, v)]
    gates = torch.cat([i, f], dim=1).transpose(1, 2).detach().clone().requires_grad_(True)  # [B, S, 2 NH]
    views = [t.view(B, S, NH, -1).transpose(1, 2) for t in flat]
    gi, gf = gates.transpose(1, 2).split(NH, dim=1)
    if gate_strides == "different":
        gf = gf.contiguous()
    return [*flat, gates], [*views, gi, gf]


@pytest.mark.parametrize(
    "B,NH,S,DK,DV,chunk",
    [
        pytest.param(2, 3, 21, 16, 8, 16, id="S21"),
        pytest.param(1, 2, 40, 33, 7, 16, id="S40-DK33"),
        pytest.param(2, 1, 17, 8, 8, 16, id="one-head"),
        pytest.param(3, 2, 1, 8, 8, 16, id="S1"),
    ],
)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
@pytest.mark.parametrize("gates", ["layer", "different"])
def test_layer_layout_reads_views_without_copies_and_equals_the_contiguous_path(
    B, NH, S, DK, DV, chunk, with_state, gates
):
    # q, k, v as per-head views of [B, S, NH * D] projections and gates as strided slices: the kernels read them
    # where they are, write h and dq, dk, dv in that layout, and give the same numbers as contiguous inputs
    inputs, init = make_inputs(B, NH, S, DK, DV, state=with_state)
    x32 = _to(inputs, torch.float32)
    init32 = None if init is None else mLSTMState(*_to(init, torch.float32))
    h_ref, st_ref, g_ref = _grads(_triton_fn(chunk), x32, init32)
    leaves, views = _layer_layout(x32, gates)
    seen = {}
    for name, t in zip(("q", "k", "v"), views[:3], strict=True):
        t.register_hook(lambda g, n=name: seen.__setitem__(n, g))
    init_leaves = None if init32 is None else mLSTMState(*(t.clone().requires_grad_(True) for t in init32))
    h, st = _triton_fn(chunk)(*views, init_leaves)
    assert h.transpose(1, 2).is_contiguous() or S == 1 or NH == 1, h.stride()  # [B, S, NH, DV] storage
    from tests.kernels.test_mlstm import _loss

    _loss(h, st).backward()
    exact = dict(rtol=0, atol=0)
    torch.testing.assert_close(h, h_ref, **exact)
    for a, b in zip(st, st_ref, strict=True):
        torch.testing.assert_close(a, b, **exact)
    for n, leaf, want in zip(("dq", "dk", "dv"), leaves[:3], g_ref[:3], strict=True):
        torch.testing.assert_close(leaf.grad, want.transpose(1, 2).reshape(leaf.shape), **exact, msg=n)
        if NH > 1 and S > 1:  # the gradient reached the view in the layer's layout (no copy on the way back)
            assert seen[n[1]].transpose(1, 2).is_contiguous(), (n, seen[n[1]].stride())
    d_gates = torch.cat(g_ref[3:5], dim=1).transpose(1, 2)
    torch.testing.assert_close(leaves[3].grad, d_gates, **exact)
    if init_leaves is not None:
        for a, b in zip((t.grad for t in init_leaves), g_ref[5:], strict=True):
            torch.testing.assert_close(a, b, **exact)


def test_agrees_with_native_float32():
    inputs, _ = make_inputs(2, 2, 50, 16, 16)
    x = _to(inputs, torch.float32)
    h, st = mlstm_chunkwise_triton(*x, None, True, chunk_size=16)
    h_nat, st_nat = mlstm_chunkwise_native(*x, None, True, chunk_size=16)
    assert_close_rel(h, h_nat, 1e-5, "h")
    for a, b in zip(st, st_nat, strict=True):
        assert_close_rel(a, b, 1e-5, "state")


def test_no_state_saved_without_grad():
    inputs, _ = make_inputs(1, 1, 20, 16, 16)
    with torch.no_grad():
        h, st = mlstm_chunkwise_triton(*_to(inputs, torch.float32), None, False, chunk_size=16)
    assert st is None and h.grad_fn is None and torch.isfinite(h).all()


@pytest.mark.parametrize(
    "override",
    [{}, {"fused": 0}, {"fused": 1, "BDV_F": 16}, {"BDV_F": 16, "L": 32}],
    ids=["default", "two-kernel-forward", "fused-value-blocks", "fused-chunk32"],
)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_forward_without_gradients_equals_the_training_forward(override, with_state, monkeypatch):
    # without gradients nothing is kept for a backward (the fused kernel writes only h and the final state);
    # the outputs and the final state must be those of the forward that keeps it, bit for bit
    from xlstm_ts.kernels.mlstm.triton_chunkwise import LAUNCH_ENV

    monkeypatch.setenv(LAUNCH_ENV, json.dumps(override))
    inputs, init = make_inputs(2, 2, 70, 40, 72, state=with_state)
    x = _to(inputs, torch.float32)
    st0 = mLSTMState(*_to(init, torch.float32)) if with_state else None
    with torch.no_grad():
        h, st = mlstm_chunkwise_triton(*x, st0, True, chunk_size=16)
    leaves = [t.clone().requires_grad_(True) for t in x]
    h_train, st_train = mlstm_chunkwise_triton(*leaves, st0, True, chunk_size=16)
    assert h.grad_fn is None and h_train.grad_fn is not None
    torch.testing.assert_close(h, h_train.detach(), rtol=0, atol=0)
    for a, b in zip(st, st_train, strict=True):
        torch.testing.assert_close(a, b.detach(), rtol=0, atol=0)
    h_ref, st_ref = mlstm_recurrent_naive(*inputs, init)
    assert_close_rel(h, h_ref, 1e-5, "h")
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        assert_close_rel(a, b, 1e-5, f"final state {name}")


def test_rejects_what_it_cannot_run():
    q = torch.zeros(1, 1, 4, 300)
    with pytest.raises(ValueError, match="DK <= 256 and DV <= 512; got DK=300"):
        mlstm_chunkwise_triton(q, q, q[..., :8], q[..., 0], q[..., 0])
    x = torch.zeros(1, 1, 4, 8, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"float32, float16 or bfloat16 inputs; got torch\.float64"):
        mlstm_chunkwise_triton(x, x, x, x[..., 0], x[..., 0])


def test_registry_picks_triton_on_cuda_only_for_shapes_it_takes():
    small, wide = torch.zeros(1, 1, 2, 64), torch.zeros(1, 1, 2, 300)
    assert (
        get_kernel("mlstm", "chunkwise--auto", "cpu", torch.float32, inputs=(small, small)).backend
        == "native"
    )
    # capability checks only (nothing runs): on a CUDA device Triton wins unless the head dims are too big
    cuda = torch.device("cuda")
    assert (
        get_kernel("mlstm", "chunkwise--auto", cuda, torch.bfloat16, inputs=(small, small)).backend
        == "triton"
    )
    assert (
        get_kernel("mlstm", "chunkwise--auto", cuda, torch.bfloat16, inputs=(wide, small)).backend == "native"
    )
    assert get_kernel("mlstm", "step--auto", cuda, torch.float16, inputs=(small, small)).backend == "triton"
    assert (
        get_kernel("mlstm", "chunkwise--auto", cuda, torch.float64, inputs=(small, small)).backend == "native"
    )
    with pytest.raises(ValueError, match="does not take inputs of shapes"):
        get_kernel("mlstm", "chunkwise--triton", cuda, torch.float32, inputs=(wide, small))
    with pytest.raises(ValueError, match="cannot run on device=cpu"):
        get_kernel("mlstm", "chunkwise--triton", "cpu", torch.float32)


# ------------------------------------------------------------------------------------------------ GPU sweep
# Tolerances of the GPU sweep against the float64 reference (relative norm error; outputs / gradients).
# float32 runs exact float32 products, but the GPU's exp and log are less exact than numpy's, so its bound is
# looser than the interpreter's (measured: see docs/benchmarks.md, 'GPU test tolerances'); float16 and
# bfloat16 round the operands of every product to 11 and 8 significant bits.
GPU_TOL = {torch.float32: (5e-5, 1e-4), torch.float16: (5e-3, 2e-2), torch.bfloat16: (3e-2, 8e-2)}


def _poison_cuda_cache() -> None:
    # fill memory the caching allocator will hand out next with NaN: unwritten outputs then show up
    block = torch.empty(256 * 1024 * 1024 // 4, device="cuda")
    block.fill_(float("nan"))
    del block


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize(
    "B,NH,S,DK,DV",
    [
        (2, 3, 1, 16, 16),
        (2, 2, 63, 64, 64),
        (1, 4, 65, 128, 128),
        (1, 2, 200, 256, 256),
        (1, 1, 130, 256, 512),
        (3, 2, 97, 48, 80),
        (1, 2, 300, 128, 64),
    ],
    ids=lambda x: str(x),
)
def test_gpu_sweep_against_float64(B, NH, S, DK, DV, dtype):
    inputs, init = make_inputs(B, NH, S, DK, DV, state=True)
    inputs = [t.to(dtype).double() for t in inputs]  # the reference sees the same rounded inputs
    h_ref, st_ref, g_ref = _reference([t.cuda() for t in inputs], mLSTMState(*(t.cuda() for t in init)))
    _poison_cuda_cache()
    h, st, g = _grads(_triton_fn(64), _to(inputs, dtype), mLSTMState(*_to(init, torch.float32)))
    out_tol, grad_tol = GPU_TOL[dtype]
    assert_close_rel(h, h_ref, out_tol, "h")
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        assert_close_rel(a, b, out_tol, f"final state {name}")
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=False):
        assert_close_rel(a, b, grad_tol, f"gradient {name}")


@pytest.mark.gpu
def test_gpu_long_sequence_bf16_finite():
    g = torch.Generator(device="cuda").manual_seed(0)
    B, NH, S, D = 1, 2, 16384, 64
    q, k, v = (torch.randn(B, NH, S, D, device="cuda", generator=g, dtype=torch.bfloat16) for _ in range(3))
    i = 5 * torch.randn(B, NH, S, device="cuda", generator=g)
    f = 3 + 2 * torch.randn(B, NH, S, device="cuda", generator=g)
    leaves = [t.requires_grad_(True) for t in (q, k, v, i, f)]
    h, _ = mlstm_sequence(*leaves, kernel="chunkwise--triton")
    h.float().square().mean().backward()
    assert torch.isfinite(h).all()
    assert all(torch.isfinite(t.grad).all() for t in leaves)


@pytest.mark.parametrize(
    "override",
    [
        {"BDV_T": 128, "BDV_O": 128},
        {"BDK_T": 16, "BDV_T": 16, "BDK_Q": 16, "BDV_Q": 16, "BDV": 16},
        {"L": 32},
        {"L": 64},
        {"fused": 0},
        {"fused": 1, "BDV_F": 16, "stages_F": 1},
    ],
    ids=[
        "wide-memory-tiles",
        "small-tiles",
        "chunk32",
        "chunk64",
        "two-kernel-forward",
        "fused-value-blocks",
    ],
)
def test_other_launch_parameters_give_the_same_result(override, monkeypatch):
    # the heuristics pick other tiles on a GPU (e.g. [64, 128] memory tiles when many heads run at once, and
    # 64-row chunks for 16-bit inputs where float32 takes 16): every tiling must compute the same function
    from xlstm_ts.kernels.mlstm.triton_chunkwise import LAUNCH_ENV

    inputs, init = make_inputs(1, 2, 70, 40, 72, state=True)
    h_ref, st_ref, g_ref = _reference(inputs, init)
    monkeypatch.setenv(LAUNCH_ENV, json.dumps(override))
    h, st, g = _grads(_triton_fn(16), _to(inputs, torch.float32), mLSTMState(*_to(init, torch.float32)))
    assert_close_rel(h, h_ref, 1e-5, "h")
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        assert_close_rel(a, b, 1e-5, f"final state {name}")
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=True):
        assert_close_rel(a, b, 1e-4, f"gradient {name}")


def _gate_case(BH, S, kind, seed):
    g = torch.Generator().manual_seed(seed)
    qdq = torch.randn(2, BH, S, generator=g)
    kdk, rho = torch.randn(BH, S, generator=g), torch.randn(BH, S, generator=g) * 1e3
    i = torch.randn(BH, S, generator=g) * 3
    f = torch.randn(BH, S, generator=g) + 2
    if kind == "ties":  # forget gates so open that F is below float64's resolution: i - F ties where i does
        # (halves, so that no key ties with the zero initial stabiliser: which of two equal maxima takes the
        # gradient is a choice, and log(1 + e) and log1p round e = exp(-60) differently)
        i = torch.round(i) + 0.5
        f = torch.full((BH, S), 60.0)
    if kind == "late-records":  # input gates growing along the sequence: a new arg-max every few steps
        i = i + torch.arange(S) * 0.2
    return qdq, kdk, rho, i, f


@pytest.mark.parametrize("S", [1, 15, 16, 17, 100])
@pytest.mark.parametrize("kind", ["random", "ties", "late-records"])
@pytest.mark.parametrize("extras", ["none", "init", "init+final"])
def test_gate_kernel_matches_the_pytorch_reference_across_blocks(S, kind, extras, monkeypatch):
    # blocks of 16 steps, so that S = 100 walks 7 blocks and the carries between blocks are exercised; the
    # end-to-end tests above use sequences inside one block of the default size
    from xlstm_ts.kernels.mlstm import triton_chunkwise as tc

    monkeypatch.setattr(tc, "_GATE_BLOCK", 16)
    BH = 3
    qdq, kdk, rho, i, f = _gate_case(BH, S, kind, seed=S)
    m0 = pull = dm_t = None
    if extras != "none":
        # one head whose initial stabiliser dominates everywhere, one never, one for a prefix
        m0 = torch.tensor([1e3, -1e3, float(i[2, : max(1, S // 2)].max()) + 0.5])
    if extras == "init+final":
        pull, dm_t = torch.randn(BH), torch.randn(BH)
    want = tc.gate_gradients_reference(qdq, kdk, rho, i, f, m0, pull, dm_t, 1e-3)
    got = tc._gate_gradients(
        *_to((qdq, kdk, rho, i, f), torch.float32),
        *(None if t is None else t.to(DEVICE) for t in (m0, pull, dm_t)),
        1e-3,
    )
    for name, a, b in zip(("d i", "d f"), got[:2], want[:2], strict=True):
        torch.testing.assert_close(a.cpu(), b, rtol=1e-5, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")
    if m0 is not None:
        torch.testing.assert_close(got[2].cpu(), want[2], rtol=1e-5, atol=1e-5)
    else:
        assert got[2].numel() == 0


@pytest.fixture
def matmul_precision():
    # set torch's float32 matmul precision for one test, and put the previous one back
    before = torch.get_float32_matmul_precision()
    yield torch.set_float32_matmul_precision
    torch.set_float32_matmul_precision(before)


def test_float32_mode_follows_torchs_matmul_precision(matmul_precision):
    from xlstm_ts.kernels._triton_support import is_float32_mode, triton_mode

    modes = {}
    for precision in ("highest", "high", "medium"):
        matmul_precision(precision)
        modes[precision] = triton_mode(torch.float32)
        assert triton_mode(torch.bfloat16) == 2 and triton_mode(torch.float16) == 1
    assert modes == {"highest": 0, "high": 3, "medium": 4}
    assert all(is_float32_mode(m) for m in modes.values()) and not is_float32_mode(2)


@pytest.mark.parametrize("DK,DV", [(16, 16), (128, 40)], ids=["32-step-chunks", "64-step-chunks"])
def test_float32_modes_run_and_match_under_the_interpreter(DK, DV, matmul_precision):
    # the interpreter multiplies exactly whatever the mode, so this checks the plumbing of modes 3 and 4 (their
    # launch rules: chunks of 32 and 64 steps, value blocks of 32; saved dtypes); their rounding is checked by
    # the GPU test below
    from xlstm_ts.kernels.mlstm.triton_chunkwise import _launch

    inputs, init = make_inputs(1, 2, 70, DK, DV, state=True)
    h_ref, _, g_ref = _reference(inputs, init)
    for precision in ("high", "medium"):
        matmul_precision(precision)
        cfg = _launch(2, 70, DK, DV, 64, torch.device(DEVICE), 3 if precision == "high" else 4)
        assert cfg["L"] == (32 if DK <= 64 else 64)
        h, _, g = _grads(_triton_fn(64), _to(inputs, torch.float32), mLSTMState(*_to(init, torch.float32)))
        assert_close_rel(h, h_ref, 1e-5, f"h ({precision})")
        for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=True):
            assert_close_rel(a, b, 1e-4, f"gradient {name} ({precision})")


#: "high" (three TF32 products per product) keeps about float32's accuracy.  "medium" (one TF32 product: 11
#: significant bits per operand) gets bfloat16's bounds, which is what PyTorch's "medium" allows its own float32
#: matmuls (bfloat16 internally): its dq at DK = 128 measured 5.9e-2 (worst 7.4e-2) on the H200 with 64-step
#: chunks, 2.3e-2 with 16-step ones
PRECISION_TOL = {"high": (2e-4, 5e-4), "medium": (1e-2, 8e-2)}


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["high", "medium"])
@pytest.mark.parametrize(
    "B,NH,S,DK,DV", [(2, 2, 63, 64, 64), (1, 4, 65, 128, 128), (1, 2, 300, 128, 64)], ids=str
)
def test_gpu_float32_under_lower_matmul_precision(B, NH, S, DK, DV, precision, matmul_precision):
    inputs, init = make_inputs(B, NH, S, DK, DV, state=True)
    h_ref, st_ref, g_ref = _reference([t.cuda() for t in inputs], mLSTMState(*(t.cuda() for t in init)))
    matmul_precision(precision)
    _poison_cuda_cache()
    h, st, g = _grads(_triton_fn(64), _to(inputs, torch.float32), mLSTMState(*_to(init, torch.float32)))
    out_tol, grad_tol = PRECISION_TOL[precision]
    assert_close_rel(h, h_ref, out_tol, "h")
    for name, a, b in zip("cnm", st, st_ref, strict=True):
        assert_close_rel(a, b, out_tol, f"final state {name}")
    for name, a, b in zip(GRAD_NAMES, g, g_ref, strict=False):
        assert_close_rel(a, b, grad_tol, f"gradient {name}")
