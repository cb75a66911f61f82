"""The Triton kernels (chunkwise and step mLSTM, sLSTM sequence) as ``torch.library`` custom ops: ``opcheck`` and
``torch.compile``.

``xlstm_ts::mlstm_chunkwise_triton_fwd`` / ``..._bwd`` and ``xlstm_ts::slstm_sequence_triton_fwd`` /
``..._bwd`` and the forward-only ``xlstm_ts::mlstm_step_triton`` are opaque to Dynamo: a compiled function that calls
the kernel is one graph with one forward op (and, in the backward graph, one backward op), whose shapes come
from the fake implementations.  On the CPU the kernels run under the Triton interpreter
(``TRITON_INTERPRET=1``, set by tests/conftest.py) at tiny shapes; ``backend="aot_eager"`` builds the joint
forward/backward graph through the registered autograd and runs it eagerly.  The numbers of the kernel
itself are checked against the float64 reference in test_mlstm_triton_chunkwise.py and test_slstm_triton.py; here the compiled call
must give exactly what the eager call gives.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch._dynamo as dynamo

from tests.kernels.test_mlstm import make_inputs
from xlstm_ts.kernels import _triton_support as triton_support
from xlstm_ts.kernels import mLSTMState, sLSTMState
from xlstm_ts.kernels._registry import get_kernel

pytest.importorskip("triton")
from xlstm_ts.kernels.mlstm import triton_step
from xlstm_ts.kernels.mlstm.triton_chunkwise import _fwd_op, _infer_op, mlstm_chunkwise_triton
from xlstm_ts.kernels.mlstm.triton_step import mlstm_step_triton
from xlstm_ts.kernels.slstm import triton_sequence

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _inputs(with_state: bool, layer_layout: bool = False):
    tensors, init = make_inputs(2, 2, 21, 16, 8, state=with_state)
    tensors = [t.to(DEVICE, torch.float32).requires_grad_(True) for t in tensors]
    if (
        layer_layout
    ):  # q, k, v stored as [B, S, NH, D] (per-head views of projections), the gates as [B, S, NH]
        tensors = [
            t.detach().transpose(1, 2).contiguous().transpose(1, 2).requires_grad_(True) for t in tensors
        ]
    if init is not None:
        init = mLSTMState(*(t.to(DEVICE, torch.float32).requires_grad_(True) for t in init))
    return tensors, init


def _run(fn, tensors, init):
    h, state = fn(*tensors, init)
    weights = torch.linspace(-1.0, 1.0, h.numel(), device=h.device).view_as(h)
    loss = (h * weights).sum() + state.c.sum() + (state.n**2).sum() + 3 * state.m.sum()
    leaves = [*tensors, *(init or ())]
    grads = torch.autograd.grad(loss, leaves)
    return [h.detach(), *(t.detach() for t in state), *grads]


def _kernel(q, k, v, i, f, init):
    return mlstm_chunkwise_triton(q, k, v, i, f, init, True, chunk_size=16)


LAYOUTS = pytest.mark.parametrize("layer_layout", [False, True], ids=["contiguous", "layer-layout"])


@LAYOUTS
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_opcheck(with_state, layer_layout):
    # the fake implementations give the outputs' strides too (h and the gradients follow the layout of q)
    tensors, init = _inputs(with_state, layer_layout)
    c0, n0, m0 = init if init is not None else (None, None, None)
    torch.library.opcheck(_fwd_op, (*tensors, c0, n0, m0, 16, 1e-6))


@LAYOUTS
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_inference_op_opcheck_and_compiled_call_without_gradients(with_state, layer_layout):
    # without gradients the wrapper runs the inference op (h and the final state only)
    tensors, init = _inputs(with_state, layer_layout)
    tensors = [t.detach() for t in tensors]
    init = mLSTMState(*(t.detach() for t in init)) if init is not None else None
    c0, n0, m0 = init if init is not None else (None, None, None)
    torch.library.opcheck(_infer_op, (*tensors, c0, n0, m0, 16, 1e-6))
    dynamo.reset()
    report = dynamo.explain(_kernel)(*tensors, init)
    assert report.graph_break_count == 0, [str(b.reason) for b in report.break_reasons]
    ops = [str(n.target) for g in report.graphs for n in g.graph.nodes if n.op == "call_function"]
    assert ops.count("xlstm_ts.mlstm_chunkwise_triton_infer.default") == 1, ops
    expected = _kernel(*tensors, init)
    dynamo.reset()
    got = torch.compile(_kernel, fullgraph=True, backend="aot_eager")(*tensors, init)
    for a, b in zip([got[0], *got[1]], [expected[0], *expected[1]], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@LAYOUTS
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_compiled_call_equals_eager_and_has_no_graph_break(with_state, layer_layout):
    dynamo.reset()
    tensors, init = _inputs(with_state, layer_layout)
    report = dynamo.explain(_kernel)(*tensors, init)
    assert report.graph_break_count == 0, [str(b.reason) for b in report.break_reasons]
    assert report.graph_count == 1
    ops = [str(n.target) for g in report.graphs for n in g.graph.nodes if n.op == "call_function"]
    assert ops.count("xlstm_ts.mlstm_chunkwise_triton_fwd.default") == 1, ops
    expected = _run(_kernel, tensors, init)
    dynamo.reset()
    got = _run(torch.compile(_kernel, fullgraph=True, backend="aot_eager"), tensors, init)
    assert len(got) == len(expected) == 9 + (3 if with_state else 0)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------------ sLSTM
def _slstm_inputs(with_state: bool, DH: int = 8):
    g = torch.Generator().manual_seed(0)
    B, S, NH = 3, 11, 2
    x = torch.randn(B, S, NH, 4, DH, generator=g)
    r = 0.3 * torch.randn(NH, DH, 4, DH, generator=g)
    b = torch.randn(NH, 4, DH, generator=g)
    tensors = [t.to(DEVICE).requires_grad_(True) for t in (x, r, b)]
    init = None
    if with_state:
        fields = [torch.randn(B, NH, DH, generator=g) for _ in range(3)]
        fields[2] = fields[2].abs() + 0.5  # n > 0
        fields.append(torch.randn(B, NH, DH, generator=g))  # m
        init = sLSTMState(*(t.to(DEVICE).requires_grad_(True) for t in fields))
    return tensors, init


def _slstm_kernel(x, r, b, init):
    return triton_sequence.slstm_sequence_triton(x, r, b, init, True)


def _slstm_run(fn, tensors, init):
    h, state = fn(*tensors, init)
    weights = torch.linspace(-1.0, 1.0, h.numel(), device=h.device).view_as(h)
    loss = (h * weights).sum() + sum((k + 1) * t.sum() for k, t in enumerate(state))
    grads = torch.autograd.grad(loss, [*tensors, *(init or ())])
    return [h.detach(), *(t.detach() for t in state), *grads]


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_slstm_opcheck(with_state):
    tensors, init = _slstm_inputs(with_state)
    fields = tuple(init) if init is not None else (None,) * 4
    torch.library.opcheck(triton_sequence._fwd_op, (*tensors, *fields, True))


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_slstm_compiled_call_equals_eager_and_has_no_graph_break(with_state):
    dynamo.reset()
    tensors, init = _slstm_inputs(with_state)
    report = dynamo.explain(_slstm_kernel)(*tensors, init)
    assert report.graph_break_count == 0, [str(b.reason) for b in report.break_reasons]
    assert report.graph_count == 1
    ops = [str(n.target) for g in report.graphs for n in g.graph.nodes if n.op == "call_function"]
    assert ops.count("xlstm_ts.slstm_sequence_triton_fwd.default") == 1, ops
    expected = _slstm_run(_slstm_kernel, tensors, init)
    dynamo.reset()
    got = _slstm_run(torch.compile(_slstm_kernel, fullgraph=True, backend="aot_eager"), tensors, init)
    assert len(got) == len(expected) == 8 + (4 if with_state else 0)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------- mLSTM step
def _step_inputs(with_state: bool):
    g = torch.Generator().manual_seed(0)
    B, NH, DK, DV = 2, 2, 16, 8
    tensors = [torch.randn(*shape, generator=g) for shape in ((B, NH, DK), (B, NH, DK), (B, NH, DV))]
    tensors += [3 * torch.randn(B, NH, generator=g), 3 * torch.randn(B, NH, generator=g) + 2]
    init = None
    if with_state:
        init = mLSTMState(
            torch.randn(B, NH, DK, DV, generator=g),
            torch.randn(B, NH, DK, generator=g).abs(),
            torch.randn(B, NH, 1),
        )
    return [t.to(DEVICE) for t in tensors], None if init is None else mLSTMState(
        *(t.to(DEVICE) for t in init)
    )


def _step_kernel(q, k, v, i, f, state):
    return mlstm_step_triton(q, k, v, i, f, state)


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_step_opcheck(with_state):
    tensors, init = _step_inputs(with_state)
    fields = tuple(init) if init is not None else (None,) * 3
    # forward only (calls that need gradients take the native step), so no autograd registration to check
    torch.library.opcheck(
        triton_step._step_op,
        (*tensors, *fields, 1e-6),
        test_utils=("test_schema", "test_faketensor", "test_aot_dispatch_static"),
    )


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_step_compiled_call_equals_eager_and_has_no_graph_break(with_state):
    dynamo.reset()
    tensors, init = _step_inputs(with_state)
    with torch.no_grad():
        report = dynamo.explain(_step_kernel)(*tensors, init)
        assert report.graph_break_count == 0, [str(b.reason) for b in report.break_reasons]
        ops = [str(n.target) for g in report.graphs for n in g.graph.nodes if n.op == "call_function"]
        assert ops.count("xlstm_ts.mlstm_step_triton.default") == 1, ops
        h_ref, st_ref = _step_kernel(*tensors, init)
        dynamo.reset()
        h, st = torch.compile(_step_kernel, fullgraph=True, backend="aot_eager")(*tensors, init)
    for a, b in zip([h, *st], [h_ref, *st_ref], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.skipif(not triton_support.triton_available(), reason="triton is not installed")
@pytest.mark.parametrize(
    ("cell", "name"), [("mlstm", "chunkwise--auto"), ("mlstm", "step--auto"), ("slstm", "sequence--auto")]
)
def test_choosing_a_cuda_kernel_does_not_break_the_graph(cell, name):
    """The registry's choice for a CUDA tensor is traced as constants: no call that Dynamo skips (such as
    ``importlib.util.find_spec``) on the way, so a compiled stack on a GPU stays one graph.  Traced on the
    CPU with the device given as CUDA (the choice only reads device and dtype)."""

    def pick(x):
        spec = get_kernel(cell, name, device=torch.device("cuda"), dtype=x.dtype)
        return x + 1.0 if spec.name.endswith("--triton") else x - 1.0

    dynamo.reset()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = dynamo.explain(pick)(torch.zeros(3))
    assert report.graph_break_count == 0, [str(b.reason)[:200] for b in report.break_reasons]
    # torch 2.11 breaks the graph at a cached function or importlib.util.find_spec; newer releases trace
    # through them with a warning: neither may be on the dispatch path
    traced_through = [str(w.message)[:200] for w in caught if "_triton_support.py" in str(w.message)]
    assert not traced_through, traced_through
    assert torch.equal(torch.compile(pick, backend="eager", fullgraph=True)(torch.zeros(3)), torch.ones(3))


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "init-state"])
def test_eager_calls_skip_the_dispatcher_and_equal_the_custom_op(with_state, monkeypatch):
    # eager calls run the op's implementation through an autograd.Function (less host time); the custom op
    # with its registered autograd must give the same outputs and every gradient
    from xlstm_ts.kernels.mlstm import triton_chunkwise

    tensors, init = _inputs(with_state)
    eager = _run(_kernel, tensors, init)

    def through_op(q, k, v, i, f, init):
        c0, n0, m0 = init if init is not None else (None, None, None)
        h, c, n, m, *_ = _fwd_op(q, k, v, i, f, c0, n0, m0, 16, 1e-6)
        return h, mLSTMState(c, n, m)

    via_op = _run(through_op, tensors, init)
    for a, b in zip(eager, via_op, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    monkeypatch.setattr(triton_chunkwise, "_fwd_op", None)  # an eager call that reached the op would fail
    _run(_kernel, tensors, init)


def test_slstm_eager_path_equals_the_custom_op():
    from tests.kernels.test_slstm import make_inputs as slstm_inputs

    (x, r, b), _ = slstm_inputs(3, 9, 2, 16)
    leaves = [t.to(DEVICE, torch.float32).requires_grad_(True) for t in (x, r, b)]
    results = []
    for fwd in (triton_sequence._EagerFwd.apply, triton_sequence._fwd_op):
        h, final, _, _ = fwd(*leaves, None, None, None, None, True)
        loss = (h * torch.linspace(-1, 1, h.numel(), device=h.device).view_as(h)).sum() + final[1].sum()
        results.append([h.detach(), final.detach(), *torch.autograd.grad(loss, leaves)])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
