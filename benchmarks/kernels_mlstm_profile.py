"""Where the time of the Triton chunkwise mLSTM goes: a per-kernel breakdown with ``torch.profiler``.

Run on a CUDA machine from the repository root (after ``pip install --no-deps -e .``)::

    python benchmarks/kernels_mlstm_profile.py                # the four shapes of kernels_mlstm.py
    python benchmarks/kernels_mlstm_profile.py --shapes 1     # one of them

For each shape it runs forward+backward (bf16 unless ``--dtype`` says otherwise) a few times under the
profiler and prints the CUDA time of every kernel per iteration, largest first, so that the Triton kernels and
the PyTorch glue around them can be told apart.  ``--configs`` takes a JSON list of launch-parameter overrides (see ``_launch`` in
kernels/mlstm/triton_chunkwise.py) and prints one line per configuration, which is how the launch heuristics
were chosen::

    python benchmarks/kernels_mlstm_profile.py --configs '[{}, {"BDK_Q": 64}, {"warps_T": 8}]'
"""

from __future__ import annotations

import argparse
import json

#: the four shapes of kernels_mlstm.py, then the mLSTM layer of the forecaster's default backbone at B=256, L=336
#: (embedding 128, projection factor 2, 4 heads)
SHAPES = [
    (128, 4, 512, 64, 64),
    (8, 16, 2048, 128, 128),
    (4, 8, 4096, 128, 128),
    (2, 8, 8192, 256, 512),
    (256, 4, 336, 64, 64),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", default="0,1,2,3", help="comma-separated indices into the shape list (0-4)")
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    p.add_argument("--configs", help="JSON list of launch overrides; one summary line each")
    p.add_argument(
        "--wall",
        action="store_true",
        help="also print do_bench of forward+backward, eager and replayed from a CUDA graph (host excluded)",
    )
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

    import torch
    from _gpu_bench import graph_replay_ms, profile_once

    from xlstm_ts.kernels import mlstm_sequence
    from xlstm_ts.kernels.mlstm.triton_chunkwise import LAUNCH_ENV

    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device")

    import triton.testing

    def wall(step) -> float:
        return float(triton.testing.do_bench(step, return_mode="median"))

    for idx in (int(s) for s in a.shapes.split(",")):
        B, NH, S, DK, DV = SHAPES[idx]
        g = torch.Generator(device="cuda").manual_seed(0)
        dt = getattr(torch, a.dtype)
        q, k = (torch.randn(B, NH, S, DK, device="cuda", generator=g, dtype=dt) for _ in range(2))
        v = torch.randn(B, NH, S, DV, device="cuda", generator=g, dtype=dt)
        i = torch.randn(B, NH, S, device="cuda", generator=g, dtype=dt)
        f = torch.randn(B, NH, S, device="cuda", generator=g, dtype=dt) + 3
        leaves = [t.requires_grad_(True) for t in (q, k, v, i, f)]
        dh = torch.randn(B, NH, S, DV, device="cuda", generator=g, dtype=dt)

        def step(leaves=leaves, dh=dh):
            for t in leaves:
                t.grad = None
            h, _ = mlstm_sequence(*leaves, kernel="chunkwise--triton")
            h.backward(dh)

        configs = json.loads(a.configs) if a.configs else [None]
        for config in configs:
            if config is not None:
                os.environ[LAUNCH_ENV] = json.dumps(config)
            try:
                rows, total = profile_once(step, a.iters)
            except Exception as err:  # a configuration that does not compile (e.g. out of shared memory)
                print(f"{SHAPES[idx]} {json.dumps(config)}: failed: {type(err).__name__}: {str(err)[:120]}")
                continue
            if config is None:
                print(f"\n## shape {SHAPES[idx]}: {total:.3f} ms of kernels per forward+backward")
                if a.wall:
                    print(
                        f"do_bench fwd+bwd: eager {wall(step):.3f} ms, CUDA graph {graph_replay_ms(step):.3f} ms"
                    )
                for name, per, count in rows[:14]:
                    print(f"{per:8.3f} ms  {count:3d}x  {name[:90]}")
            else:
                ours = " ".join(
                    f"{n.replace('mlstm_', '').replace('_kernel', '')}={t:.3f}"
                    for n, t, _ in rows
                    if "mlstm" in n
                )
                print(f"{SHAPES[idx]} {json.dumps(config)}: total {total:.3f} ms | {ours}", flush=True)


if __name__ == "__main__":
    main()
