"""Where the time of the Triton chunkwise mLSTM goes: a per-kernel breakdown with ``torch.profiler``.

Run on a CUDA machine from the repository root (after ``pip install --no-deps -e .``)::

    python benchmarks/kernels_mlstm_profile.py                # the four shapes of kernels_mlstm.py
    python benchmarks/kernels_mlstm_profile.py --shapes 1     # one of them

For each shape it runs forward+backward (``--forward``: the forward under ``torch.no_grad``; bf16 unless
``--dtype`` says otherwise) a few times under the profiler and prints the CUDA time of every kernel per iteration, largest first, so that the Triton kernels and
the PyTorch glue around them can be told apart.  ``--configs`` takes a JSON list of launch-parameter overrides (see ``_launch`` in
kernels/mlstm/triton_chunkwise.py) and prints one line per configuration, which is how the launch heuristics
were chosen::

    python benchmarks/kernels_mlstm_profile.py --configs '[{}, {"BDK_Q": 64}, {"warps_T": 8}]'

Where the host time goes: ``--host N`` profiles N forward+backward calls per shape with ``cProfile``, and
``--launch-cost`` times the host cost per call of the pieces (an allocation, one kernel launch, our forward,
our forward+backward, and ``mlstm_kernels``' ``triton_limit_chunk`` forward+backward when it is installed) at
a shape so small that the GPU never waits for work::

    python benchmarks/kernels_mlstm_profile.py --shapes 0 --host 50 --launch-cost
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
        "--forward",
        action="store_true",
        help="profile the forward under torch.no_grad (inference) instead of forward+backward",
    )
    p.add_argument("--host", type=int, default=0, help="cProfile this many forward+backward calls per shape")
    p.add_argument("--launch-cost", action="store_true", help="host cost per call of the pieces (see above)")
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
    from _gpu_bench import graph_replay_ms, host_profile, profile_once

    from xlstm_ts.kernels import mlstm_sequence
    from xlstm_ts.kernels.mlstm.triton_chunkwise import LAUNCH_ENV

    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device")

    import triton.testing

    def wall(step) -> float:
        return float(triton.testing.do_bench(step, return_mode="median"))

    if a.launch_cost:
        for line in _launch_cost(mlstm_sequence):
            print(line, flush=True)

    for idx in (int(s) for s in a.shapes.split(",") if s):
        B, NH, S, DK, DV = SHAPES[idx]
        g = torch.Generator(device="cuda").manual_seed(0)
        dt = getattr(torch, a.dtype)
        q, k = (torch.randn(B, NH, S, DK, device="cuda", generator=g, dtype=dt) for _ in range(2))
        v = torch.randn(B, NH, S, DV, device="cuda", generator=g, dtype=dt)
        i = torch.randn(B, NH, S, device="cuda", generator=g, dtype=dt)
        f = torch.randn(B, NH, S, device="cuda", generator=g, dtype=dt) + 3
        leaves = [t.requires_grad_(True) for t in (q, k, v, i, f)]
        dh = torch.randn(B, NH, S, DV, device="cuda", generator=g, dtype=dt)

        def train_step(leaves=leaves, dh=dh):
            for t in leaves:
                t.grad = None
            h, _ = mlstm_sequence(*leaves, kernel="chunkwise--triton")
            h.backward(dh)

        def forward_step(leaves=leaves):
            with torch.no_grad():
                mlstm_sequence(*leaves, kernel="chunkwise--triton")

        step = forward_step if a.forward else train_step
        what = "forward (no_grad)" if a.forward else "forward+backward"

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
                print(f"\n## shape {SHAPES[idx]}: {total:.3f} ms of kernels per {what}")
                if a.wall:
                    print(
                        f"do_bench {what}: eager {wall(step):.3f} ms, CUDA graph {graph_replay_ms(step):.3f} ms"
                    )
                for name, per, count in rows[:14]:
                    print(f"{per:8.3f} ms  {count:3d}x  {name[:90]}")
                if a.host:
                    for line in host_profile(step, a.host, top=30):
                        print(line)
            else:
                ours = " ".join(
                    f"{n.replace('mlstm_', '').replace('_kernel', '')}={t:.3f}"
                    for n, t, _ in rows
                    if "mlstm" in n
                )
                extra = f" | do_bench {wall(step):.3f} ms" if a.wall else ""
                print(f"{SHAPES[idx]} {json.dumps(config)}: total {total:.3f} ms{extra} | {ours}", flush=True)


def _host_us(fn, calls: int = 200, rounds: int = 5) -> float:
    """Median over ``rounds`` of the host time per call of ``fn`` (microseconds), ``calls`` calls a round with
    one synchronisation at the end; at shapes whose kernels take microseconds this is the host's time."""
    import statistics
    import time

    import torch

    for _ in range(10):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) / calls * 1e6)
    return statistics.median(times)


