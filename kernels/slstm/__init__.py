"""sLSTM kernels: the float64 reference loop, the native PyTorch path, the Triton path, and their registration."""

from .._registry import KernelSpec, register_kernel
from .._triton_support import triton_supports
from .naive import slstm_recurrent_naive
from .native import slstm_sequence_native, slstm_step_native
from .triton_sequence import MAX_DH, slstm_sequence_triton, slstm_step_triton, triton_accepts

register_kernel(
    KernelSpec(
        "slstm",
        "sequence",
        "triton",
        slstm_sequence_triton,
        supports=triton_supports,
        accepts=triton_accepts,
        doc=f"Triton fused recurrence, forward and backward (CUDA; DH <= {MAX_DH})",
    )
)
register_kernel(
    KernelSpec(
        "slstm",
        "step",
        "triton",
        slstm_step_triton,
        supports=triton_supports,
        accepts=triton_accepts,
        doc=f"Triton fused step, one launch (CUDA; DH <= {MAX_DH})",
    )
)
register_kernel(KernelSpec("slstm", "sequence", "native", slstm_sequence_native, doc="PyTorch loop"))
register_kernel(KernelSpec("slstm", "step", "native", slstm_step_native, doc="PyTorch single step"))
register_kernel(
    KernelSpec("slstm", "recurrent", "naive", slstm_recurrent_naive, doc="reference step loop (slow)")
)

__all__ = [
    "slstm_recurrent_naive",
    "slstm_sequence_native",
    "slstm_sequence_triton",
    "slstm_step_native",
    "slstm_step_triton",
]
