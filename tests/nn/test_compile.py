"""``torch.compile(stack, fullgraph=True)`` on the CPU (native kernels): one graph, no breaks, eager results.

The graph-capture and autograd checks use ``backend="aot_eager"`` (Dynamo capture plus AOTAutograd's joint
forward/backward graph, run eagerly): it compiles these stacks in a few seconds.  Inductor gives the same
graph to a code generator; on a 2-core CPU it compiles the mLSTM stack's forward and backward in ~45 s, so
that test is marked slow.  Tolerances: aot_eager runs the same ATen ops in the same order, inductor fuses
pointwise ops and may reorder float32 sums, hence ``1e-5`` relative / absolute for both.
"""

from __future__ import annotations

import pytest
import torch
import torch._dynamo as dynamo

from xlstm_ts.nn import (
    FeedForwardConfig,
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStack,
    xLSTMBlockStackConfig,
)

B, S, E = 2, 16, 32
TOL = dict(rtol=1e-5, atol=1e-5)


def _stack(kind: str, seed: int = 0) -> xLSTMBlockStack:
    # chunk_size 8 < S: the chunkwise kernel runs its loop over chunk boundaries, not a single chunk
    mlstm = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=4, chunk_size=8))
    slstm = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=4), feedforward=FeedForwardConfig())
    kw: dict = dict(mlstm_block=mlstm, num_blocks=2, embedding_dim=E)
    if kind == "mixed":
        kw.update(slstm_block=slstm, slstm_at=[1])
    torch.manual_seed(seed)
    stack = xLSTMBlockStack(xLSTMBlockStackConfig(**kw))
    with torch.no_grad():  # move the parameters off their init (zero/one inits hide wrong gradients)
        for p in stack.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return stack


def _grads(stack: xLSTMBlockStack) -> dict[str, torch.Tensor]:
    grads = {}
    for name, p in stack.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"
        grads[name] = p.grad.clone()
    stack.zero_grad(set_to_none=True)
    return grads


def _assert_same(compiled: dict, eager: dict) -> None:
    assert compiled.keys() == eager.keys()
    for name in eager:
        torch.testing.assert_close(compiled[name], eager[name], **TOL, msg=lambda m, n=name: f"{n}: {m}")


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    dynamo.reset()
    yield
    dynamo.reset()


@pytest.mark.parametrize("kind", ["mlstm", "mixed"])
@pytest.mark.parametrize("return_state", [False, True], ids=["output", "with_state"])
def test_explain_reports_one_graph_no_breaks(kind, return_state):
    stack = _stack(kind)
    x = torch.randn(B, S, E)
    report = dynamo.explain(stack)(x, None, return_state)
    reasons = [str(b.reason) for b in report.break_reasons]
    assert report.graph_break_count == 0, reasons
    assert report.graph_count == 1


