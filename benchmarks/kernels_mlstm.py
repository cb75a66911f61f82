"""GPU benchmark: mLSTM sequence kernels side by side, against measured floors of the device.

Run on the GPU machine from the repository root, with ``.whl`` carried (it holds the
mlstm-kernels 2.0.6 wheel, einops, and a setuptools >= 77 for the offline editable install)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit; python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . ; PYTHONUNBUFFERED=1 python3 benchmarks/kernels_mlstm.py --out $OUT/kernels_mlstm.json

(If the editable install fails, the script loads ``kernels/`` straight from this checkout.)
The whole run takes a few minutes; if it must fit a shorter limit, split it with ``--shapes 0,1``
and ``--shapes 2,3``, or use ``--quick``.

What is timed, per shape (B, NH, S, DQK, DV), bf16 inputs (q, k, v ~ N(0,1), input gate ~ N(0,1),
forget gate ~ N(0,1) + 3), fixed seed, so every implementation sees the same tensors:

* ``ours_triton``: ``xlstm_ts.kernels.mlstm_sequence(..., kernel="chunkwise--triton")``
* ``ours_native``: the same with ``kernel="chunkwise--native"`` (PyTorch)
* ``mk_limit_chunk`` / ``mk_xl_chunk``: mlstm_kernels 2.0.6 ``chunkwise--triton_limit_chunk``
  (chunk 64) and ``chunkwise--triton_xl_chunk`` (TFLA, its default chunk 128)
* ``sdpa``: ``torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)``,
  only where DQK == DV

Forward is timed under ``torch.no_grad``; forward+backward is ``fn(...).backward(grad)`` with
q, k, v, i, f requiring grad and their ``.grad`` reset to None before each call.  Each time is the
median of ``triton.testing.do_bench`` after an explicit first call (compilation) and do_bench's own
warm-up.  Every (implementation, shape) runs in its own subprocess with a timeout: a peer that
aborts inside Triton's compiler is reported as ``failed (exit code N)``, an exception as
``failed: <error>``, an out-of-memory as ``OOM``.

Floors (measured in the same run): device bandwidth from a 1 GiB device-to-device copy (bytes read
+ written / time) and bf16 matmul throughput from an 8192^3 matmul.  Memory floor = bytes of q, k,
v, i, f read + h written (2 bytes each) / bandwidth.  Compute floor = forward FLOPs with chunk
L = 64, per head 2*S*L*DQK + 2*S*L*DV + 2*S*DQK*DV + 2*S*DQK*DV (intra-chunk scores and values
with the full L x L block counted, inter-chunk q C, state update k^T v), times B*NH, / matmul
throughput.  Forward floor = max of the two; the forward+backward floor is ASSUMED to be 3x the
forward floor.

Usage::

    python benchmarks/kernels_mlstm.py                          # everything
    python benchmarks/kernels_mlstm.py --shapes 0,2 --impls ours_triton,mk_limit_chunk --quick
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import platform
import sys
from pathlib import Path

import _gpu_bench as gb
import torch

REPO = Path(__file__).resolve().parents[1]

#: (B, NH, S, DQK, DV)
SHAPES = [
    (128, 4, 512, 64, 64),
    (8, 16, 2048, 128, 128),
    (4, 8, 4096, 128, 128),
    (2, 8, 8192, 256, 512),
]
#: tiny shapes for the CPU plumbing check (``--dry-run``); the second has DQK != DV
DRY_SHAPES = [(2, 2, 128, 16, 16), (1, 2, 128, 16, 32)]

#: name -> (label in the tables, family, kernel name, chunk size passed or None for the default)
IMPLS = {
    "ours_triton": ("ours `chunkwise--triton`", "ours", "chunkwise--triton", 64),
    "ours_native": ("ours `chunkwise--native`", "ours", "chunkwise--native", 64),
    "mk_limit_chunk": (
        "mlstm_kernels `chunkwise--triton_limit_chunk`",
        "peer",
        "chunkwise--triton_limit_chunk",
        64,
    ),
    "mk_xl_chunk": ("mlstm_kernels `chunkwise--triton_xl_chunk`", "peer", "chunkwise--triton_xl_chunk", None),
    "sdpa": ("torch SDPA causal attention", "sdpa", None, None),
}
PEERS = ("mk_limit_chunk", "mk_xl_chunk")

FLOOR_CHUNK = 64
BWD_FACTOR = 3.0
MARK = "@@KERNELS_MLSTM@@ "  # prefix of the one result line a child prints on stdout
CELL_WIDTH = 48  # a status longer than this is cut short in the tables (and given in full below them)


# ------------------------------------------------------------------------------------------- child side
def _load_ours():
    """``mlstm_sequence`` of this checkout: the installed package if it points here, else the source."""
    try:
        import xlstm_ts.kernels as mod

        if Path(mod.__file__).resolve().parent == REPO / "kernels":
            return mod.mlstm_sequence, "xlstm_ts.kernels (installed from this checkout)"
    except Exception:  # not installed, or installed from elsewhere / broken: fall through to the source
        pass
    name = "_kernels_mlstm_bench_src"
    spec = importlib.util.spec_from_file_location(
        name, REPO / "kernels" / "__init__.py", submodule_search_locations=[str(REPO / "kernels")]
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod.mlstm_sequence, f"{REPO / 'kernels'} (loaded from source)"


def _make_fn(impl: str):
    """Callable ``(q, k, v, i, f) -> h`` for ``impl``, plus a note on where it came from."""
    _, family, kernel, chunk = IMPLS[impl]
    if family == "ours":
        mlstm_sequence, origin = _load_ours()

        def fn(q, k, v, i, f):
            return mlstm_sequence(q, k, v, i, f, kernel=kernel, chunk_size=chunk)[0]

        return fn, origin
    if family == "peer":
        from mlstm_kernels.torch import get_mlstm_kernel

        kern = get_mlstm_kernel(kernel)
        extra = {} if chunk is None else {"chunk_size": chunk}

        def fn(q, k, v, i, f):
            return kern(q, k, v, i, f, **extra)

        return fn, f"mlstm_kernels {gb.version('mlstm_kernels')}"

    def fn(q, k, v, i, f):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)

    return fn, f"torch {torch.__version__}"


def _bench(spec: dict) -> dict:
    impl = spec["impl"]
    B, NH, S, DQK, DV = spec["shape"]
    device = torch.device(spec["device"])
    dtype = getattr(torch, spec["dtype"])
    out: dict = {"impl": impl, "shape": spec["shape"], "fwd_status": None, "fwdbwd_status": None}
    if impl == "sdpa" and DQK != DV:
        out.update(fwd_status="n/a", fwdbwd_status="n/a", note="SDPA needs DQK == DV for the flash path")
        return out
    try:
        fn, out["origin"] = _make_fn(impl)
    except Exception as exc:
        out["fwd_status"] = out["fwdbwd_status"] = f"failed: {gb.short(exc)}"
        return out

    torch.manual_seed(0)
    try:
        q = torch.randn(B, NH, S, DQK, device=device, dtype=dtype)
        k = torch.randn(B, NH, S, DQK, device=device, dtype=dtype)
        v = torch.randn(B, NH, S, DV, device=device, dtype=dtype)
        i = torch.randn(B, NH, S, device=device, dtype=dtype)
        f = torch.randn(B, NH, S, device=device, dtype=dtype) + 3.0
        grad = torch.randn(B, NH, S, DV, device=device, dtype=dtype)
    except Exception as exc:
        out["fwd_status"] = out["fwdbwd_status"] = gb.failure(exc)
        return out
    inputs = (q, k, v, i, f)

    # forward, no autograd graph
    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        with torch.no_grad():
            h = fn(*inputs)  # first call: compiles, and gives the output for the sanity numbers
            gb.sync(device)
            hf = h.float()
            out["h_absmean"] = hf.abs().mean().item()
            out["h_finite"] = bool(torch.isfinite(hf).all().item())
            del h, hf

            def fwd():
                fn(*inputs)

            out["fwd_ms"] = gb.time_ms(fwd, device, spec)
        out["fwd_status"] = "ok"
        if device.type == "cuda":
            out["fwd_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    except Exception as exc:
        out["fwd_status"] = gb.failure(exc)
    gb.free(device)

    # forward + backward
    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        leaves = [t.detach().requires_grad_(True) for t in inputs]
        h = fn(*leaves)  # first call; also fixes the dtype of the incoming gradient
        grad = grad.to(h.dtype)
        h.backward(grad)
        del h
        gb.sync(device)

        def fwd_bwd():
            fn(*leaves).backward(grad)

        for t in leaves:
            t.grad = None
        out["fwdbwd_ms"] = gb.time_ms(fwd_bwd, device, spec, grad_to_none=leaves)
        out["fwdbwd_status"] = "ok"
        if device.type == "cuda":
            out["fwdbwd_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    except Exception as exc:
        out["fwdbwd_status"] = gb.failure(exc)
    return out


def _calibrate(spec: dict) -> dict:
    """Device bandwidth (copy) and bf16 matmul throughput, plus what the device is."""
    device = torch.device(spec["device"])
    info: dict = {"device_name": platform.processor() or platform.machine(), "cuda": torch.version.cuda}
    dry = spec["mode"] == "dry"
    copy_bytes = 2**24 if dry else 2**30
    n = 512 if dry else 8192
    dtype = torch.float32 if dry else torch.bfloat16
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
        props = torch.cuda.get_device_properties(device)
        info["device_memory_gib"] = props.total_memory / 2**30
        info["capability"] = f"{props.major}.{props.minor}"
    ms, gbs = gb.copy_bandwidth(device, copy_bytes, lambda fn: gb.time_ms(fn, device, spec))
    info.update(copy_bytes=copy_bytes, copy_ms=ms, bandwidth_gbs=gbs)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    gb.sync(device)
    ms = gb.time_ms(lambda a=a, b=b: a @ b, device, spec)
    info.update(
        matmul_n=n, matmul_dtype=str(dtype), matmul_ms=ms, matmul_tflops=2 * n**3 / (ms * 1e-3) / 1e12
    )
    return info


def _work(spec: dict) -> dict:
    return _calibrate(spec) if spec.get("what") == "calib" else _bench(spec)


# ------------------------------------------------------------------------------------------ parent side
def floors(shape, calib: dict | None) -> dict:
    B, NH, S, DQK, DV = shape
    L = FLOOR_CHUNK
    nbytes = 2 * B * NH * S * (2 * DQK + DV + 2 + DV)  # q, k, v, i, f read and h written, 2 bytes each
    flops = B * NH * (2 * S * L * DQK + 2 * S * L * DV + 2 * S * DQK * DV + 2 * S * DQK * DV)
    rec = {"bytes": nbytes, "flops": flops}
    if calib and calib.get("bandwidth_gbs") and calib.get("matmul_tflops"):
        mem = nbytes / (calib["bandwidth_gbs"] * 1e9) * 1e3
        comp = flops / (calib["matmul_tflops"] * 1e12) * 1e3
        rec.update(
            mem_floor_ms=mem,
            compute_floor_ms=comp,
            fwd_floor_ms=max(mem, comp),
            bound="memory" if mem >= comp else "compute",
            fwdbwd_floor_ms=BWD_FACTOR * max(mem, comp),
        )
    return rec


def _ratio_cell(r: dict | None, fl: dict) -> str:
    if r is None or "fwd_floor_ms" not in fl:
        return "-"
    parts = []
    for phase, floor in (("fwd", fl["fwd_floor_ms"]), ("fwdbwd", fl["fwdbwd_floor_ms"])):
        parts.append(f"{r[f'{phase}_ms'] / floor:.1f}x" if r.get(f"{phase}_status") == "ok" else "-")
    return " / ".join(parts)


def _shape_str(shape) -> str:
    return ",".join(map(str, shape))


def _print_tables(doc: dict) -> None:
    meta, calib = doc["meta"], doc.get("calibration") or {}
    shapes = [tuple(s["shape"]) for s in doc["shapes"]]
    by = {(r["impl"], tuple(r["shape"])): r for r in doc["results"]}
    impls = meta["impls"]
    print()
    print(
        f"# {meta['date']} | {meta['device']} | torch {meta['torch']} | triton {meta['triton']} | "
        f"mlstm_kernels {meta['mlstm_kernels']} | python {meta['python']}"
    )
    print(f"# {meta['timing']}")
    head = "| implementation | " + " | ".join(_shape_str(s) for s in shapes) + " |"
    rule = "|---|" + "---|" * len(shapes)
    print("\nfwd / fwd+bwd in ms (shape = B,NH,S,DQK,DV)\n")
    print(head)
    print(rule)
    for impl in impls:
        print(
            f"| {IMPLS[impl][0]} | "
            + " | ".join(gb.cell(by.get((impl, s)), CELL_WIDTH) for s in shapes)
            + " |"
        )

    bw, tf = calib.get("bandwidth_gbs"), calib.get("matmul_tflops")
    measured = (
        f"{bw:.0f} GB/s copy, {tf:.0f} TFLOP/s matmul ({calib.get('matmul_dtype')})" if bw and tf else "n/a"
    )
    print(
        f"\nFloors (measured: {measured}; chunk L={FLOOR_CHUNK}; fwd+bwd floor ASSUMED {BWD_FACTOR:g}x fwd)\n"
    )
    print("| quantity | " + " | ".join(_shape_str(s) for s in shapes) + " |")
    print(rule)
    fls = {tuple(s["shape"]): s for s in doc["shapes"]}
    rows = [
        ("bytes read+written (MB)", lambda f: f"{f['bytes'] / 1e6:.1f}"),
        ("memory floor (ms)", lambda f: f"{f['mem_floor_ms']:.4f}"),
        ("fwd FLOPs (GFLOP)", lambda f: f"{f['flops'] / 1e9:.2f}"),
        ("compute floor (ms)", lambda f: f"{f['compute_floor_ms']:.4f}"),
        ("fwd floor (ms)", lambda f: f"{f['fwd_floor_ms']:.4f} ({f['bound']})"),
        (f"fwd+bwd floor = {BWD_FACTOR:g}x fwd (ms)", lambda f: f"{f['fwdbwd_floor_ms']:.4f}"),
    ]
    for label, get in rows:
        cells = []
        for s in shapes:
            try:
                cells.append(get(fls[s]))
            except KeyError:
                cells.append("n/a")
        print(f"| {label} | " + " | ".join(cells) + " |")

    print("\ntime / floor, fwd / fwd+bwd (fwd+bwd against the assumed 3x fwd floor)\n")
    print(head)
    print(rule)
    for impl in impls:
        print(
            f"| {IMPLS[impl][0]} | "
            + " | ".join(_ratio_cell(by.get((impl, s)), fls[s]) for s in shapes)
            + " |"
        )

    print("\nmean |h| of the first forward (sanity: the mLSTM kernels should agree; SDPA is another model)\n")
    print(head)
    print(rule)
    for impl in impls:
        cells = []
        for s in shapes:
            r = by.get((impl, s)) or {}
            v = r.get("h_absmean")
            cells.append("-" if v is None else f"{v:.5f}" + ("" if r.get("h_finite", True) else " NaN/inf"))
        print(f"| {IMPLS[impl][0]} | " + " | ".join(cells) + " |")

    notes = []
    for r in doc["results"]:
        where = f"{r['impl']} @ {_shape_str(r['shape'])}"
        for phase, st in gb.status_phases(r.get("fwd_status"), r.get("fwdbwd_status")):
            if st not in (None, "ok", "n/a") and len(gb.cell_status(st, CELL_WIDTH)) < len(st):
                notes.append(f"- {where} {phase}: {st}")
        if r.get("stderr_last_line"):
            notes.append(f"- {r['impl']} @ {_shape_str(r['shape'])} stderr: {r['stderr_last_line']}")
    if notes:
        print("\nNotes\n")
        print("\n".join(dict.fromkeys(notes)))


def main() -> int:
    p = gb.parser(__doc__, len(SHAPES), IMPLS)
    gb.add_run_args(p, "kernels_mlstm")
    a = p.parse_args()
    if a.child:
        gb.run_child(json.loads(a.child), MARK, _work)
        return 0

    dry = a.dry_run
    if gb.no_cuda("kernels_mlstm", dry):
        return 0
    shape_list = DRY_SHAPES if dry else SHAPES
    idx = [int(s) for s in gb.parse_subset(a.shapes, [str(j) for j in range(len(shape_list))], "shape index")]
    impls = gb.parse_subset(a.impls, list(IMPLS), "implementation")
    path = gb.out_path(a.out, dry, "kernels_mlstm")

    base = {
        "mode": "dry" if dry else "bench",
        "device": "cpu" if dry else "cuda",
        "dtype": "float32" if dry else "bfloat16",
        "warmup_ms": 25 if a.quick else 100,
        "rep_ms": 100 if a.quick else 500,
    }
    calib = gb.spawn(__file__, MARK, {**base, "what": "calib"}, a.timeout)
    if calib.get("fwd_status"):  # the calibration child failed
        print(f"calibration failed: {calib['fwd_status']} {calib.get('stderr_last_line', '')}")
        calib_ok = None
    else:
        calib_ok = calib
    timing = (
        "perf_counter median of 5 (dry run, CPU, float32)"
        if dry
        else f"median of triton.testing.do_bench(warmup={base['warmup_ms']} ms, rep={base['rep_ms']} ms), "
        "bf16; fwd under no_grad; fwd+bwd = fn(...).backward(grad), grads reset to None"
    )
    doc = {
        "meta": {
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "device": calib.get("device_name", "unknown"),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "triton": gb.version("triton"),
            "mlstm_kernels": gb.version("mlstm_kernels"),
            "python": platform.python_version(),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "timing": timing,
            "floor_assumptions": (
                f"memory floor = 2 bytes x (q, k, v, i, f read + h written) / copy bandwidth; compute floor = "
                f"forward FLOPs with chunk {FLOOR_CHUNK} / bf16 matmul throughput; fwd floor = max; "
                f"fwd+bwd floor = {BWD_FACTOR:g} x fwd floor (assumption)"
            ),
            "peak_note": "fwd/fwdbwd_peak_mb = torch.cuda.max_memory_allocated per phase, inputs and "
            "do_bench's L2-flush buffer included",
            "impls": impls,
            "impl_labels": {k: IMPLS[k][0] for k in impls},
            "dry_run": dry,
        },
        "calibration": calib_ok,
        "shapes": [],
        "results": [],
    }
    if dry:
        # also exercise the crash path: a child that aborts must come back as "failed (exit code N)"
        spec = {**base, "mode": "abort", "impl": "mk_xl_chunk", "shape": list(shape_list[0])}
        crash = gb.spawn(__file__, MARK, spec, a.timeout)
        doc["dry_run_abort_check"] = {k: crash.get(k) for k in ("fwd_status", "exit_code")}
        print(f"dry run: aborting child reported as {crash['fwd_status']!r}")

    m = doc["meta"]
    print(
        f"# {m['date']} | {m['device']} | torch {m['torch']} | triton {m['triton']} | "
        f"mlstm_kernels {m['mlstm_kernels']}"
    )
    if calib_ok:
        print(
            f"# measured: copy {calib['bandwidth_gbs']:.0f} GB/s (read+written, {calib['copy_bytes'] / 2**30:g} GiB), "
            f"matmul {calib['matmul_tflops']:.1f} TFLOP/s ({calib['matmul_n']}^3 {calib['matmul_dtype']})"
        )
    for j in idx:
        shape = shape_list[j]
        fl = floors(shape, calib_ok)
        doc["shapes"].append({"index": j, "shape": list(shape), **fl})
        line = f"\n## shape {j}: B,NH,S,DQK,DV = {_shape_str(shape)}: {fl['bytes'] / 1e6:.1f} MB, {fl['flops'] / 1e9:.2f} GFLOP"
        if "fwd_floor_ms" in fl:
            line += (
                f" -> memory floor {fl['mem_floor_ms']:.4f} ms, compute floor {fl['compute_floor_ms']:.4f} ms; "
                f"fwd floor {fl['fwd_floor_ms']:.4f} ms ({fl['bound']}-bound), "
                f"fwd+bwd floor {fl['fwdbwd_floor_ms']:.4f} ms (assumed {BWD_FACTOR:g}x fwd)"
            )
        print(line, flush=True)
        for impl in impls:
            if impl == "sdpa" and shape[3] != shape[4]:  # known answer: no child needed
                r = {
                    "fwd_status": "n/a",
                    "fwdbwd_status": "n/a",
                    "note": "SDPA needs DQK == DV",
                    "wall_s": 0.0,
                }
            else:
                r = gb.spawn(__file__, MARK, {**base, "impl": impl, "shape": list(shape)}, a.timeout)
            r.setdefault("impl", impl)
            r.setdefault("shape", list(shape))
            doc["results"].append(r)
            gb.write_json(path, doc)
            msg = f"  {impl:15s} {gb.cell(r, CELL_WIDTH):>24s}  ms"
            ratio = _ratio_cell(r, fl)
            if ratio not in ("-", "- / -"):
                msg += f"   x floor: {ratio}"
            if r.get("fwd_peak_mb") or r.get("fwdbwd_peak_mb"):
                msg += f"   peak {r.get('fwd_peak_mb', 0):.0f} / {r.get('fwdbwd_peak_mb', 0):.0f} MB"
            msg += f"   ({r['wall_s']:.0f} s)"
            print(msg, flush=True)
            gb.print_failures(r, CELL_WIDTH)
    gb.write_json(path, doc)
    _print_tables(doc)
    print(f"\nresults written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
