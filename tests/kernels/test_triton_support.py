"""The launch plumbing shared by the Triton wrappers (no kernel runs here)."""

from __future__ import annotations

import pytest
import torch

import xlstm_ts.kernels._triton_support as support
from xlstm_ts.kernels._triton_support import halve, launch, no_pipelining, pow2, switch_off, with_override

errors = pytest.importorskip("triton.runtime.errors")


class FakeKernel:
    """Stands in for a Triton kernel: out of shared memory until ``fits(meta)`` holds; a launch returns
    ``compiled(meta)`` (None, as under the interpreter, unless told otherwise)."""

    def __init__(self, fits, compiled=lambda meta: None):
        self.fits, self.compiled, self.calls, self.grids = fits, compiled, [], []

    def __getitem__(self, grid):
        def run(*args, **meta):
            self.calls.append(dict(meta))
            self.grids.append(grid)
            if not self.fits(meta):
                raise errors.OutOfResources(300_000, 232_448, "shared memory")
            return self.compiled(meta)

        return run


def test_launch_applies_fallbacks_in_order_until_it_fits():
    kernel = FakeKernel(lambda meta: meta["BDV"] <= 32)
    launch(kernel, (1,), 0, BDV=128, num_stages=3, fallbacks=(no_pipelining, halve("BDV")))
    assert [(c["num_stages"], c["BDV"]) for c in kernel.calls] == [(3, 128), (1, 128), (1, 64), (1, 32)]


def test_launch_raises_when_no_fallback_is_left():
    kernel = FakeKernel(lambda meta: False)
    with pytest.raises(errors.OutOfResources):
        launch(kernel, (1,), RESIDENT=True, num_stages=2, fallbacks=(switch_off("RESIDENT"), no_pipelining))
    assert [(c["RESIDENT"], c["num_stages"]) for c in kernel.calls] == [(True, 2), (False, 2), (False, 1)]


def test_launch_without_fallbacks_raises_at_once():
    kernel = FakeKernel(lambda meta: False)
    with pytest.raises(errors.OutOfResources):
        launch(kernel, (1,), BDV=64)
    assert len(kernel.calls) == 1


def test_pow2_and_override(monkeypatch):
    assert [pow2(x) for x in (1, 16, 17, 100)] == [16, 16, 32, 128]
    assert [pow2(x, least=1) for x in (1, 3, 64)] == [1, 4, 64]
    monkeypatch.setenv("XLSTM_TS_TEST_LAUNCH", '{"BDV": 32}')
    assert with_override({"BDV": 64, "L": 64}, "XLSTM_TS_TEST_LAUNCH") == {"BDV": 32, "L": 64}
    monkeypatch.delenv("XLSTM_TS_TEST_LAUNCH")
    assert with_override({"BDV": 64}, "XLSTM_TS_TEST_LAUNCH") == {"BDV": 64}


class FakeCompiled:
    """Stands in for a compiled Triton kernel: records what its runner is called with."""

    def __init__(self, meta):
        self.meta, self.runs = dict(meta), []

    def run(self):  # (only its presence matters to the fast path)
        raise AssertionError("the fast path calls the runner, not run")

    def __getitem__(self, grid):
        return lambda *values: self.runs.append((grid, values))


class JitLike(FakeKernel):
    """Stands in for a JITFunction: parameters ``x, n, BLOCK``; every launch through it compiles anew."""

    arg_names = ["x", "n", "BLOCK"]

    def __init__(self, fits=lambda meta: True):
        super().__init__(fits, compiled=FakeCompiled)


@pytest.fixture
def fast_path(monkeypatch):
    """The fast path on CPU tensors (it serves CUDA tensors only): the key without the device, a clean cache."""
    monkeypatch.setattr(
        support,
        "_launch_key",
        lambda kernel, args, meta: (kernel, *map(support._arg_key, args), *meta.items()),
    )
    monkeypatch.setattr(support, "_compiled", {})
    return support._compiled


