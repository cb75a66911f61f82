"""Triton helpers shared by the mLSTM and sLSTM kernels (@triton.jit code only; imported lazily)."""
