"""The fused output stage of the mLSTM layer (per-head norm, learnable skip, output gate): the Triton kernels
against the PyTorch stage in float64 (outputs and the gradients of all five inputs), under the interpreter on the
CPU and in the ``gpu`` tests on CUDA; the custom ops under ``opcheck`` and ``torch.compile``; the layer on a GPU
against its native path."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.kernels import mlstm_output
from xlstm_ts.kernels.mlstm import mlstm_output_native

triton = pytest.importorskip("triton")
from xlstm_ts.kernels.mlstm import triton_output  # noqa: E402
from xlstm_ts.kernels.mlstm.triton_output import mlstm_output_triton  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _inputs(B, S, NH, DH, seed=0, z_half=True):
    """float64 inputs; ``z`` as the second half of a [B, S, 2 I] tensor (as the layer's up-projection gives it)."""
    g = torch.Generator().manual_seed(seed)
    I = NH * DH
    h = torch.randn(B, S, NH, DH, generator=g, dtype=torch.float64) * 3 + 1
    x = torch.randn(B, S, I, generator=g, dtype=torch.float64)
    up = torch.randn(B, S, 2 * I, generator=g, dtype=torch.float64) * 2
    z = up[..., I:] if z_half else up[..., I:].contiguous()
    weight = torch.randn(I, generator=g, dtype=torch.float64) * 0.3
    skip = torch.randn(I, generator=g, dtype=torch.float64) + 1
    return [h, x, z, weight, skip]


def _run(fn, tensors, dtypes, **kw):
    leaves = [t.detach().to(DEVICE, d).requires_grad_(True) for t, d in zip(tensors, dtypes, strict=True)]
    if tensors[2].stride(-2) != tensors[2].shape[-1]:  # keep z a strided half (as the layer's)
        up = torch.cat([torch.zeros_like(leaves[2]), leaves[2].detach()], dim=-1).requires_grad_(True)
        leaves[2] = up[..., up.shape[-1] // 2 :]
        grad_of = [leaves[0], leaves[1], up, leaves[3], leaves[4]]
    else:
        grad_of = leaves
    out = fn(*leaves, **kw)
    g = torch.Generator().manual_seed(1)
    weights = torch.randn(out.shape, generator=g, dtype=torch.float64).to(DEVICE, out.dtype)
    (out * weights).double().sum().backward()
    grads = [t.grad for t in grad_of]
    I = tensors[1].shape[-1]
    if grad_of[2] is not leaves[2]:
        grads[2] = grads[2][..., I:]
    return out, grads


def _rel(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


SHAPES = [
    pytest.param(2, 5, 4, 8, id="small"),
    pytest.param(1, 7, 3, 24, id="DH24-not-a-power-of-two"),
    pytest.param(3, 33, 2, 64, id="rows-not-a-multiple-of-the-block"),
    pytest.param(1, 1, 1, 16, id="one-row-one-head"),
    pytest.param(2, 3, 1, 200, id="wide-head"),
]
GRADS = ("dh", "dx", "dz", "dweight", "dskip")


@pytest.mark.parametrize("B,S,NH,DH", SHAPES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16], ids=str)
def test_matches_the_pytorch_stage_in_float64(B, S, NH, DH, dtype):
    tensors = _inputs(B, S, NH, DH)
    f64 = [torch.float64] * 5
    want, want_g = _run(mlstm_output_native, tensors, f64)
    # activations in dtype, parameters in float32 (as under autocast)
    dtypes = [dtype, dtype, dtype, torch.float32, torch.float32]
    got, got_g = _run(mlstm_output_triton, tensors, dtypes)
    assert got.dtype == torch.float32 and got.shape == (B, S, NH * DH)
    bound = 1e-5 if dtype == torch.float32 else 2e-3  # float16 inputs: their own rounding, checked loosely
    assert torch.isfinite(got).all()
    assert _rel(got, want) < bound, _rel(got, want)
    for name, a, b, d in zip(GRADS, got_g, want_g, dtypes, strict=True):
        assert a.dtype == d, (name, a.dtype)
        assert _rel(a, b) < (1e-4 if dtype == torch.float32 else 5e-3), (name, _rel(a, b))


def test_result_dtype_follows_the_pytorch_stage_and_out_dtype_casts():
    tensors = _inputs(2, 3, 2, 8)
    x32 = [t.float().to(DEVICE) for t in tensors]
    assert mlstm_output_triton(*x32).dtype == torch.float32
    h16 = [x32[0].half(), x32[1], x32[2].half(), x32[3], x32[4]]
    assert mlstm_output_triton(*h16).dtype == mlstm_output_native(*[t.cpu() for t in h16]).dtype
    all16 = [t.half() for t in x32]
    assert mlstm_output_triton(*all16).dtype == torch.float16
    cast = mlstm_output_triton(*x32, out_dtype=torch.float16)
    torch.testing.assert_close(cast, mlstm_output_triton(*x32).half(), rtol=0, atol=0)


def test_public_op_checks_shapes_and_picks_native_on_the_cpu():
    h, x, z, w, skip = (t.float() for t in _inputs(2, 3, 2, 8))
    with pytest.raises(ValueError, match=r"z must be \[B, S, NH \* DH\]"):
        mlstm_output(h, x, z[..., :-1], w, skip)
    with pytest.raises(ValueError, match=r"weight must be \[NH \* DH\]"):
        mlstm_output(h, x, z, w[:-1], skip)
    with pytest.raises(ValueError, match="h must have 4 dims"):
        mlstm_output(h[0], x, z, w, skip)
    torch.testing.assert_close(mlstm_output(h, x, z, w, skip), mlstm_output_native(h, x, z, w, skip))
    with pytest.raises(ValueError, match="DH=2000"):
        mlstm_output_triton(torch.zeros(1, 1, 1, 2000), *(torch.zeros(1, 1, 2000) for _ in range(2)),
                            torch.zeros(2000), torch.zeros(2000))  # fmt: skip


def _op_args():
    # the ops' arguments: [N, I] rows, z as the strided half of an up-projection
    h, x, z, w, skip = (t.float().to(DEVICE) for t in _inputs(2, 5, 2, 8))
    rows = [t.reshape(10, 16).detach().requires_grad_(True) for t in (h, x, z)]
    return (*rows, w.requires_grad_(True), skip.requires_grad_(True), 2, 1e-5, torch.float32)


def test_opcheck():
    torch.library.opcheck(triton_output._fwd_op, _op_args())
    dout = torch.randn(10, 16, device=DEVICE)
    fwd = [a.detach() if isinstance(a, torch.Tensor) else a for a in _op_args()]
    torch.library.opcheck(triton_output._bwd_op, (dout, *fwd[:7]))


def test_compiled_equals_eager_without_graph_breaks():
    import torch._dynamo as dynamo

    tensors = [t.float() for t in _inputs(2, 5, 2, 8)]
    dtypes = [torch.float32] * 5
    want, want_g = _run(mlstm_output_triton, tensors, dtypes)
    dynamo.reset()
    report = dynamo.explain(mlstm_output_triton)(*(t.to(DEVICE) for t in tensors))
    assert report.graph_break_count == 0 and report.graph_count == 1
    dynamo.reset()
    compiled = torch.compile(mlstm_output_triton, fullgraph=True, backend="aot_eager")
    got, got_g = _run(compiled, tensors, dtypes)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    for a, b in zip(got_g, want_g, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_gpu_layer_with_fused_stage_matches_its_native_path(dtype):
    # the whole mLSTM layer on CUDA: backend "auto" (Triton kernels, fused output stage) against "native",
    # float32 and bf16 autocast, outputs and every parameter gradient
    from xlstm_ts.nn import mLSTMLayer, mLSTMLayerConfig

    torch.manual_seed(0)
    cfgs = [
        mLSTMLayerConfig(embedding_dim=64, num_heads=4, backend=b, context_length=96)
        for b in ("auto", "native")
    ]
    layers = [mLSTMLayer(c).cuda() for c in cfgs]
    layers[1].load_state_dict(layers[0].state_dict())
    x = torch.randn(3, 96, 64, device="cuda")
    outs, grads = [], []
    for layer in layers:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
            y, _ = layer(x)
        y.float().square().mean().backward()
        outs.append(y.float())
        grads.append({n: p.grad.clone() for n, p in layer.named_parameters()})
    bound = 1e-4 if dtype == torch.float32 else 2e-2
    assert _rel(outs[0], outs[1]) < bound
    for name in grads[1]:
        assert _rel(grads[0][name], grads[1][name]) < 10 * bound, (name, _rel(grads[0][name], grads[1][name]))


def test_layer_takes_the_pytorch_stage_under_compile_only_for_auto(monkeypatch):
    from xlstm_ts.nn import mlstm as nn_mlstm

    assert nn_mlstm.output_kernel("auto") == "output--auto"
    assert nn_mlstm.output_kernel("native") == "output--native"
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    assert nn_mlstm.output_kernel("auto") == "output--native"
    assert nn_mlstm.output_kernel("triton") == "output--triton"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
def test_layer_under_cpu_autocast_casts_like_the_down_projection(dtype):
    # the layer asks the stage for the autocast dtype only where the down-projection would cast to it: a float64
    # layer under autocast stays float64 (as autocast leaves it), a float32 one gives what casting there gives
    from xlstm_ts.nn import mLSTMLayer, mLSTMLayerConfig

    torch.manual_seed(0)
    layer = mLSTMLayer(mLSTMLayerConfig(embedding_dim=16, num_heads=2, context_length=12)).to(dtype)
    x = torch.randn(2, 12, 16, dtype=dtype)
    plain, _ = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto, _ = layer(x)
    if dtype == torch.float64:
        assert auto.dtype == torch.float64
        torch.testing.assert_close(auto, plain, rtol=0, atol=0)
    else:
        assert auto.dtype == torch.bfloat16
        torch.testing.assert_close(auto.float(), plain, rtol=5e-2, atol=5e-2)
