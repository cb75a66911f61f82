"""GPU benchmark: sLSTM kernels and layers side by side, against the reference ``xlstm`` and cuDNN.

Run on the GPU machine from the repository root, with ``.whl`` carried (it holds the xlstm 2.0.6
wheel, mlstm-kernels 2.0.6, einops, and a setuptools >= 77 for the offline editable install; PyYAML,
safetensors, packaging, ninja and nvcc are already on that machine)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . ; PYTHONUNBUFFERED=1 python3 benchmarks/kernels_slstm.py --out $OUT/kernels_slstm.json

The default run takes about 5 to 7 minutes on an H100 (two nvcc builds of the reference CUDA kernel
included) and stops starting new measurements after ``--budget`` seconds (default 420), reporting the
rest as ``skipped``.  Pieces: ``--shapes 0,2``, ``--impls ours_layer,ref_cuda``, ``--quick``.

Shapes (B, S, E, NH), head dim DH = E / NH, those of the reference measurements in docs/gpu.md:
(64, 512, 256, 4), (8, 2048, 256, 4) (latency-bound), (256, 336, 128, 4) (forecasting-sized).

What is timed (fixed seed, so every implementation of a family sees the same tensors):

* ``ours_triton_f32`` / ``ours_triton_bf16``: ``xlstm_ts.kernels.slstm_sequence(x, R, b,
  kernel="sequence--triton")``, x ``[B, S, NH, 4, DH]`` ~ N(0, 1), R ``[NH, DH, 4, DH]`` ~ N(0, 1/DH),
  b ``[NH, 4, DH]`` zeros with +3 on the forget gate; x, R, b in float32 resp. bfloat16.
* ``ours_native``: the same with ``kernel="sequence--native"`` (PyTorch step loop), float32.
* ``ours_layer``: our ``xlstm_ts.nn.sLSTMLayer`` (E, NH heads, conv 4, backend "auto"), float32,
  input x ``[B, S, E]`` ~ N(0, 1).
* ``ours_triton_f32_high`` / ``ours_layer_high``: the float32 kernel and layer under
  ``torch.set_float32_matmul_precision("high")``, which our kernels follow (three TF32 products per
  float32 product, on tensor cores).
* ``ours_layer_bf16``: the same layer and input under ``torch.autocast(dtype=bfloat16)`` (float32
  parameters and states, bfloat16 projections and recurrent products), the precision the reference
  "cuda" layer runs at by default.
* ``ref_cuda`` / ``ref_vanilla``: the reference ``xlstm`` 2.0.6 ``sLSTMLayer``, same config, backend
  "cuda" (its default kernel dtype bfloat16 with autocast-style casts, float32 parameters; compiled
  with nvcc at first use: the build time is recorded, the reference's random pre-build sleep of up
  to 10 s is skipped) resp. "vanilla".  Both load OUR layer's weights (``to_reference_state_dict``),
  so their mean |out| should match ``ours_layer``.  Vanilla is slow: it runs only at shapes 0 and 2
  (``--vanilla-all`` adds shape 1).
* ``cudnn_lstm``: ``torch.nn.LSTM(E, E, batch_first=True)`` (cuDNN), float32, same x.

Forward is timed under ``torch.no_grad``; forward+backward is ``out.backward(grad)`` with the inputs
(x; R and b at kernel level; the parameters of layers) requiring grad and their ``.grad`` reset to
None before each call.  Each time is the median of ``triton.testing.do_bench`` after an explicit
first call (compilation); ``ours_native`` and ``ref_vanilla`` always use the short windows of
``--quick``.  Every (implementation, shape) runs in its own subprocess with a timeout: a crash is
reported as ``failed (exit code N)``, an exception as ``failed: <error>``, out-of-memory as ``OOM``.

Usage::

    python benchmarks/kernels_slstm.py                       # everything
    python benchmarks/kernels_slstm.py --shapes 2 --impls ours_layer,ref_cuda,cudnn_lstm --quick
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import _gpu_bench as gb
import torch

REPO = Path(__file__).resolve().parents[1]

#: (B, S, E, NH)
SHAPES = [(64, 512, 256, 4), (8, 2048, 256, 4), (256, 336, 128, 4)]
#: tiny shapes for the CPU plumbing check (``--dry-run``)
DRY_SHAPES = [(2, 16, 32, 4), (3, 12, 16, 4)]
#: ours (layer) vs cuDNN: fwd+bwd ratio must be at most this, per shape index
CUDNN_TARGET = {0: 1.0, 1: 1.0, 2: 2.0}
REF_TARGET = 0.5
#: shape indices vanilla runs at unless --vanilla-all
VANILLA_SHAPES = (0, 2)

#: name -> (label, family, kernel name or backend, dtype)
IMPLS = {
    "ours_triton_f32": ("ours `sequence--triton` (kernel, fp32)", "kernel", "sequence--triton", "float32"),
    "ours_triton_bf16": ("ours `sequence--triton` (kernel, bf16)", "kernel", "sequence--triton", "bfloat16"),
    "ours_native": ("ours `sequence--native` (kernel, fp32)", "kernel", "sequence--native", "float32"),
    "ours_triton_f32_high": (
        "ours `sequence--triton` (kernel, fp32, matmul precision high)",
        "kernel",
        "sequence--triton",
        "float32",
    ),
    "ours_layer": ("ours sLSTMLayer, backend auto (fp32)", "ours_layer", "auto", "float32"),
    "ours_layer_high": (
        "ours sLSTMLayer, auto, fp32, matmul precision high",
        "ours_layer",
        "auto",
        "float32",
    ),
    "ours_layer_bf16": ("ours sLSTMLayer, auto, bf16 autocast", "ours_layer", "auto", "bfloat16"),
    "ref_cuda": ("reference xlstm sLSTMLayer `cuda`", "ref_layer", "cuda", "float32"),
    "ref_vanilla": ("reference xlstm sLSTMLayer `vanilla`", "ref_layer", "vanilla", "float32"),
    "cudnn_lstm": ("torch.nn.LSTM(E, E) cuDNN (fp32)", "lstm", None, "float32"),
}
#: slow ones: always short do_bench windows, and run after all the others
SLOW = ("ours_native", "ref_vanilla")
MARK = "@@KERNELS_SLSTM@@ "  # prefix of the one result line a child prints on stdout
CELL_WIDTH = 40  # a status longer than this is cut short in the tables (and given in full below them)


# ------------------------------------------------------------------------------------------- child side
def _import_ours() -> str:
    """Make ``xlstm_ts`` (with ``xlstm_ts.kernels``) of this checkout importable; say from where."""
    try:
        import xlstm_ts.kernels as mod

        if Path(mod.__file__).resolve().parent == REPO / "kernels":
            return "xlstm_ts (installed from this checkout)"
        for name in [m for m in sys.modules if m == "xlstm_ts" or m.startswith("xlstm_ts.")]:
            del sys.modules[name]  # installed from elsewhere: take this checkout's instead
    except Exception:  # not installed / broken: load from the source below
        pass
    spec = importlib.util.spec_from_file_location(
        "xlstm_ts.kernels",
        REPO / "kernels" / "__init__.py",
        submodule_search_locations=[str(REPO / "kernels")],
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["xlstm_ts.kernels"] = mod
    spec.loader.exec_module(mod)
    sys.path.insert(0, str(REPO))
    return f"{REPO} (loaded from source)"


def _our_layer(E: int, NH: int, device: torch.device):
    from xlstm_ts.nn import sLSTMLayer, sLSTMLayerConfig

    torch.manual_seed(1)
    cfg = sLSTMLayerConfig(
        embedding_dim=E, num_heads=NH, conv1d_kernel_size=4, backend="auto", recurrent_weight_init="standard"
    )
    return sLSTMLayer(cfg).to(device)


def _make(spec: dict, out: dict):
    """``(fn, inputs, leaves_for_bwd)``: ``fn(*inputs) -> out tensor``; fills ``out`` with notes."""
    impl = spec["impl"]
    _, family, which, dtype_name = IMPLS[impl]
    B, S, E, NH = spec["shape"]
    DH = E // NH
    device = torch.device(spec["device"])
    dtype = getattr(torch, dtype_name)
    if impl.endswith("_high"):  # float32 products as three TF32 products (the kernels follow this setting)
        torch.set_float32_matmul_precision("high")
    if family != "lstm":
        out["origin"] = _import_ours()

    if family == "kernel":
        from xlstm_ts.kernels import get_kernel, slstm_sequence

        get_kernel("slstm", which, device, dtype)  # unregistered / unsupported: fail here, clearly
        torch.manual_seed(0)
        x = torch.randn(B, S, NH, 4, DH, device=device)
        r = torch.randn(NH, DH, 4, DH, device=device) / DH**0.5
        b = torch.zeros(NH, 4, DH, device=device)
        b[:, 1] = 3.0
        inputs = [t.to(dtype) for t in (x, r, b)]

        def fn(x, r, b):
            return slstm_sequence(x, r, b, kernel=which)[0]

        return fn, inputs, None

    x = torch.randn(B, S, E, generator=torch.Generator().manual_seed(0)).to(device)
    if family == "lstm":
        torch.manual_seed(1)
        mod = torch.nn.LSTM(E, E, batch_first=True).to(device)
        out["origin"] = f"torch {torch.__version__}, cudnn {torch.backends.cudnn.version()}"

        def fn(x):
            return mod(x)[0]

        return fn, [x], list(mod.parameters())

    ours = _our_layer(E, NH, device)
    if family == "ours_layer":
        from xlstm_ts.kernels import get_kernel

        out["kernel_resolved"] = get_kernel("slstm", "sequence--auto", device, dtype).name
        autocast = dtype != torch.float32

        def fn(x):
            with torch.autocast(device.type, dtype=dtype, enabled=autocast):
                return ours(x)[0]

        return fn, [x], list(ours.parameters())

    # reference layer
    import xlstm
    from xlstm.blocks.slstm.layer import sLSTMLayer, sLSTMLayerConfig

    from xlstm_ts.nn.checkpoints import to_reference_state_dict

    out["origin"] = f"xlstm {getattr(xlstm, '__version__', '?')}"
    cfg = sLSTMLayerConfig(embedding_dim=E, num_heads=NH, conv1d_kernel_size=4, backend=which)
    if which == "cuda":
        cfg.dtype = spec.get("ref_dtype", cfg.dtype)
        cfg.__post_init__()
        from xlstm.blocks.slstm.src import cuda_init

        cuda_init.time = types.SimpleNamespace(sleep=lambda s: None)  # its random 0-10 s pre-build sleep
        out["ref_config"] = {k: getattr(cfg, k) for k in ("dtype", "dtype_b", "dtype_r", "batch_size")}
    t0 = time.perf_counter()
    ref = sLSTMLayer(cfg)  # backend "cuda": builds (or loads the cached) extension here
    if which == "cuda":
        out["build_s"] = round(time.perf_counter() - t0, 2)
    ref = ref.to(device)
    try:
        ref.load_state_dict(to_reference_state_dict(ours, backend=which))
        out["weights"] = "ours, converted"
    except Exception as exc:
        ref.reset_parameters()
        out["weights"] = f"own init ({gb.short(exc, 120)})"

    def fn(x):
        return ref(x)

    return fn, [x], list(ref.parameters())


def _bench(spec: dict) -> dict:
    impl = spec["impl"]
    device = torch.device(spec["device"])
    out: dict = {"impl": impl, "shape": spec["shape"], "fwd_status": None, "fwdbwd_status": None}
    if device.type == "cuda":
        out["device_name"] = torch.cuda.get_device_name(device)
    try:
        fn, inputs, params = _make(spec, out)
    except Exception as exc:
        out["fwd_status"] = out["fwdbwd_status"] = gb.failure(exc)
        return out

    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        with torch.no_grad():
            y = fn(*inputs)  # first call: compiles, and gives the sanity numbers
            gb.sync(device)
            yf = y.float()
            out["out_absmean"] = yf.abs().mean().item()
            out["out_finite"] = bool(torch.isfinite(yf).all().item())
            out["out_shape"] = list(y.shape)
            del y, yf
            out["fwd_ms"] = gb.time_ms(lambda: fn(*inputs), device, spec, dry_reps=3)
        out["fwd_status"] = "ok"
        if device.type == "cuda":
            out["fwd_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    except Exception as exc:
        out["fwd_status"] = gb.failure(exc)
    gb.free(device)

    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        leaves = [t.detach().requires_grad_(True) for t in inputs]
        y = fn(*leaves)
        grad = torch.randn(y.shape, generator=torch.Generator().manual_seed(2)).to(device, y.dtype)
        y.backward(grad)
        del y
        gb.sync(device)
        resets = leaves + (params or [])
        for t in resets:
            t.grad = None
        out["fwdbwd_ms"] = gb.time_ms(
            lambda: fn(*leaves).backward(grad), device, spec, grad_to_none=resets, dry_reps=3
        )
        out["fwdbwd_status"] = "ok"
        if device.type == "cuda":
            out["fwdbwd_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    except Exception as exc:
        out["fwdbwd_status"] = gb.failure(exc)
    return out


def _nvcc_version() -> str:
    nvcc = shutil.which("nvcc") or (
        str(Path(os.environ["CUDA_HOME"]) / "bin" / "nvcc") if os.environ.get("CUDA_HOME") else None
    )
    if not nvcc:
        return "not found"
    try:
        text = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=30).stdout
        return (text.strip().splitlines() or ["?"])[-1]
    except Exception as exc:
        return f"error: {gb.short(exc, 80)}"


def _shape_str(shape) -> str:
    B, S, E, NH = shape
    return f"B={B} S={S} E={E} NH={NH}"


def _ms(r: dict | None, phase: str) -> float | None:
    return r[f"{phase}_ms"] if r and r.get(f"{phase}_status") == "ok" else None


def ratios(doc: dict) -> list[dict]:
    """Ratios of fwd+bwd (and fwd) times our targets are stated in (docs/benchmarks.md), one record per (comparison, shape)."""
    by = {(r["impl"], r["index"]): r for r in doc["results"]}
    comps = [
        ("ours_layer", "ref_cuda", "ref"),
        ("ours_layer", "cudnn_lstm", "cudnn"),
        ("ours_layer_high", "ref_cuda", "ref"),
        ("ours_layer_high", "cudnn_lstm", "cudnn"),
        ("ours_layer_bf16", "ref_cuda", "ref"),
        ("ours_layer_bf16", "cudnn_lstm", "cudnn"),
        ("ours_triton_f32", "ref_cuda", "ref"),
        ("ours_triton_bf16", "ref_cuda", "ref"),
        ("ours_triton_f32", "cudnn_lstm", "cudnn"),
        ("ours_layer", "ref_vanilla", None),
    ]
    recs = []
    for num, den, kind in comps:
        for s in doc["shapes"]:
            j = s["index"]
            rec = {"num": num, "den": den, "index": j, "shape": s["shape"]}
            target = REF_TARGET if kind == "ref" else CUDNN_TARGET.get(j) if kind == "cudnn" else None
            rec["target_fwdbwd"] = target
            for phase in ("fwd", "fwdbwd"):
                a, b = _ms(by.get((num, j)), phase), _ms(by.get((den, j)), phase)
                rec[phase] = a / b if a is not None and b else None
            if target is not None and rec["fwdbwd"] is not None:
                ok = rec["fwdbwd"] <= target if kind == "ref" or target > 1.0 else rec["fwdbwd"] < target
                rec["meets_target"] = ok
            recs.append(rec)
    return recs


def _print_tables(doc: dict) -> None:
    meta = doc["meta"]
    shapes = doc["shapes"]
    by = {(r["impl"], r["index"]): r for r in doc["results"]}
    impls = meta["impls"]
    print()
    print(
        f"# {meta['date']} | {meta['device']} | torch {meta['torch']} (CUDA {meta['cuda']}) | "
        f"triton {meta['triton']} | xlstm {meta['xlstm']} | xlstm-ts {meta['xlstm_ts']} | "
        f"python {meta['python']} | nvcc: {meta['nvcc']}"
    )
    print(f"# {meta['timing']}")
    head = (
        "| implementation | " + " | ".join(f"{s['index']}: {_shape_str(s['shape'])}" for s in shapes) + " |"
    )
    rule = "|---|" + "---|" * len(shapes)
    print("\nfwd / fwd+bwd in ms\n")
    print(head)
    print(rule)
    for impl in impls:
        print(
            f"| {IMPLS[impl][0]} | "
            + " | ".join(gb.cell(by.get((impl, s["index"])), CELL_WIDTH) for s in shapes)
            + " |"
        )

    print("\nfwd+bwd ratios (fwd in brackets); target and whether it is met\n")
    print(
        "| ratio (fwd+bwd) | " + " | ".join(f"{s['index']}: {_shape_str(s['shape'])}" for s in shapes) + " |"
    )
    print(rule)
    recs = doc["ratios"]
    for num, den in dict.fromkeys((r["num"], r["den"]) for r in recs):
        if num not in impls and den not in impls:
            continue
        cells = []
        for s in shapes:
            rec = next(r for r in recs if (r["num"], r["den"], r["index"]) == (num, den, s["index"]))
            if rec["fwdbwd"] is None:
                cells.append("-")
                continue
            text = f"{rec['fwdbwd']:.2f}x"
            if rec["fwd"] is not None:
                text += f" ({rec['fwd']:.2f}x)"
            if rec.get("target_fwdbwd") is not None:
                sign = "<=" if rec["target_fwdbwd"] > 1.0 or den == "ref_cuda" else "<"
                text += f" [{sign} {rec['target_fwdbwd']:g}x: {'MET' if rec['meets_target'] else 'MISSED'}]"
            cells.append(text)
        print(f"| {num} / {den} | " + " | ".join(cells) + " |")

    print("\nmean |out| of the first forward (sanity: the two triton rows and native agree; ours_layer and")
    print("both reference layers share weights and agree; nn.LSTM is another model)\n")
    print(head)
    print(rule)
    for impl in impls:
        cells = []
        for s in shapes:
            r = by.get((impl, s["index"])) or {}
            v = r.get("out_absmean")
            cells.append("-" if v is None else f"{v:.5f}" + ("" if r.get("out_finite", True) else " NaN/inf"))
        print(f"| {IMPLS[impl][0]} | " + " | ".join(cells) + " |")

    notes = []
    for r in doc["results"]:
        where = f"{r['impl']} @ shape {r['index']}"
        if r.get("build_s") is not None:
            notes.append(
                f"- {where}: reference layer built in {r['build_s']:.1f} s (nvcc build, or cache load)"
            )
        if r.get("kernel_resolved"):
            notes.append(f"- {where}: backend auto resolved to `{r['kernel_resolved']}`")
        if r.get("weights") and not r["weights"].startswith("ours"):
            notes.append(f"- {where}: weights: {r['weights']}")
        for phase, st in gb.status_phases(r.get("fwd_status"), r.get("fwdbwd_status")):
            if st not in (None, "ok") and len(gb.cell_status(st, CELL_WIDTH)) < len(st):
                notes.append(f"- {where} {phase}: {st}")
        if r.get("stderr_last_line"):
            notes.append(f"- {where} stderr: {r['stderr_last_line']}")
    if notes:
        print("\nNotes\n")
        print("\n".join(dict.fromkeys(notes)))


def main() -> int:
    p = gb.parser(__doc__, len(SHAPES), IMPLS)
    p.add_argument("--vanilla-all", action="store_true", help="also run the reference vanilla at shape 1")
    p.add_argument(
        "--ref-dtype",
        default="bfloat16",
        choices=["bfloat16", "float16", "float32"],
        help="dtype of the reference CUDA kernel (its config `dtype`; default: the reference's default)",
    )
    gb.add_run_args(p, "kernels_slstm")
    p.add_argument(
        "--budget",
        type=float,
        default=420.0,
        help="seconds after which no new measurement starts; a child started before gets at most 120 s more",
    )
    a = p.parse_args()
    if a.child:
        gb.run_child(json.loads(a.child), MARK, _bench)
        return 0

    dry = a.dry_run
    if gb.no_cuda("kernels_slstm", dry):
        return 0
    shape_list = DRY_SHAPES if dry else SHAPES
    idx = [int(s) for s in gb.parse_subset(a.shapes, [str(j) for j in range(len(shape_list))], "shape index")]
    impls = gb.parse_subset(a.impls, list(IMPLS), "implementation")
    path = gb.out_path(a.out, dry, "kernels_slstm")

    t_start = time.perf_counter()
    base = {"mode": "dry" if dry else "bench", "device": "cpu" if dry else "cuda", "ref_dtype": a.ref_dtype}
    fast_win = {"warmup_ms": 25, "rep_ms": 100} if a.quick else {"warmup_ms": 100, "rep_ms": 500}
    slow_win = {"warmup_ms": 25, "rep_ms": 100}
    timing = (
        "perf_counter median of 3 (dry run, CPU)"
        if dry
        else f"median of triton.testing.do_bench(warmup={fast_win['warmup_ms']} ms, rep={fast_win['rep_ms']} ms; "
        f"{', '.join(SLOW)}: warmup={slow_win['warmup_ms']}, rep={slow_win['rep_ms']}); fwd under no_grad; "
        "fwd+bwd = out.backward(grad), grads reset to None"
    )
    doc = {
        "meta": {
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "device": "cpu (dry run)" if dry else "unknown",
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "triton": gb.version("triton"),
            "xlstm": gb.version("xlstm"),
            "mlstm_kernels": gb.version("mlstm_kernels"),
            "xlstm_ts": gb.version("xlstm-ts"),
            "python": platform.python_version(),
            "nvcc": _nvcc_version(),
            "ninja": shutil.which("ninja") or "not found",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "timing": timing,
            "ref_cuda_dtype": a.ref_dtype,
            "shape_key": "B, S, E, NH (DH = E / NH)",
            "targets": {
                "ours / ref_cuda fwd+bwd": f"<= {REF_TARGET}x at every shape",
                "ours / cudnn_lstm fwd+bwd": {str(k): v for k, v in CUDNN_TARGET.items()},
            },
            "impls": impls,
            "impl_labels": {k: IMPLS[k][0] for k in impls},
            "dry_run": dry,
        },
        "shapes": [{"index": j, "shape": list(shape_list[j])} for j in idx],
        "results": [],
        "ratios": [],
    }
    if dry:
        spec = {**base, **fast_win, "mode": "abort", "impl": "ref_cuda", "shape": [1, 1, 4, 1]}
        crash = gb.spawn(__file__, MARK, spec, a.timeout, timeout_fmt=".0f")
        doc["dry_run_abort_check"] = {k: crash.get(k) for k in ("fwd_status", "exit_code")}
        print(f"dry run: aborting child reported as {crash['fwd_status']!r}")

    def save() -> None:
        doc["ratios"] = ratios(doc)
        gb.write_json(path, doc)

    m = doc["meta"]
    print(
        f"# {m['date']} | torch {m['torch']} | triton {m['triton']} | xlstm {m['xlstm']} | "
        f"xlstm-ts {m['xlstm_ts']} | nvcc: {m['nvcc']} | ninja: {m['ninja']}",
        flush=True,
    )
    jobs = [(j, impl) for j in idx for impl in impls if impl not in SLOW]
    jobs += [(j, impl) for j in idx for impl in impls if impl in SLOW]
    for j, impl in jobs:
        shape = list(shape_list[j])
        elapsed = time.perf_counter() - t_start
        if impl == "ref_vanilla" and j not in VANILLA_SHAPES and not a.vanilla_all:
            st = "skipped (slow; --vanilla-all runs it)"
            r = {"fwd_status": st, "fwdbwd_status": st, "wall_s": 0.0}
        elif impl == "ref_cuda" and dry:
            st = "n/a (dry run: needs CUDA)"
            r = {"fwd_status": st, "fwdbwd_status": st, "wall_s": 0.0}
        elif elapsed > a.budget:
            st = f"skipped (budget {a.budget:g} s spent)"
            r = {"fwd_status": st, "fwdbwd_status": st, "wall_s": 0.0}
        else:
            win = slow_win if impl in SLOW else fast_win
            # past the budget a child still gets 120 s, so a run ends within budget + 120 s
            timeout = min(a.timeout, max(60.0, a.budget + 120.0 - elapsed))
            spec = {**base, **win, "impl": impl, "shape": shape}
            r = gb.spawn(__file__, MARK, spec, timeout, timeout_fmt=".0f")
        r.update(impl=impl, shape=shape, index=j)
        if r.get("device_name") and doc["meta"]["device"] == "unknown":
            doc["meta"]["device"] = r["device_name"]
        doc["results"].append(r)
        save()
        msg = f"shape {j} ({_shape_str(shape)})  {impl:17s} {gb.cell(r, CELL_WIDTH):>24s}  ms"
        if r.get("out_absmean") is not None:
            msg += f"   mean|out| {r['out_absmean']:.5f}"
        if r.get("build_s") is not None:
            msg += f"   build {r['build_s']:.1f} s"
        msg += f"   ({r['wall_s']:.0f} s)"
        print(msg, flush=True)
        gb.print_failures(r, CELL_WIDTH)
    doc["meta"]["total_s"] = round(time.perf_counter() - t_start, 1)
    save()
    _print_tables(doc)
    print(f"\ntotal {doc['meta']['total_s']:.0f} s; results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
