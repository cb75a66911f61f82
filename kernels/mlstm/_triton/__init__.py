"""Triton kernels (@triton.jit code only); imported lazily by the wrappers."""