def _fwd_bwd(module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    y = module(x)
    # a loss that weighs every output differently, so a permuted or partly wrong output changes it
    (y * torch.linspace(-1.0, 2.0, y.numel(), device=y.device).view_as(y)).sum().backward()
    return y.detach(), x.grad


@pytest.mark.parametrize("kind", ["mlstm", "mixed"])
def test_compiled_forward_and_gradients_equal_eager(kind):
    stack = _stack(kind)
    x = torch.randn(B, S, E)
    y_ref, dx_ref = _fwd_bwd(stack, x)
    g_ref = _grads(stack)
    compiled = torch.compile(stack, fullgraph=True, backend="aot_eager")
    y, dx = _fwd_bwd(compiled, x)
    g = _grads(stack)
    torch.testing.assert_close(y, y_ref, **TOL)
    torch.testing.assert_close(dx, dx_ref, **TOL)
    _assert_same(g, g_ref)


def _two_pieces(module, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
    y_a, state = module(x[:, : S // 2], None, True)
    y_b, state = module(x[:, S // 2 :], state, True)
    y = torch.cat([y_a, y_b], dim=1)
    weights = torch.linspace(-1.0, 2.0, y.numel()).view_as(y)
    # the final state enters the loss too, so its gradient path is checked as well
    state_term = sum(t.sum() for t in _flat(state))
    ((y * weights).sum() + 0.1 * state_term).backward()
    return y.detach(), dict(_named(state))


def _named(state, prefix: str = ""):
    if isinstance(state, torch.Tensor):
        yield prefix, state.detach()
    elif isinstance(state, dict):
        for key, value in state.items():
            yield from _named(value, f"{prefix}/{key}")
    elif isinstance(state, tuple):
        for idx, value in enumerate(state):
            yield from _named(value, f"{prefix}/{idx}")


def _flat(state):
    if isinstance(state, torch.Tensor):
        yield state
    elif isinstance(state, dict):
        for value in state.values():
            yield from _flat(value)
    elif isinstance(state, tuple):
        for value in state:
            yield from _flat(value)


@pytest.mark.parametrize("kind", ["mlstm", "mixed"])
def test_compiled_state_path_equals_eager(kind):
    """Two pieces with the state carried over: outputs, final states and parameter gradients."""
    stack = _stack(kind)
    x = torch.randn(B, S, E)
    y_ref, state_ref = _two_pieces(stack, x)
    g_ref = _grads(stack)
    compiled = torch.compile(stack, fullgraph=True, backend="aot_eager")
    y, state = _two_pieces(compiled, x)
    g = _grads(stack)
    torch.testing.assert_close(y, y_ref, **TOL)
    assert len(state_ref) >= 4
    _assert_same(state, state_ref)
    _assert_same(g, g_ref)


@pytest.mark.slow
def test_inductor_mlstm_forward_and_gradients_equal_eager():
    stack = _stack("mlstm")
    x = torch.randn(B, S, E)
    y_ref, dx_ref = _fwd_bwd(stack, x)
    g_ref = _grads(stack)
    compiled = torch.compile(stack, fullgraph=True, backend="inductor")
    y, dx = _fwd_bwd(compiled, x)
    g = _grads(stack)
    torch.testing.assert_close(y, y_ref, **TOL)
    torch.testing.assert_close(dx, dx_ref, **TOL)
    _assert_same(g, g_ref)


def test_uncompile_restores_eager_calls():
    stack = _stack("mlstm")
    x = torch.randn(B, S, E)
    counters = dynamo.utils.counters
    counters.clear()
    stack.compile(fullgraph=True, backend="aot_eager")
    stack(x)
    assert counters["stats"]["unique_graphs"] == 1
    stack.uncompile()
    assert stack._compiled_call_impl is None
    stack(x[:, :5])  # a new shape: a compiled call would capture a second graph
    assert counters["stats"]["unique_graphs"] == 1
    assert not any("_orig_mod" in name for name in stack.state_dict())


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["mlstm", "mixed"])
def test_cuda_stack_on_the_triton_ops_compiles_whole_and_equals_eager(kind):
    """On a GPU the blocks run the Triton custom ops: one graph, no break, and inductor's compiled forward
    and backward equal eager (float32; the Triton kernels are the same calls in both, inductor only fuses
    the PyTorch ops around them, hence a looser ``1e-4``)."""
    stack = _stack(kind).cuda()
    x = torch.randn(B, 64, E, device="cuda")
    report = dynamo.explain(stack)(x)
    assert report.graph_break_count == 0, [str(b.reason)[:200] for b in report.break_reasons]
    dynamo.reset()
    y_eager, gx_eager = _fwd_bwd(stack, x)
    g_eager = _grads(stack)
    compiled = torch.compile(stack, fullgraph=True)
    y_comp, gx_comp = _fwd_bwd(compiled, x)
    g_comp = _grads(stack)
    loose = dict(rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(y_comp, y_eager, **loose)
    torch.testing.assert_close(gx_comp, gx_eager, **loose)
    for name in g_eager:
        torch.testing.assert_close(g_comp[name], g_eager[name], **loose, msg=lambda m, n=name: f"{n}: {m}")


def test_dense_headwise_path_under_autocast_compiles_whole(monkeypatch):
    # the 16-bit CUDA path of narrow headwise projections, enabled on the CPU: no graph break under autocast,
    # and the same input gradient as eager
    from xlstm_ts.nn import LinearHeadwiseExpand, components

    monkeypatch.setattr(components, "_DENSE_DEVICES", {"cpu"})
    dynamo.reset()
    torch.manual_seed(0)
    layer = LinearHeadwiseExpand(64, 16)
    x = torch.randn(2, 50, 64, requires_grad=True)

    def loss(inp):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return layer(inp).float().square().mean()

    torch.compile(loss, fullgraph=True, backend="aot_eager")(x).backward()
    compiled = x.grad.clone()
    x.grad = None
    loss(x).backward()
    torch.testing.assert_close(compiled, x.grad)
