"""CPU benchmark: our xLSTMBlockStack against the reference ``xlstm`` 2.0.6 stack.

Same config and same weights (ours loaded from the reference's state dict), float32, eval-mode
forward under ``torch.no_grad`` and training-mode forward+backward.  Prints the median wall time
over ``--repeats`` runs and the ratio reference/ours (> 1 means we are faster).  With ``--memory``
it also runs each implementation in a fresh subprocess at a longer length and reports the peak
resident memory of a forward+backward, to show the growth with sequence length.

Usage::

    python benchmarks/backbone_cpu.py                 # B=32, S=336, E=128, 4 blocks
    python benchmarks/backbone_cpu.py --memory 2048   # also peak memory at S=2048
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch

KINDS = ("mlstm", "slstm", "mixed")


def reference_config(kind: str, S: int, E: int, blocks: int):
    import xlstm

    m = xlstm.mLSTMBlockConfig(mlstm=xlstm.mLSTMLayerConfig(num_heads=4))
    s = xlstm.sLSTMBlockConfig(
        slstm=xlstm.sLSTMLayerConfig(backend="vanilla", num_heads=4), feedforward=xlstm.FeedForwardConfig()
    )
    common = dict(context_length=S, num_blocks=blocks, embedding_dim=E)
    if kind == "mlstm":
        return xlstm.xLSTMBlockStackConfig(mlstm_block=m, **common)
    if kind == "slstm":
        return xlstm.xLSTMBlockStackConfig(slstm_block=s, slstm_at="all", **common)
    return xlstm.xLSTMBlockStackConfig(mlstm_block=m, slstm_block=s, slstm_at=[1], **common)


def build(kind: str, S: int, E: int, blocks: int, only: str | None = None):
    """Both stacks with the same weights, or just one of them (``only``) for memory runs."""
    import xlstm

    from xlstm_ts.nn import load_reference_state_dict, xLSTMBlockStack, xLSTMBlockStackConfig

    torch.manual_seed(0)
    models = {}
    if only in (None, "reference"):
        models["reference"] = xlstm.xLSTMBlockStack(reference_config(kind, S, E, blocks))
    if only in (None, "ours"):
        cfg = xLSTMBlockStackConfig.from_dict(dataclasses.asdict(reference_config(kind, S, E, blocks)))
        models["ours"] = xLSTMBlockStack(cfg)
        if "reference" in models:
            load_reference_state_dict(models["ours"], models["reference"])
    return models


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def time_pair(kind, B, S, E, blocks, repeats):
    models = build(kind, S, E, blocks)
    x = torch.randn(B, S, E)
    out = {}
    for name, model in models.items():

        def fwd(model=model):
            model.eval()
            with torch.no_grad():
                model(x)

        def fwd_bwd(model=model):
            model.train()
            model.zero_grad(set_to_none=True)
            model(x).square().mean().backward()

        out[name] = (timed(fwd, repeats), timed(fwd_bwd, repeats))
    return out


def _vm_hwm_mb() -> float:
    """Peak resident memory of this process image (``VmHWM``; unlike ``ru_maxrss`` it is not
    inherited from the parent across fork/exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory_child(impl: str, kind: str, B: int, S: int, E: int, blocks: int) -> None:
    model = build(kind, S, E, blocks, only=impl)[impl].train()
    base = _vm_hwm_mb()
    x = torch.randn(B, S, E)
    model(x).square().mean().backward()
    peak = _vm_hwm_mb()
    print(json.dumps({"maxrss_mb": peak, "growth_mb": peak - base}))


def peak_memory(impl, kind, B, S, E, blocks) -> str:
    cmd = [sys.executable, __file__, "--child", impl, kind, str(B), str(S), str(E), str(blocks)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"failed ({proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode})"
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    return f"{rec['maxrss_mb']:.0f} MB (+{rec['growth_mb']:.0f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq", type=int, default=336)
    p.add_argument("--emb", type=int, default=128)
    p.add_argument("--blocks", type=int, default=4)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--memory", type=int, default=0, help="also measure peak RSS at this sequence length")
    p.add_argument("--memory-batch", type=int, default=4)
    p.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        impl, kind, *nums = a.child
        peak_memory_child(impl, kind, *map(int, nums))
        return
    import xlstm

    import xlstm_ts

    print(
        f"# {time.strftime('%Y-%m-%d')} | {platform.processor() or platform.machine()} | "
        f"threads={torch.get_num_threads()} | torch {torch.__version__} | xlstm {xlstm.__version__} | "
        f"xlstm_ts {xlstm_ts.__version__}"
    )
    print(f"# B={a.batch} S={a.seq} E={a.emb} blocks={a.blocks}, float32, median of {a.repeats} (ms)")
    print("| stack | reference fwd | ours fwd | speed-up | reference fwd+bwd | ours fwd+bwd | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for kind in a.kinds.split(","):
        r = time_pair(kind, a.batch, a.seq, a.emb, a.blocks, a.repeats)
        (rf, rb), (of, ob) = r["reference"], r["ours"]
        print(
            f"| {kind} | {rf:.1f} | {of:.1f} | {rf / of:.2f}x | {rb:.1f} | {ob:.1f} | {rb / ob:.2f}x |",
            flush=True,
        )
    if a.memory:
        print(
            f"\n# peak RSS (growth over the built model) of one fwd+bwd, B={a.memory_batch}, E={a.emb}, "
            f"blocks={a.blocks}; each in a fresh process"
        )
        print("| stack | S | reference | ours |")
        print("|---|---|---|---|")
        for kind in ("mlstm",):
            for S in (a.memory // 4, a.memory // 2, a.memory):
                ref_mem = peak_memory("reference", kind, a.memory_batch, S, a.emb, a.blocks)
                our_mem = peak_memory("ours", kind, a.memory_batch, S, a.emb, a.blocks)
                print(f"| {kind} | {S} | {ref_mem} | {our_mem} |", flush=True)


if __name__ == "__main__":
    main()
