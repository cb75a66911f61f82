"""GPU benchmark of the backbone: one AdamW training step of ``xLSTMBlockStack``, and the headwise projections.

Run on a CUDA machine from the repository root (after ``pip install --no-deps -e .``)::

    python benchmarks/backbone_gpu.py                     # both parts
    python benchmarks/backbone_gpu.py --parts stack       # only the training step

``stack``: the configuration of the reference measurements in docs/gpu.md: B=256, S=336, embedding 128,
4 blocks, 4 heads, either mLSTM blocks only or an sLSTM block at index 1 (``backend="auto"``), AdamW, loss
``mean(y^2)``; float32, and bf16 autocast with float32 parameters.  Prints the median time per step
(``triton.testing.do_bench``) and the samples per second.

With ``--compile`` the stack part also times the same step with the stack under ``torch.compile``
(inductor): it prints the graph breaks ``torch._dynamo.explain`` finds in the stack's forward, the wall time of
the first compiled steps (compilation included), and the median compiled step next to the eager one.  The
compiled stack is built without ``fullgraph=True`` so that a graph break is reported rather than fatal.
``--graph`` also times each step (eager and compiled) captured whole in one CUDA graph, with a capturable
AdamW: the GPU time of the step without the host.  ``--profile N`` lists the N largest CUDA kernels of a step
(torch.profiler), ``--host N`` the N Python functions with the most own host time (cProfile) and the CUDA
synchronisations a step makes.

``headwise``: forward+backward of one ``LinearHeadwiseExpand`` (input ``[B, S, E]``), the gate projections
of the sLSTM layer (4 heads) and the q/k/v projections of the mLSTM layer (blocks of 4), with its weight
gradient formed as one batched GEMM per head (``bmm``, what PyTorch's autograd would do), as the layer
does it (``ours``), and as the layer does it without splitting the weight gradient over the rows (``unsplit``);
float32 and bf16 autocast.
"""

from __future__ import annotations

import argparse
import time

