"""Host time of the Triton mLSTM and sLSTM wrappers per forward+backward, with the kernels stubbed out (CPU).

Run from the repository root on any machine (no GPU needed)::

    python benchmarks/host_overhead_cpu.py

On a GPU, small shapes are bound by the host: Python, autograd, allocations and kernel launches. This script
replaces every Triton kernel with a no-op, so what it times is the Python around them. The tensors are tiny
CPU tensors, so the few PyTorch ops of the wrappers cost CPU time here instead of launch time. Two paths are
timed side by side: the eager path (``_EagerFwd``: the ops' implementations in an ``autograd.Function``) and
the ``torch.library`` custom op with its registered autograd, which ``torch.compile`` uses. Prints the median
of 5 rounds of 300 calls, in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time


class _NoKernel:
    def __getitem__(self, grid):
        return lambda *args, **kwargs: None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=300, help="calls per round (5 rounds; the median is printed)")
    a = p.parse_args()

    import torch

    import xlstm_ts.kernels.mlstm._triton.chunkwise_bwd as mbwd
    import xlstm_ts.kernels.mlstm._triton.chunkwise_fwd as mfwd
    import xlstm_ts.kernels.slstm._triton.sequence_bwd as sbwd
    import xlstm_ts.kernels.slstm._triton.sequence_fwd as sfwd
    from xlstm_ts.kernels.mlstm import triton_chunkwise as tc
    from xlstm_ts.kernels.slstm import triton_sequence as ts

    for mod in (mfwd, mbwd, sfwd, sbwd):
        for name in dir(mod):
            if name.endswith("_kernel"):
                setattr(mod, name, _NoKernel())

    B, NH, S, D = 2, 2, 64, 16
    q, k, v = (torch.randn(B, NH, S, D, requires_grad=True) for _ in range(3))
    i, f = (torch.randn(B, NH, S, requires_grad=True) for _ in range(2))
    dh = torch.randn(B, NH, S, D)
    x = torch.randn(B, S, NH, 4, D, requires_grad=True)
    r = torch.randn(NH, D, 4, D, requires_grad=True)
    b = torch.randn(NH, 4, D, requires_grad=True)
    dhs = torch.randn(B, S, NH, D)

    def mlstm(fwd):
        def step():
            for t in (q, k, v, i, f):
                t.grad = None
            fwd(q, k, v, i, f, None, None, None, 64, 1e-6)[0].backward(dh)

        return step

    def slstm(fwd):
        def step():
            for t in (x, r, b):
                t.grad = None
            fwd(x, r, b, None, None, None, None, True)[0].backward(dhs)

        return step

    cases = [
        ("mLSTM chunkwise, eager path", mlstm(tc._EagerFwd.apply)),
        ("mLSTM chunkwise, custom op", mlstm(tc._fwd_op)),
        ("sLSTM sequence, eager path", slstm(ts._EagerFwd.apply)),
        ("sLSTM sequence, custom op", slstm(ts._fwd_op)),
    ]
    print(
        f"# torch {torch.__version__}; kernels stubbed; host us per forward+backward (median of 5 x 300 calls)"
    )
    for name, step in cases:
        for _ in range(30):
            step()
        rounds = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(a.calls):
                step()
            rounds.append((time.perf_counter() - t0) / a.calls * 1e6)
        print(f"{name:32s} {statistics.median(rounds):7.1f} us")


if __name__ == "__main__":
    main()