def _launch_only(call) -> list[str]:
    """Host cost of the gate kernel's launch alone: through ``JITFunction`` (``kernel[grid](...)``, what the
    wrappers do) and through the compiled kernel's own runner (no argument binding or cache lookup)."""
    import xlstm_ts.kernels.mlstm._triton.chunkwise_bwd as mbwd

    real, seen = mbwd.mlstm_bwd_gates_kernel, {}

    class Record:
        def __getitem__(self, grid):
            def launch(*args, **meta):
                seen.update(grid=grid, args=args, meta=meta)
                return real[grid](*args, **meta)

            return launch

    mbwd.mlstm_bwd_gates_kernel = Record()
    try:
        call()
    finally:
        mbwd.mlstm_bwd_gates_kernel = real
    grid, args, meta = seen["grid"], seen["args"], seen["meta"]
    lines = [f"gate kernel launch via JITFunction   {_host_us(lambda: real[grid](*args, **meta)):8.1f}"]
    try:
        compiled = real[grid](*args, **meta)
        values = list(args) + [meta[n] for n in real.arg_names[len(args) :]]
        runner = compiled[tuple(grid) + (1,) * (3 - len(grid))]
        lines.append(f"gate kernel launch via its runner    {_host_us(lambda: runner(*values)):8.1f}")
    except Exception as err:  # a Triton whose compiled kernels take their arguments otherwise
        lines.append(f"direct runner failed: {type(err).__name__}: {str(err)[:150]}")
    return lines


def _autograd_cost(leaves, dh) -> list[str]:
    """Host cost of our forward and backward implementations called directly (no autograd), through the eager
    ``autograd.Function``, and of a trivial ``autograd.Function`` on CUDA and on the CPU (the engine's own cost)."""
    import torch

    from xlstm_ts.kernels.mlstm import triton_chunkwise as tc

    q, k, v, i, f = (t.detach() for t in leaves)
    out = tc._fwd_impl(q, k, v, i, f, None, None, None, 64, 1e-6)
    lines = [
        f"_fwd_impl alone              {_host_us(lambda: tc._fwd_impl(q, k, v, i, f, None, None, None, 64, 1e-6)):8.1f}"
    ]
    bwd = lambda: tc._bwd_impl(dh, None, None, None, q, k, v, i, f, None, None, None, *out, 64, 1e-6)  # noqa: E731
    lines.append(f"_bwd_impl alone              {_host_us(bwd):8.1f}")

    def apply_only():
        tc._EagerFwd.apply(*leaves, None, None, None, 64, 1e-6)

    lines.append(f"_EagerFwd.apply, no backward {_host_us(apply_only):8.1f}")

    class Trivial(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g

    for dev in ("cuda", "cpu"):
        x = torch.randn(64, device=dev, requires_grad=True)
        g = torch.randn(64, device=dev)

        def trivial(x=x, g=g):
            x.grad = None
            Trivial.apply(x).backward(g)

        lines.append(f"trivial Function fwd+bwd, {dev:4s} {_host_us(trivial):8.1f}")
    return lines


def _launch_cost(mlstm_sequence) -> list[str]:
    """Host microseconds per call of the pieces of one small forward+backward (see the module docstring)."""
    import torch

    from xlstm_ts.kernels.mlstm.triton_chunkwise import _gate_gradients

    B, NH, S, D = 1, 2, 64, 64
    dev = "cuda"
    q, k, v = (torch.randn(B, NH, S, D, device=dev, dtype=torch.bfloat16) for _ in range(3))
    i, f = (torch.randn(B, NH, S, device=dev, dtype=torch.bfloat16) for _ in range(2))
    leaves = [t.requires_grad_(True) for t in (q, k, v, i, f)]
    dh = torch.randn_like(v)
    lines = [f"## host cost per call at (B, NH, S, D) = {(B, NH, S, D)}, bf16 (us, median of 5 x 200 calls)"]
    lines.append(f"torch.empty on CUDA          {_host_us(lambda: torch.empty(B * NH, S, device=dev)):8.1f}")
    f32 = torch.float32
    kdk = torch.randn(B * NH, S, device=dev, dtype=f32)
    qdq = torch.randn(1, B * NH, S, device=dev, dtype=f32)
    ig, fg = i.detach().reshape(B * NH, S), f.detach().reshape(B * NH, S)
    gate = _host_us(lambda: _gate_gradients(qdq, kdk, kdk, ig, fg, None, None, None, 1e-6))
    lines.append(f"gate kernel (1 launch, 6 allocations) {gate:8.1f}")
    lines += _launch_only(lambda: _gate_gradients(qdq, kdk, kdk, ig, fg, None, None, None, 1e-6))
    with torch.no_grad():
        fwd = _host_us(lambda: mlstm_sequence(q, k, v, i, f, kernel="chunkwise--triton"))
    lines.append(f"ours forward (no grad)       {fwd:8.1f}")

    def ours_step():
        for t in leaves:
            t.grad = None
        mlstm_sequence(*leaves, kernel="chunkwise--triton")[0].backward(dh)

    lines.append(f"ours forward+backward        {_host_us(ours_step):8.1f}")
    lines += _autograd_cost(leaves, dh)
    try:
        from mlstm_kernels.torch import get_mlstm_kernel
    except ImportError:
        lines.append("mlstm_kernels not installed: no peer timing")
        return lines
    peer = get_mlstm_kernel("chunkwise--triton_limit_chunk")

    def peer_step():
        for t in leaves:
            t.grad = None
        peer(*leaves, chunk_size=64).backward(dh)

    lines.append(f"limit_chunk forward+backward {_host_us(peer_step):8.1f}")
    return lines


if __name__ == "__main__":
    main()