STACK = (256, 336, 128)
#: (B, S, E, heads) of the headwise projections
HEADWISE = [
    (256, 336, 128, 4),
    (64, 512, 256, 4),
    (8, 2048, 256, 4),
    (256, 336, 256, 64),
    (64, 512, 512, 128),
    (8, 2048, 512, 128),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="stack,headwise", help="stack and/or headwise")
    p.add_argument("--compile", action="store_true", help="also time the stack step under torch.compile")
    p.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also list the N largest CUDA kernels of one step (torch.profiler)",
    )
    p.add_argument(
        "--graph",
        action="store_true",
        help="also time the step captured whole in a CUDA graph (AdamW capturable): GPU time without host",
    )
    p.add_argument(
        "--host",
        type=int,
        default=0,
        metavar="N",
        help="also list the N Python functions with the most own host time in a step (cProfile), and the syncs",
    )
    p.add_argument("--kinds", default="mlstm,mixed", help="stacks to time: mlstm and/or mixed")
    p.add_argument(
        "--dtypes", default="float32,bf16", help="precisions to time: float32 and/or bf16 (autocast)"
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

    import torch
    import triton.testing
    from _gpu_bench import graph_replay_ms, host_profile, profile_once

    from xlstm_ts import mLSTMBlockConfig, sLSTMBlockConfig, xLSTMBlockStack, xLSTMBlockStackConfig
    from xlstm_ts.nn import (
        FeedForwardConfig,
        LinearHeadwiseExpand,
        components,
        mLSTMLayerConfig,
        sLSTMLayerConfig,
    )

    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device")
    names = {"float32": torch.float32, "bf16": torch.bfloat16}
    dtypes = tuple(names[d] for d in a.dtypes.split(","))
    print(f"# {torch.cuda.get_device_name()} | torch {torch.__version__} | triton {triton.__version__}")

    def bench(fn, grads=None) -> float:
        return float(triton.testing.do_bench(fn, grad_to_none=grads, return_mode="median"))

    def graph_step_ms(net, x, dt) -> float | str:
        # a fresh capturable AdamW on the same parameters; warm-up on a side stream, capture, replay
        opt = torch.optim.AdamW(net.parameters(), lr=1e-3, capturable=True)

        def step():
            opt.zero_grad(set_to_none=False)
            with torch.autocast("cuda", dtype=dt, enabled=dt != torch.float32):
                y = net(x)
            y.float().square().mean().backward()
            opt.step()

        try:
            return graph_replay_ms(step)
        except Exception as err:  # report what stops the capture
            return f"not capturable ({type(err).__name__}: {' '.join(str(err).split())[:400]})"

    if "stack" in a.parts:
        B, S, E = STACK
        for kind in a.kinds.split(","):
            common = dict(context_length=S, num_blocks=4, embedding_dim=E)
            m = mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=4))
            if kind == "mlstm":
                cfg = xLSTMBlockStackConfig(mlstm_block=m, **common)
            else:
                s = sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=4), feedforward=FeedForwardConfig())
                cfg = xLSTMBlockStackConfig(mlstm_block=m, slstm_block=s, slstm_at=[1], **common)
            torch.manual_seed(0)
            stack = xLSTMBlockStack(cfg).cuda()
            opt = torch.optim.AdamW(stack.parameters(), lr=1e-3)
            x = torch.randn(B, S, E, device="cuda")
            compiled = None
            if a.compile:
                torch._dynamo.reset()
                report = torch._dynamo.explain(stack)(x)
                reasons = "; ".join(str(b.reason)[:120] for b in report.break_reasons)
                print(f"stack {kind:5s} torch._dynamo.explain: {report.graph_count} graphs, "
                      f"{report.graph_break_count} graph breaks" + (f" ({reasons})" if reasons else ""), flush=True)  # fmt: skip
                compiled = torch.compile(stack)
            for dt in dtypes:
                name = "float32" if dt == torch.float32 else "bf16 autocast"
                for label, net in (("eager", stack), ("compiled", compiled)):
                    if net is None:
                        continue

                    def step(dt=dt, net=net, opt=opt, x=x):
                        opt.zero_grad(set_to_none=True)
                        with torch.autocast("cuda", dtype=dt, enabled=dt != torch.float32):
                            y = net(x)
                        y.float().square().mean().backward()
                        opt.step()

                    start = time.perf_counter()
                    for _ in range(3):
                        step()
                    torch.cuda.synchronize()
                    warm_s = time.perf_counter() - start
                    ms = bench(step)
                    tag = f"{name:13s}" + (f" {label:8s}" if a.compile else "")
                    print(f"stack {kind:5s} B={B} S={S} E={E}, 4 blocks, {tag}: {ms:7.2f} ms per AdamW step "
                          f"({B / ms * 1e3:,.0f} samples/s)"
                          + (f", first 3 steps {warm_s:.1f} s" if label == "compiled" else ""), flush=True)  # fmt: skip
                    if a.profile:
                        rows, total = profile_once(step, 3)
                        print(f"  {total:.2f} ms of CUDA kernels per step, {sum(r[2] for r in rows)} launches; "
                              f"largest {a.profile}:")  # fmt: skip
                        for kname, per, count in rows[: a.profile]:
                            print(f"  {per:8.3f} ms {count:4d}x  {kname[:100]}")
                    if a.host:
                        for line in host_profile(step, 10, a.host):
                            print("  " + line)
                    if a.graph:
                        g_ms = graph_step_ms(net, x, dt)
                        g_txt = f"{g_ms:7.2f} ms per step" if isinstance(g_ms, float) else g_ms
                        print(f"  captured whole in a CUDA graph: {g_txt}", flush=True)

    if "headwise" in a.parts:
        for B, S, E, NH in HEADWISE:
            layer = LinearHeadwiseExpand(E, NH).cuda()
            x = torch.randn(B, S, E, device="cuda", requires_grad=True)
            gy = torch.randn(B, S, E, device="cuda")

            def plain(layer=layer, x=x):  # one batched GEMM per head, autograd's weight gradient
                xh = x.reshape(-1, layer.num_heads, layer.weight.shape[-1]).transpose(0, 1)
                y = torch.bmm(xh, layer.weight.transpose(1, 2))
                return y.transpose(0, 1).reshape(*x.shape[:-1], layer.out_features)

            cells = []
            for dt in dtypes:
                for name, fn in (
                    ("bmm", plain),
                    ("ours", lambda layer=layer, x=x: layer(x)),
                    ("unsplit", None),
                ):
                    split = components._SPLIT_ROWS
                    if fn is None:  # ours with the weight gradient as one GEMM whatever the row count
                        components._SPLIT_ROWS, fn = {}, (lambda layer=layer, x=x: layer(x))

                    def step(fn=fn, dt=dt, gy=gy):
                        with torch.autocast("cuda", dtype=dt, enabled=dt != torch.float32):
                            y = fn()
                        y.backward(gy)

                    ms = bench(step, [x, layer.weight])
                    components._SPLIT_ROWS = split
                    cells.append(f"{name} {'fp32' if dt == torch.float32 else 'bf16'} {ms:.3f}")
            print(
                f"headwise B={B} S={S} E={E} heads={NH} (d={E // NH}), fwd+bwd ms: " + " | ".join(cells),
                flush=True,
            )


if __name__ == "__main__":
    main()
