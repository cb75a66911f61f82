"""Triton output stage of the mLSTM layer: per-head norm, learnable skip and output gate, forward and backward in
one kernel each (``_triton/output.py``), as the custom ops ``torch.ops.xlstm_ts.mlstm_output_triton_fwd`` and
``..._bwd`` for ``torch.compile`` and as an ``autograd.Function`` in eager mode.

Same contract as :func:`~xlstm_ts.kernels.mlstm.native.mlstm_output_native`, which the tests compare it with.
In PyTorch the stage is a layer norm, four elementwise products, a sum and a cast forward, and about twice as
many operations backward, each reading and writing whole ``[B, S, NH * DH]`` tensors; here each direction reads
its inputs once and writes its results once.
"""

from __future__ import annotations

import torch

from .._triton_support import eager_function, launch, pow2, with_override

#: Widest head the kernels take (one program holds a block of rows times the whole head).
MAX_DH = 1024
#: Environment variable with a JSON object overriding the launch parameters (for benchmarks/kernels_mlstm_output.py).
LAUNCH_ENV = "XLSTM_TS_OUTPUT_LAUNCH"


def _launch(DH: int) -> dict:
    """Rows per program (``BN``, ``BN_B`` in the backward, which holds about twice as many tiles), the block
    width ``BD`` and warps: about 4096 elements per forward program, 4 warps (not measured yet; see
    docs/benchmarks.md)."""
    BD = pow2(DH, least=1)
    BN = max(1, min(128, 4096 // BD))
    return with_override(dict(BN=BN, BN_B=BN, BD=BD, warps=4, warps_B=4), LAUNCH_ENV)


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def _rows(t: torch.Tensor, N: int, I: int) -> torch.Tensor:
    """``t`` as ``[N, I]`` rows with contiguous features (a view when its strides allow, as for half of the
    up-projection)."""
    r = t.reshape(N, I)
    return r if r.stride(1) == 1 else r.contiguous()


def _fwd_impl(
    h: torch.Tensor,
    x: torch.Tensor,
    z: torch.Tensor,
    weight: torch.Tensor,
    skip: torch.Tensor,
    num_heads: int,
    eps: float,
    out_dtype: torch.dtype,
) -> torch.Tensor:
    """``h, x, z`` ``[N, I]`` rows (features contiguous), ``weight, skip`` ``[I]``; returns ``[N, I]``."""
    from ._triton.output import mlstm_output_fwd_kernel

    N, I = x.shape
    DH = I // num_heads
    cfg = _launch(DH)
    out = torch.empty(N, I, device=x.device, dtype=out_dtype)
    launch(
        mlstm_output_fwd_kernel, (_cdiv(N, cfg["BN"]), num_heads), h, x, z, weight.contiguous(), skip.contiguous(), out, N, DH,
        h.stride(0), x.stride(0), z.stride(0), out.stride(0), eps, BN=cfg["BN"], BD=cfg["BD"],
        num_warps=cfg["warps"],
    )  # fmt: skip
    return out


def _bwd_impl(
    dout: torch.Tensor,
    h: torch.Tensor,
    x: torch.Tensor,
    z: torch.Tensor,
    weight: torch.Tensor,
    skip: torch.Tensor,
    num_heads: int,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of ``h, x, z`` (``[N, I]``, contiguous, in their dtypes) and those of ``weight`` and ``skip``
    stacked ``[2, I]`` in float32 (one tensor: an op's outputs may not alias each other)."""
    from ._triton.output import mlstm_output_bwd_kernel

    N, I = x.shape
    DH = I // num_heads
    cfg = _launch(DH)
    BN = cfg["BN_B"]
    dout = dout if dout.stride(1) == 1 else dout.contiguous()
    dh = torch.empty(N, I, device=x.device, dtype=h.dtype)
    dx = torch.empty(N, I, device=x.device, dtype=x.dtype)
    dz = torch.empty(N, I, device=x.device, dtype=z.dtype)
    n_blocks = _cdiv(N, BN)
    partial = torch.empty(n_blocks, 2 * I, device=x.device, dtype=torch.float32)
    launch(
        mlstm_output_bwd_kernel, (n_blocks, num_heads), h, x, z, weight.contiguous(), skip.contiguous(), dout, dh, dx, dz, partial, N, DH, I,
        h.stride(0), x.stride(0), z.stride(0), dout.stride(0), eps, BN=BN, BD=cfg["BD"], num_warps=cfg["warps_B"],
    )  # fmt: skip
    return dh, dx, dz, partial.view(n_blocks, 2, I).sum(0)  # [2, I] float32: d weight, d skip


_fwd_op = torch.library.custom_op("xlstm_ts::mlstm_output_triton_fwd", mutates_args=())(_fwd_impl)
_bwd_op = torch.library.custom_op("xlstm_ts::mlstm_output_triton_bwd", mutates_args=())(_bwd_impl)


@_fwd_op.register_fake
def _fwd_fake(h, x, z, weight, skip, num_heads, eps, out_dtype):
    return x.new_empty(x.shape, dtype=out_dtype)


@_bwd_op.register_fake
def _bwd_fake(dout, h, x, z, weight, skip, num_heads, eps):
    return (
        x.new_empty(x.shape, dtype=h.dtype),
        x.new_empty(x.shape),
        x.new_empty(x.shape, dtype=z.dtype),
        x.new_empty(2, x.shape[1], dtype=torch.float32),
    )


def _setup_context(ctx, inputs, output) -> None:
    h, x, z, weight, skip, num_heads, eps, _ = inputs
    ctx.save_for_backward(h, x, z, weight, skip)
    ctx.params = (num_heads, eps)


def _backward_through(bwd):
    """The backward of the forward op, running the backward as ``bwd`` (the custom op, or its implementation)."""

    def backward(ctx, dout):  # (a single output: autograd calls this only with its gradient)
        h, x, z, weight, skip = ctx.saved_tensors
        dh, dx, dz, d_params = bwd(dout, h, x, z, weight, skip, *ctx.params)
        return dh, dx, dz, d_params[0].to(weight.dtype), d_params[1].to(skip.dtype), None, None, None

    return backward


_fwd_op.register_autograd(_backward_through(_bwd_op), setup_context=_setup_context)
#: Outside torch.compile: the same implementations and context without the dispatcher's Python layer.
_EagerOutput = eager_function(_fwd_impl, _setup_context, _backward_through(_bwd_impl), differentiable=1)


def mlstm_output_triton(
    h: torch.Tensor,
    x: torch.Tensor,
    z: torch.Tensor,
    weight: torch.Tensor,
    skip: torch.Tensor,
    eps: float = 1e-5,
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """:func:`~xlstm_ts.kernels.mlstm.native.mlstm_output_native` on Triton kernels (CUDA, or the CPU under
    ``TRITON_INTERPRET=1``); float32, float16 and bfloat16 in any mix, ``DH <= 1024``.

    Without ``out_dtype`` the result has the dtype the PyTorch stage would give: the promotion of the inputs'
    dtypes, with a 16-bit ``h`` counted as float32 under autocast (whose layer norm runs in float32).

    Examples
    --------
    >>> import torch
    >>> from xlstm_ts.kernels.mlstm import mlstm_output_native
    >>> if torch.cuda.is_available():
    ...     h = torch.randn(2, 3, 4, 8, device="cuda")
    ...     x, z = torch.randn(2, 3, 32, device="cuda"), torch.randn(2, 3, 32, device="cuda")
    ...     w, skip = torch.zeros(32, device="cuda"), torch.ones(32, device="cuda")
    ...     torch.testing.assert_close(mlstm_output_triton(h, x, z, w, skip), mlstm_output_native(h, x, z, w, skip))
    """
    B, S, NH, DH = h.shape
    if DH > MAX_DH:
        raise ValueError(f"output--triton takes heads of at most {MAX_DH} features; got DH={DH}.")
    if out_dtype is None:
        hd = h.dtype
        if torch.is_autocast_enabled(h.device.type) and hd in (torch.float16, torch.bfloat16):
            hd = torch.float32
        out_dtype = hd
        for t in (x, z, weight, skip):
            out_dtype = torch.promote_types(out_dtype, t.dtype)
    N, I = B * S, NH * DH
    args = (_rows(h, N, I), _rows(x, N, I), _rows(z, N, I), weight, skip, NH, float(eps), out_dtype)
    if torch.compiler.is_compiling():
        out = _fwd_op(*args)
    else:
        out = _EagerOutput.apply(*args)
    return out.view(B, S, I)


__all__ = ["MAX_DH", "mlstm_output_triton"]
