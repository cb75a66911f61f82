"""GPU benchmark of the mLSTM layer's output stage (per-head norm, learnable skip, SiLU gate).

Run on a CUDA machine from the repository root::

    python benchmarks/kernels_mlstm_output.py
    python benchmarks/kernels_mlstm_output.py --configs '[{"BN_B": 16}, {"BN_B": 32, "warps_B": 8}]'

At the backbone benchmark's shape (B=256, S=336, 4 heads of 64: the mLSTM layer of embedding 128), bf16 ``h``
and ``z`` and float32 ``x`` and parameters (what autocast gives the layer), times forward and forward+backward
(``do_bench`` medians, ms) of: the Triton stage with its launch heuristics (``triton``) and with each launch
override of ``--configs`` (JSON list of objects, applied through ``XLSTM_TS_OUTPUT_LAUNCH``); the PyTorch stage
eager (``native``) and under ``torch.compile`` (``native compiled``, inductor's fused kernels).  Also prints the
bytes the stage must read and write and the time they take at the copy bandwidth measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--configs", default="[]", help="JSON list of launch overrides to time besides the heuristics"
    )
    p.add_argument("--shape", default="256,336,4,64", help="B,S,NH,DH")
    a = p.parse_args()

    import torch
    import triton.testing
    from _gpu_bench import copy_bandwidth

    from xlstm_ts.kernels.mlstm import mlstm_output_native, mlstm_output_triton
    from xlstm_ts.kernels.mlstm.triton_output import LAUNCH_ENV

    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA device")
    B, S, NH, DH = (int(v) for v in a.shape.split(","))
    I = NH * DH
    dev = "cuda"
    torch.manual_seed(0)
    h = torch.randn(B, S, NH, DH, device=dev, dtype=torch.bfloat16, requires_grad=True)
    x = torch.randn(B, S, I, device=dev, requires_grad=True)
    up = torch.randn(B, S, 2 * I, device=dev, dtype=torch.bfloat16, requires_grad=True)
    w = torch.zeros(I, device=dev, requires_grad=True)
    skip = torch.ones(I, device=dev, requires_grad=True)
    dout = torch.randn(B, S, I, device=dev, dtype=torch.bfloat16)
    leaves = [h, x, up, w, skip]

    def bench(fn) -> tuple[float, float]:
        def fwd():
            with torch.no_grad():
                fn(h, x, up[..., I:], w, skip, out_dtype=torch.bfloat16)

        def fwd_bwd():
            fn(h, x, up[..., I:], w, skip, out_dtype=torch.bfloat16).backward(dout)

        fwd_bwd()
        return (
            float(triton.testing.do_bench(fwd, return_mode="median")),
            float(triton.testing.do_bench(fwd_bwd, grad_to_none=leaves, return_mode="median")),
        )

    _, gbps = copy_bandwidth(
        torch.device(dev), 2**30, lambda fn: triton.testing.do_bench(fn, return_mode="median")
    )
    rows = B * S * I
    fwd_bytes = rows * (2 + 4 + 2 + 2)  # h, x, z read; out written (bf16)
    bwd_bytes = rows * (2 + 4 + 2 + 2 + 2 + 4 + 2)  # h, x, z, dout read; dh, dx, dz written
    print(f"# {torch.cuda.get_device_name()} | torch {torch.__version__} | triton {triton.__version__}")
    print(f"# B={B} S={S} NH={NH} DH={DH}; copy {gbps:,.0f} GB/s; floor fwd {fwd_bytes / gbps / 1e6:.3f} ms, "
          f"fwd+bwd {(fwd_bytes + fwd_bytes + bwd_bytes) / gbps / 1e6:.3f} ms (the backward's forward recomputed "
          f"by autograd counts once more)")  # fmt: skip
    rows_out = [("triton", None), *(("triton " + json.dumps(c), c) for c in json.loads(a.configs))]
    for name, cfg in rows_out:
        if cfg is None:
            os.environ.pop(LAUNCH_ENV, None)
        else:
            os.environ[LAUNCH_ENV] = json.dumps(cfg)
        f, fb = bench(mlstm_output_triton)
        print(f"{name:40s} fwd {f:.3f} ms   fwd+bwd {fb:.3f} ms", flush=True)
    os.environ.pop(LAUNCH_ENV, None)
    f, fb = bench(mlstm_output_native)
    print(f"{'native':40s} fwd {f:.3f} ms   fwd+bwd {fb:.3f} ms", flush=True)
    f, fb = bench(torch.compile(mlstm_output_native))
    print(f"{'native compiled':40s} fwd {f:.3f} ms   fwd+bwd {fb:.3f} ms", flush=True)


if __name__ == "__main__":
    main()
