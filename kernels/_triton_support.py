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


#: Compiled kernels by launch key (see :func:`launch`): ``(compiled kernel, constexpr values, the launch
#: parameters it runs with)``, or None where
#: the fast path does not apply.  Cleared when it holds more than :data:`_MAX_COMPILED` keys.
_compiled: dict = {}
_MAX_COMPILED = 1024


def _arg_key(a):
    """What a launch argument contributes to the launch key: a tensor its dtype and whether its data is 16-byte
    aligned (all Triton specialises a pointer on), anything else its type and value (ints are specialised on
    their value, and ``True == 1`` must not collide)."""
    if isinstance(a, torch.Tensor):
        return a.dtype, a.data_ptr() % 16 == 0
    return type(a), a


def _launch_key(kernel, args: tuple, meta: dict):
    """The key under which a launch's compiled kernel is kept, or None for launches that always take Triton's
    own path (no CUDA tensor among the arguments: the CPU interpreter)."""
    device = next((a.get_device() for a in args if isinstance(a, torch.Tensor)), -1)
    if device < 0:
        return None
    return (kernel, device, torch.cuda.current_device(), *map(_arg_key, args), *meta.items())


def launch(kernel, grid, *args, fallbacks: Sequence[Callable[[dict], bool]] = (), **meta) -> None:
    """Launch a Triton ``kernel`` (``kernel[grid](*args, **meta)``), with the same semantics and less host time.

    * Fast path: Triton's launch binds the arguments, works out their specialisation and looks the compiled
      kernel up on every call (about 24-38 us of host time per launch on the H200 machine, against 13-16 us for
      the compiled kernel's own runner).  So the compiled kernel that Triton's path returns is kept under a key
      of everything it was specialised on (see :func:`_arg_key`: dtypes, pointer alignment, the values of the
      other arguments, the launch parameters, the device), and later launches with the same key call its
      runner directly.  Any other key goes through Triton's path, which compiles what it has to.  Under the
      CPU interpreter every launch takes Triton's path.
    * If the kernel needs more shared memory than this GPU has, the first of ``fallbacks`` that still changes
      something is applied (each edits the launch parameters and says whether it did) and the launch tried
      again, so that a heuristic tuned on one GPU never makes a shape fail on a smaller one.  The compiled
      kernel that fits is kept under the key of the parameters asked for.
    * ``grid`` is a tuple, or (for a kernel whose grid depends on a launch parameter that a fallback may
      change, such as the block of values each program takes) a function of the launch parameters that returns
      one; it is then evaluated with the parameters the kernel actually runs with, on every path.
    """
    key = _launch_key(kernel, args, meta)
    hit = _compiled.get(key) if key is not None else None
    if hit is not None:
        compiled, tail, ran = hit
        compiled[_grid3(grid(ran) if callable(grid) else grid)](*args, *tail)
        return
    from triton.runtime.errors import OutOfResources

    while True:
        try:
            compiled = kernel[grid(meta) if callable(grid) else grid](*args, **meta)
            break
        except OutOfResources:
            if not any(step(meta) for step in fallbacks):
                raise
    if key is not None and key not in _compiled:
        if len(_compiled) >= _MAX_COMPILED:
            _compiled.clear()
        _compiled[key] = _runner_entry(kernel, compiled, len(args), meta)


def _grid3(grid) -> tuple[int, int, int]:
    """A launch grid as the three sizes a compiled kernel's runner takes."""
    return (grid[0], grid[1] if len(grid) > 1 else 1, grid[2] if len(grid) > 2 else 1)


def _runner_entry(kernel, compiled, n_args: int, meta: dict):
    """``(compiled kernel, values of the remaining parameters)`` for the fast path, or None when this Triton's
    kernels do not look as expected (then every launch takes Triton's own path)."""
    names = getattr(kernel, "arg_names", None)
    if names is None or not hasattr(compiled, "__getitem__") or not hasattr(compiled, "run"):
        return None
    try:
        tail = tuple(meta[n] for n in names[n_args:])
    except KeyError:  # a parameter left to its default: its value is not known here
        return None
    return compiled, tail, dict(meta)
