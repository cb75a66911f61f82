"""``sum_outer`` (the split-K product behind weight gradients) against one float64 product."""

from __future__ import annotations

import pytest
import torch

from xlstm_ts.kernels._linalg import sum_outer


@pytest.mark.parametrize(
    "G,K,M,N,part",
    [(3, 1, 5, 7, 4), (2, 4, 3, 3, 4), (2, 8, 3, 2, 4), (3, 23, 5, 7, 4), (1, 4099, 33, 17, 1024)],
    ids=["K=1", "one-part", "two-parts", "remainder", "large"],
)
def test_matches_one_product(G, K, M, N, part):
    g = torch.Generator().manual_seed(K)
    a = torch.randn(G, K, M, generator=g, dtype=torch.float64)
    b = torch.randn(G, K, N, generator=g, dtype=torch.float64)
    ref = torch.einsum("gkm,gkn->gmn", a, b)
    torch.testing.assert_close(sum_outer(a, b, part_rows=part), ref, rtol=1e-12, atol=1e-12)
    got32 = sum_outer(a.float(), b.float(), part_rows=part)
    assert got32.dtype == torch.float32
    torch.testing.assert_close(got32.double(), ref, rtol=1e-5, atol=1e-4)


def test_non_contiguous_inputs():
    a = torch.randn(40, 3, 6, dtype=torch.float64).permute(1, 0, 2)  # [3, 40, 6], strided
    b = torch.randn(3, 9, 40, dtype=torch.float64).transpose(1, 2)  # [3, 40, 9]
    torch.testing.assert_close(sum_outer(a, b, part_rows=16), a.transpose(1, 2) @ b)


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"a \[G, K, M\] and b \[G, K, N\]; got \(2, 5, 3\) and \(2, 4, 3\)"):
        sum_outer(torch.zeros(2, 5, 3), torch.zeros(2, 4, 3))
