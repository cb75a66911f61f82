"""When the Triton kernels can run: Triton importable and a CUDA device (checked once, lazily).

Triton is an optional dependency; nothing here imports it.  On a CPU machine the Triton kernels are
still importable and can be called directly under ``TRITON_INTERPRET=1`` (the tests do), but ``auto``
never picks them there.
"""

from __future__ import annotations

import functools
import importlib.util

import torch

#: Activation dtypes the Triton kernels take (states stay float32).
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@functools.cache
def triton_available() -> bool:
    """Whether the ``triton`` package can be imported."""
    return importlib.util.find_spec("triton") is not None


def triton_supports(device: torch.device, dtype: torch.dtype) -> bool:
    """Capability check for the registry: a CUDA tensor of a supported dtype, and Triton installed."""
    return torch.device(device).type == "cuda" and dtype in TRITON_DTYPES and triton_available()
