"""Matrix products that PyTorch's batched GEMM runs badly, written so that it runs them well.

:func:`sum_outer` forms ``a^T b`` per batch entry when the shared dimension is long and the result small:
the weight gradient of a block-diagonal projection (``x^T dy`` over all ``B * S`` rows) and the gradient of
the sLSTM recurrent kernel (``h_{t-1}^T draw`` over all steps and rows).  Handed to ``torch.bmm`` as it
is, cuBLAS gives each small output tile one thread block that walks the whole long dimension alone
(measured: see docs/benchmarks.md, 'Weight gradients over long row counts'); splitting that dimension
into parts and summing the partial products keeps every SM busy.
"""

from __future__ import annotations

import torch

#: Rows of the shared dimension per part of :func:`sum_outer`.
PART_ROWS = 1024


def sum_outer(a: torch.Tensor, b: torch.Tensor, part_rows: int = PART_ROWS) -> torch.Tensor:
    """``a.transpose(-1, -2) @ b`` for ``a`` ``[G, K, M]`` and ``b`` ``[G, K, N]``, split over ``K``.

    The ``K`` rows are cut into parts of ``part_rows`` (the last ``K mod part_rows`` rows form one more
    product); the partial ``[G, M, N]`` products are summed in the dtype of the inputs, like one product.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.randn(2, 5000, 3), torch.randn(2, 5000, 4)
    >>> torch.allclose(sum_outer(a, b), a.transpose(1, 2) @ b, atol=1e-3)
    True
    """
    G, K, M = a.shape
    if b.shape[:2] != (G, K):
        raise ValueError(
            f"sum_outer takes a [G, K, M] and b [G, K, N]; got {tuple(a.shape)} and {tuple(b.shape)}."
        )
    N = b.shape[2]
    parts = K // part_rows
    if parts <= 1:
        return a.transpose(1, 2) @ b
    main = parts * part_rows
    # [G, parts, rows, M]^T @ [G, parts, rows, N] -> [G, parts, M, N] -> [G, M, N]
    a_main = a[:, :main].reshape(G, parts, part_rows, M)
    b_main = b[:, :main].reshape(G, parts, part_rows, N)
    out = (a_main.transpose(-1, -2) @ b_main).sum(1)
    if main < K:
        out = out + a[:, main:].transpose(1, 2) @ b[:, main:]
    return out


__all__ = ["PART_ROWS", "sum_outer"]
