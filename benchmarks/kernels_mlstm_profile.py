"""Where the time of the Triton chunkwise mLSTM goes: a per-kernel breakdown with ``torch.profiler``.

Run on a CUDA machine from the repository root (after ``pip install --no-deps -e .``)::

    python benchmarks/kernels_mlstm_profile.py                # the four shapes of kernels_mlstm.py
    python benchmarks/kernels_mlstm_profile.py --shapes 1     # one of them

For each shape it runs forward+backward (bf16) a few times under the profiler and prints the CUDA time
of every kernel per iteration, largest first, so that the Triton kernels and the PyTorch glue around them
can be told apart.
"""

from __future__ import annotations

import argparse

SHAPES = [(128, 4, 512, 64, 64), (8, 16, 2048, 128, 128), (4, 8, 4096, 128, 128), (2, 8, 8192, 256, 512)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="0,1,2,3", help="comma-separated indices into the shape list")
    p.add_argument("--iters", type=int, default=5)
    a = p.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    from xlstm_ts.kernels import mlstm_sequence

    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device")
    for idx in (int(s) for s in a.shapes.split(",")):
        B, NH, S, DK, DV = SHAPES[idx]
        g = torch.Generator(device="cuda").manual_seed(0)
        q, k = (torch.randn(B, NH, S, DK, device="cuda", generator=g, dtype=torch.bfloat16) for _ in range(2))
        v = torch.randn(B, NH, S, DV, device="cuda", generator=g, dtype=torch.bfloat16)
        i = torch.randn(B, NH, S, device="cuda", generator=g, dtype=torch.bfloat16)
        f = torch.randn(B, NH, S, device="cuda", generator=g, dtype=torch.bfloat16) + 3
        leaves = [t.requires_grad_(True) for t in (q, k, v, i, f)]
        dh = torch.randn(B, NH, S, DV, device="cuda", generator=g, dtype=torch.bfloat16)

        def step(leaves=leaves, dh=dh):
            for t in leaves:
                t.grad = None
            h, _ = mlstm_sequence(*leaves, kernel="chunkwise--triton")
            h.backward(dh)

        for _ in range(3):
            step()
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(a.iters):
                step()
            torch.cuda.synchronize()
        rows = [e for e in prof.key_averages() if e.device_type.name == "CUDA" or getattr(e, "self_device_time_total", 0)]
        rows.sort(key=lambda e: -e.self_device_time_total)
        total = sum(e.self_device_time_total for e in rows) / a.iters / 1000
        print(f"\n## shape {SHAPES[idx]}: {total:.3f} ms of kernels per forward+backward")
        for e in rows[:14]:
            per = e.self_device_time_total / a.iters / 1000
            print(f"{per:8.3f} ms  {e.count // a.iters:3d}x  {e.key[:90]}")


if __name__ == "__main__":
    main()
