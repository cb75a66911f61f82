"""Triton sLSTM kernels (@triton.jit code only), imported lazily by ``kernels/slstm/sequence.py``."""
