"""mLSTM kernels: float64 reference forms, the native PyTorch path, the Triton path, and their registration."""

from .._registry import KernelSpec, register_kernel
from .._triton_support import triton_supports
from .naive import mlstm_parallel_naive, mlstm_recurrent_naive
from .native import mlstm_chunkwise_native, mlstm_output_native, mlstm_step_native
from .triton_chunkwise import MAX_DK, MAX_DV, mlstm_chunkwise_triton
from .triton_output import MAX_DH, mlstm_output_triton
from .triton_step import mlstm_step_triton


def _triton_dims(q, v) -> bool:
    return q.shape[-1] <= MAX_DK and v.shape[-1] <= MAX_DV


register_kernel(KernelSpec("mlstm", "chunkwise", "native", mlstm_chunkwise_native, doc="PyTorch chunkwise"))
register_kernel(KernelSpec("mlstm", "step", "native", mlstm_step_native, doc="PyTorch single step"))
register_kernel(
    KernelSpec(
        "mlstm", "output", "native", mlstm_output_native, doc="PyTorch output stage (norm, skip, gate)"
    )
)
register_kernel(
    KernelSpec(
        "mlstm",
        "output",
        "triton",
        mlstm_output_triton,
        supports=triton_supports,
        accepts=lambda h: h.shape[-1] <= MAX_DH,
        doc=f"Triton fused output stage: per-head norm, skip and gate (CUDA; DH <= {MAX_DH})",
    )
)
register_kernel(
    KernelSpec(
        "mlstm",
        "chunkwise",
        "triton",
        mlstm_chunkwise_triton,
        supports=triton_supports,
        accepts=_triton_dims,
        doc=f"Triton chunkwise forward and backward (CUDA; DK <= {MAX_DK}, DV <= {MAX_DV})",
    )
)
register_kernel(
    KernelSpec(
        "mlstm",
        "step",
        "triton",
        mlstm_step_triton,
        supports=triton_supports,
        accepts=_triton_dims,
        doc=f"Triton fused single step (CUDA; DK <= {MAX_DK}, DV <= {MAX_DV})",
    )
)
register_kernel(
    KernelSpec("mlstm", "recurrent", "naive", mlstm_recurrent_naive, doc="reference step loop (slow)")
)
register_kernel(
    KernelSpec("mlstm", "parallel", "naive", mlstm_parallel_naive, doc="reference quadratic form, no state")
)

__all__ = [
    "mlstm_chunkwise_native",
    "mlstm_chunkwise_triton",
    "mlstm_output_native",
    "mlstm_output_triton",
    "mlstm_parallel_naive",
    "mlstm_recurrent_naive",
    "mlstm_step_native",
    "mlstm_step_triton",
]
