"""Where the time of the sLSTM goes: the layer around the Triton kernel, and the kernel's launch parameters.

Run on a CUDA machine from the repository root (after ``pip install --no-deps -e .``)::

    python benchmarks/kernels_slstm_profile.py                  # our sLSTMLayer at the three shapes
    python benchmarks/kernels_slstm_profile.py --shapes 2 --dtypes bfloat16

For each shape and dtype it times forward+backward of our ``sLSTMLayer`` (float32, or bfloat16 autocast
with float32 parameters) and prints the wall time per call next to the CUDA time of every kernel, largest
first, so that the Triton kernels, the PyTorch glue around them and host overhead can be told apart.

``--configs`` takes a JSON list of launch-parameter overrides (see ``_launch`` in kernels/slstm/triton_sequence.py)
and prints one line per configuration for the kernel alone (``x`` ``[B, S, NH, 4, DH]``), which is how the
launch heuristics were chosen::

    python benchmarks/kernels_slstm_profile.py --configs '[{}, {"BB": 32}, {"warps": 2}]'

Shapes (B, S, E, NH): those of ``kernels_slstm.py``, then (64, 512, 512, 4) and (16, 1024, 768, 4).  The layer
profile follows ``XLSTM_TS_BACKEND`` (``=native`` times the PyTorch loop instead of the Triton kernels).
"""

from __future__ import annotations

import argparse
import json

#: the three shapes of kernels_slstm.py, then two with wide heads (DH = 128 and 192: the wide kernels in
#: float32, and at 192 also in bf16)
SHAPES = [(64, 512, 256, 4), (8, 2048, 256, 4), (256, 336, 128, 4), (64, 512, 512, 4), (16, 1024, 768, 4)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="0,1,2", help="comma-separated indices into the shape list")
    p.add_argument("--dtypes", default="float32,bfloat16", help="float32 and/or bfloat16")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--configs", help="JSON list of launch overrides for the kernel alone; one line each")
    p.add_argument("--rows", type=int, default=12, help="kernels listed per layer profile")
    p.add_argument(
        "--precision",
        default="highest",
        choices=["highest", "high", "medium"],
        help="torch.set_float32_matmul_precision for the run (our float32 kernels follow it)",
    )
    a = p.parse_args()

    import torch as _torch

    _torch.set_float32_matmul_precision(a.precision)

    import os
    import statistics
    import time

    import torch
    from _gpu_bench import profile_once

    from xlstm_ts.kernels import slstm_sequence
    from xlstm_ts.kernels.slstm.triton_sequence import LAUNCH_ENV
    from xlstm_ts.nn import sLSTMLayer, sLSTMLayerConfig

    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device")
    dev = torch.device("cuda")

    def wall_ms(step, iters: int) -> float:
        times = []
        for _ in range(iters):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)

    for idx in (int(s) for s in a.shapes.split(",")):
        B, S, E, NH = SHAPES[idx]
        DH = E // NH
        for dtype_name in a.dtypes.split(","):
            dtype = getattr(torch, dtype_name)
            if a.configs:
                g = torch.Generator(device="cuda").manual_seed(0)
                x = torch.randn(B, S, NH, 4, DH, device=dev, generator=g).to(dtype).requires_grad_(True)
                r = (
                    (torch.randn(NH, DH, 4, DH, device=dev, generator=g) / DH**0.5)
                    .to(dtype)
                    .requires_grad_(True)
                )
                b = torch.zeros(NH, 4, DH, device=dev, dtype=dtype).requires_grad_(True)
                dh = torch.randn(B, S, NH, DH, device=dev, generator=g).to(dtype)

                def kstep(leaves=(x, r, b), dh=dh):
                    for t in leaves:
                        t.grad = None
                    h, _ = slstm_sequence(*leaves, kernel="sequence--triton")
                    h.backward(dh)

                for config in json.loads(a.configs):
                    os.environ[LAUNCH_ENV] = json.dumps(config)
                    try:
                        rows, total = profile_once(kstep, a.iters)
                        wall = wall_ms(kstep, a.iters)
                    except Exception as err:  # a configuration that does not compile or run
                        print(f"{SHAPES[idx]} {dtype_name} {json.dumps(config)}: failed: "
                              f"{type(err).__name__}: {str(err)[:120]}", flush=True)  # fmt: skip
                        continue
                    ours = " ".join(
                        f"{n.replace('slstm_', '').replace('_kernel', '')}={t:.3f}"
                        for n, t, _ in rows
                        if "slstm" in n
                    )
                    print(f"{SHAPES[idx]} {dtype_name} {json.dumps(config)}: wall {wall:.3f} ms, "
                          f"GPU {total:.3f} ms | {ours}", flush=True)  # fmt: skip
                os.environ.pop(LAUNCH_ENV, None)
                continue

            torch.manual_seed(1)
            cfg = sLSTMLayerConfig(
                embedding_dim=E,
                num_heads=NH,
                conv1d_kernel_size=4,
                backend="auto",
                recurrent_weight_init="standard",
            )
            layer = sLSTMLayer(cfg).to(dev)
            xin = torch.randn(B, S, E, device=dev).requires_grad_(True)
            gy = torch.randn(B, S, E, device=dev)
            leaves = [xin, *layer.parameters()]

            def step(layer=layer, xin=xin, gy=gy, leaves=leaves, dtype=dtype):
                for t in leaves:
                    t.grad = None
                with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
                    y, _ = layer(xin)
                y.backward(gy)

            rows, total = profile_once(step, a.iters)
            wall = wall_ms(step, a.iters)
            print(f"\n## sLSTMLayer {SHAPES[idx]} {dtype_name}: wall {wall:.3f} ms per forward+backward, "
                  f"{total:.3f} ms of kernels", flush=True)  # fmt: skip
            for name, per, count in rows[: a.rows]:
                print(f"{per:8.3f} ms  {count:3d}x  {name[:100]}")


if __name__ == "__main__":
    main()