def test_fast_path_reuses_the_compiled_kernel_with_the_full_argument_list(fast_path):
    kernel, x = JitLike(), torch.zeros(4)
    launch(kernel, (3,), x, 7, BLOCK=16, num_warps=4)
    launch(kernel, (5, 2), x, 7, BLOCK=16, num_warps=4)
    assert len(kernel.calls) == 1  # the second launch did not go through Triton's path
    (compiled,) = [entry[0] for entry in fast_path.values()]
    assert compiled.runs == [((5, 2, 1), (x, 7, 16))]  # the grid padded to 3, constexprs after the arguments


@pytest.mark.parametrize(
    "first, second",
    [
        ((torch.zeros(4), 7), (torch.zeros(4, dtype=torch.float64), 7)),  # another dtype
        ((torch.zeros(4), 7), (torch.zeros(8)[1:5], 7)),  # data not 16-byte aligned
        ((torch.zeros(4), 7), (torch.zeros(4), 8)),  # another int
        ((torch.zeros(4), 1), (torch.zeros(4), True)),  # a bool equal to 1 is not the int 1
    ],
)
def test_fast_path_misses_on_anything_triton_specialises_on(fast_path, first, second):
    kernel = JitLike()
    launch(kernel, (1,), *first, BLOCK=16)
    launch(kernel, (1,), *second, BLOCK=16)
    assert len(kernel.calls) == 2
    launch(kernel, (1,), *first, BLOCK=32)  # other launch parameters
    assert len(kernel.calls) == 3
    launch(kernel, (1,), *first, BLOCK=16)  # a hit again
    assert len(kernel.calls) == 3


def test_fast_path_keeps_the_kernel_that_fit_under_the_parameters_asked_for(fast_path):
    kernel = JitLike(lambda meta: meta["BLOCK"] <= 32)
    x = torch.zeros(4)
    launch(kernel, (1,), x, 7, BLOCK=128, fallbacks=(halve("BLOCK"),))
    launch(kernel, (1,), x, 7, BLOCK=128, fallbacks=(halve("BLOCK"),))
    assert [m["BLOCK"] for m in kernel.calls] == [128, 64, 32]  # the second launch: fast path
    (compiled,) = [entry[0] for entry in fast_path.values()]
    assert compiled.meta["BLOCK"] == 32 and compiled.runs == [((1, 1, 1), (x, 7, 32))]


def test_a_grid_given_as_a_function_follows_the_fallback_parameters_on_both_paths(fast_path):
    # a kernel that takes BLOCK of 100 columns per program: when a fallback halves BLOCK, twice the programs run
    kernel = JitLike(lambda meta: meta["BLOCK"] <= 32)
    x = torch.zeros(4)

    def grid(meta):
        return (-(-100 // meta["BLOCK"]), 3)

    launch(kernel, grid, x, 7, BLOCK=64, fallbacks=(halve("BLOCK"),))
    assert kernel.grids == [(2, 3), (4, 3)]  # Triton's path: the grid of the parameters tried
    launch(kernel, grid, x, 7, BLOCK=64, fallbacks=(halve("BLOCK"),))
    (compiled,) = [entry[0] for entry in fast_path.values()]
    assert compiled.runs == [((4, 3, 1), (x, 7, 32))]  # the fast path: the grid of the kernel that fit


def test_without_compiled_kernels_every_launch_takes_tritons_path(fast_path):
    """The interpreter (and the benchmarks' stubs) return no compiled kernel; a parameter left to its default
    has no known value: both keep Triton's path."""
    calls = FakeKernel(lambda meta: True)  # returns None
    calls.arg_names = ["x", "BLOCK"]
    for _ in range(2):
        launch(calls, (1,), torch.zeros(4), BLOCK=16)
    jit = JitLike()
    for _ in range(2):
        launch(jit, (1,), torch.zeros(4), 7)  # BLOCK not given
    assert len(calls.calls) == 2 and len(jit.calls) == 2


def test_launch_key_leaves_cpu_tensors_to_triton():
    assert support._launch_key(JitLike(), (torch.zeros(2), 3), {"BLOCK": 16}) is None
