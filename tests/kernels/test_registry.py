"""Kernel registry: names, auto resolution, environment override, errors."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.kernels import ENV_BACKEND, available_kernels, get_kernel


def test_available_kernels_lists_native_and_reference_forms():
    assert {"chunkwise--native", "step--native", "recurrent--naive", "parallel--naive"} <= set(
        available_kernels("mlstm")
    )
    assert {"sequence--native", "step--native", "recurrent--naive"} <= set(available_kernels("slstm"))


def test_auto_resolves_to_native_on_cpu():
    spec = get_kernel("mlstm", "chunkwise--auto", torch.device("cpu"), torch.float32)
    assert spec.name == "chunkwise--native"
    assert get_kernel("slstm", "step--auto").name == "step--native"


def test_unknown_names_list_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown mlstm kernel 'chunkwise--cuda'.*chunkwise--native"):
        get_kernel("mlstm", "chunkwise--cuda")
    with pytest.raises(ValueError, match="not of the form"):
        get_kernel("slstm", "sequence")
    with pytest.raises(ValueError, match="Unknown cell"):
        get_kernel("gru", "step--native")


def test_environment_variable_forces_backend(monkeypatch):
    monkeypatch.setenv(ENV_BACKEND, "naive")
    assert get_kernel("mlstm", "recurrent--auto").backend == "naive"
    with pytest.raises(ValueError, match=f"{ENV_BACKEND}='naive'"):
        get_kernel("mlstm", "chunkwise--auto")
