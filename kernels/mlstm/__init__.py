"""mLSTM kernels: float64 reference forms, the native PyTorch path, and their registration."""

from .._registry import KernelSpec, register_kernel
from .naive import mlstm_parallel_naive, mlstm_recurrent_naive
from .native import mlstm_chunkwise_native, mlstm_step_native

register_kernel(KernelSpec("mlstm", "chunkwise", "native", mlstm_chunkwise_native, doc="PyTorch chunkwise"))
register_kernel(KernelSpec("mlstm", "step", "native", mlstm_step_native, doc="PyTorch single step"))
register_kernel(
    KernelSpec("mlstm", "recurrent", "naive", mlstm_recurrent_naive, doc="reference step loop (slow)")
)
register_kernel(
    KernelSpec("mlstm", "parallel", "naive", mlstm_parallel_naive, doc="reference quadratic form, no state")
)

__all__ = ["mlstm_chunkwise_native", "mlstm_parallel_naive", "mlstm_recurrent_naive", "mlstm_step_native"]
