"""``@triton.jit`` helpers shared by the mLSTM and sLSTM kernels: overflow-free log-sigmoid, sigmoid and
tanh, and the two kinds of matrix product.

``MODE`` says what the inputs are: 0 float32, 1 float16, 2 bfloat16, and two more float32 modes that
follow ``torch.set_float32_matmul_precision``: 3 ("high") and 4 ("medium").

* :func:`dot_in` multiplies operands that are bounded by the inputs (``q k^T``, weights times ``v``): in
  the inputs' own dtype with float32 accumulation; float32 inputs exactly in float32
  (``input_precision="ieee"``, mode 0), as three TF32 products (``"tf32x3"``, mode 3: close to float32, on
  tensor cores) or one (``"tf32"``, mode 4).
* :func:`dot_wide` multiplies operands that can grow past the inputs' range (the memory ``C``, output
  gradients divided by a small normaliser): float32 for float32 and float16 inputs (tf32 for the latter;
  the float32 modes as in ``dot_in``), bfloat16 (float32's range) for bfloat16 inputs.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def logsigmoid(x):
    # log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)), finite for every finite x
    return tl.minimum(x, 0.0) - tl.log(1.0 + tl.exp(-tl.abs(x)))


@triton.jit
def sigmoid(x):
    # 1 / (1 + exp(-x)) written with e = exp(-|x|) <= 1: no overflow for large |x|
    e = tl.exp(-tl.abs(x))
    return tl.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


@triton.jit
def tanh(x):
    # odd extension of (1 - e) / (1 + e), e = exp(-2|x|) <= 1: no overflow for any x
    e = tl.exp(-2.0 * tl.abs(x))
    t = (1.0 - e) / (1.0 + e)
    return tl.where(x < 0.0, -t, t)


@triton.jit
def dot_in(a, b, MODE: tl.constexpr):
    if MODE == 0:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    elif MODE == 3:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="tf32x3")
    elif MODE == 4:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="tf32")
    elif MODE == 1:
        return tl.dot(a.to(tl.float16), b.to(tl.float16))
    else:
        return tl.dot(a.to(tl.bfloat16), b.to(tl.bfloat16))


@triton.jit
def dot_wide(a, b, MODE: tl.constexpr):
    if MODE == 0:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="ieee")
    elif MODE == 3:
        return tl.dot(a.to(tl.float32), b.to(tl.float32), input_precision="tf32x3")
    elif MODE == 4 or MODE == 1:
        return tl.dot(a.to(tl.float32), b.to(tl.float32))
    else:
        return tl.dot(a.to(tl.bfloat16), b.to(tl.bfloat16))


__all__ = ["dot_in", "dot_wide", "logsigmoid", "sigmoid", "tanh", "triton"]
