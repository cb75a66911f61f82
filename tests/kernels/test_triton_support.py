"""The launch plumbing shared by the Triton wrappers (no kernel runs here)."""

from __future__ import annotations

import pytest

from xlstm_ts.kernels._triton_support import halve, launch, no_pipelining, pow2, switch_off, with_override

errors = pytest.importorskip("triton.runtime.errors")


class FakeKernel:
    """Stands in for a Triton kernel: out of shared memory until ``fits(meta)`` holds."""

    def __init__(self, fits):
        self.fits, self.calls = fits, []

    def __getitem__(self, grid):
        def run(*args, **meta):
            self.calls.append(dict(meta))
            if not self.fits(meta):
                raise errors.OutOfResources(300_000, 232_448, "shared memory")

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
