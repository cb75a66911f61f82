"""Triton sLSTM kernels (@triton.jit code only), imported lazily by ``kernels/slstm/triton_sequence.py``."""
