"""When the Triton kernels can run (Triton importable, a CUDA device), and the launch plumbing they share.

Triton is an optional dependency; nothing here imports it.  On a CPU machine the Triton kernels are
still importable and can be called directly under ``TRITON_INTERPRET=1`` (the tests do), but ``auto``
never picks them there.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from collections.abc import Callable, Sequence

import torch

#: Activation dtypes the Triton kernels take (states stay float32).
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


#: Whether ``triton`` is installed, looked up once at import.  A module constant rather than a call, so that
#: ``torch.compile`` reads it as a constant: Dynamo does not trace ``importlib.util.find_spec`` and would
#: break the graph at every kernel dispatch on a GPU.
_TRITON_INSTALLED = importlib.util.find_spec("triton") is not None


def triton_available() -> bool:
    """Whether the ``triton`` package can be imported."""
    return _TRITON_INSTALLED


def triton_supports(device: torch.device, dtype: torch.dtype) -> bool:
    """Capability check for the registry: a CUDA tensor of a supported dtype, and Triton installed."""
    return torch.device(device).type == "cuda" and dtype in TRITON_DTYPES and _TRITON_INSTALLED


#: ``MODE`` constexpr of the kernels for each activation dtype (see ``kernels/_triton/common.py``); float32
#: inputs take the mode of :data:`FLOAT32_MODES` that ``torch.get_float32_matmul_precision()`` names.
TRITON_MODES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}
#: float32 modes by matmul precision: exact float32 products ("highest", PyTorch's default), three TF32 products
#: per product ("high": close to float32, on tensor cores), one TF32 product ("medium").
FLOAT32_MODES = {"highest": 0, "high": 3, "medium": 4}


def triton_mode(dtype: torch.dtype) -> int:
    """The ``MODE`` the kernels run in for inputs of ``dtype`` (which must be in :data:`TRITON_DTYPES`)."""
    if dtype == torch.float32:
        return FLOAT32_MODES[torch.get_float32_matmul_precision()]
    return TRITON_MODES[dtype]


def is_float32_mode(mode: int) -> bool:
    """Whether ``mode`` is one of the float32 modes (operands kept in float32, whatever their products)."""
    return mode in FLOAT32_MODES.values()


def pow2(x: int, least: int = 16) -> int:
    """Smallest power of two ``>= x`` and ``>= least`` (block sizes; ``tl.dot`` needs at least 16)."""
    return max(least, 1 << (max(1, x) - 1).bit_length())


@functools.cache
def sm_count(device: torch.device) -> int:
    """Streaming multiprocessors of a CUDA device; an H100's 132 elsewhere (the interpreter)."""
    if torch.device(device).type != "cuda":
        return 132
    return torch.cuda.get_device_properties(device).multi_processor_count


def with_override(cfg: dict, env_var: str) -> dict:
    """``cfg`` updated with the JSON object in ``env_var``, if set (the benchmarks' hook for sweeps)."""
    override = os.environ.get(env_var)
    if override:
        cfg.update(json.loads(override))
    return cfg


def no_pipelining(meta: dict) -> bool:
    """Launch fallback: one software-pipelining stage instead of several."""
    if meta.get("num_stages", 3) > 1:
        meta["num_stages"] = 1
        return True
    return False


def switch_off(key: str) -> Callable[[dict], bool]:
    """Launch fallback: set the boolean constexpr ``key`` to False."""

    def step(meta: dict) -> bool:
        if meta.get(key, False):
            meta[key] = False
            return True
        return False

    return step


def halve(key: str, least: int = 16) -> Callable[[dict], bool]:
    """Launch fallback: halve the block size ``key`` (down to ``least``)."""

    def step(meta: dict) -> bool:
        if meta.get(key, 0) > least:
            meta[key] //= 2
            return True
        return False

    return step


def eager_function(
    impl: Callable, setup_context: Callable, backward: Callable, differentiable: int
) -> type[torch.autograd.Function]:
    """The eager-mode twin of a ``torch.library`` custom op with registered autograd, as an ``autograd.Function``.

    A custom op call goes through the dispatcher's Python layer (argument defaults, alias checks, the
    registered autograd), which costs about as much host time as the rest of our wrappers together (measured on
    the CPU with the kernels stubbed out: 230 against 120 us per mLSTM forward+backward).  Outside
    ``torch.compile`` the wrappers call this Function instead: ``impl`` is the op's own implementation, and
    ``setup_context`` and ``backward`` are the ones registered with it, so both paths compute the same thing.
    The first ``differentiable`` outputs get gradients; the rest are saved statistics (an op with a single
    tensor output has nothing else).  Gradients of unused outputs arrive as ``None``, as they do for the custom op.
    """

    class EagerOp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            ctx.set_materialize_grads(False)
            output = impl(*inputs)
            setup_context(ctx, inputs, output)
            if not isinstance(output, torch.Tensor):
                ctx.mark_non_differentiable(*output[differentiable:])
            return output

        @staticmethod
        def backward(ctx, *grads):
            return backward(ctx, *grads)

    EagerOp.__name__ = EagerOp.__qualname__ = f"Eager_{impl.__name__}"
    return EagerOp


def launch(kernel, grid, *args, fallbacks: Sequence[Callable[[dict], bool]] = (), **meta) -> None:
    """Launch a Triton ``kernel``; if it needs more shared memory than this GPU has, apply the first of
    ``fallbacks`` that still changes something (each edits the launch parameters and says whether it did)
    and try again, so that a heuristic tuned on one GPU never makes a shape fail on a smaller one."""
    from triton.runtime.errors import OutOfResources

    while True:
        try:
            kernel[grid](*args, **meta)
            return
        except OutOfResources:
            if not any(step(meta) for step in fallbacks):
                raise
