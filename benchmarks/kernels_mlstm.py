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

import argparse
import datetime
import gc
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

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


# ------------------------------------------------------------------------------------------- child side
def _short(exc: BaseException, limit: int = 300) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


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

        return fn, f"mlstm_kernels {_version('mlstm_kernels')}"

    def fn(q, k, v, i, f):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)

    return fn, f"torch {torch.__version__}"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_ms(fn, device: torch.device, spec: dict, grad_to_none=None) -> float:
    """Median time of ``fn`` in ms: do_bench on the GPU, a short perf_counter loop in dry runs."""
    if spec["mode"] == "dry":
        times = []
        for _ in range(5):
            if grad_to_none:
                for t in grad_to_none:
                    t.grad = None
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times) * 1e3
    import triton.testing

    return float(
        triton.testing.do_bench(
            fn, warmup=spec["warmup_ms"], rep=spec["rep_ms"], grad_to_none=grad_to_none, return_mode="median"
        )
    )


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


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
        out["fwd_status"] = out["fwdbwd_status"] = f"failed: {_short(exc)}"
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
        out["fwd_status"] = out["fwdbwd_status"] = "OOM" if _is_oom(exc) else f"failed: {_short(exc)}"
        return out
    inputs = (q, k, v, i, f)

    # forward, no autograd graph
    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        with torch.no_grad():
            h = fn(*inputs)  # first call: compiles, and gives the output for the sanity numbers
            _sync(device)
            hf = h.float()
            out["h_absmean"] = hf.abs().mean().item()
            out["h_finite"] = bool(torch.isfinite(hf).all().item())
            del h, hf

            def fwd():
                fn(*inputs)

            out["fwd_ms"] = _time_ms(fwd, device, spec)
        out["fwd_status"] = "ok"
        if device.type == "cuda":
            out["fwd_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    except Exception as exc:
        out["fwd_status"] = "OOM" if _is_oom(exc) else f"failed: {_short(exc)}"
    _free(device)

    # forward + backward
    try:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        leaves = [t.detach().requires_grad_(True) for t in inputs]
        h = fn(*leaves)  # first call; also fixes the dtype of the incoming gradient
        grad = grad.to(h.dtype)
        h.backward(grad)
        del h
        _sync(device)

        def fwd_bwd():
            fn(*leaves).backward(grad)

        for t in leaves:
            t.grad = None
        out["fwdbwd_ms"] = _time_ms(fwd_bwd, device, spec, grad_to_none=leaves)
        out["fwdbwd_status"] = "ok"
        if device.type == "cuda":
            out["fwdbwd_peak_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    except Exception as exc:
        out["fwdbwd_status"] = "OOM" if _is_oom(exc) else f"failed: {_short(exc)}"
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
    src = torch.empty(copy_bytes, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    dst.copy_(src)
    _sync(device)
    ms = _time_ms(lambda s=src, d=dst: d.copy_(s), device, spec)
    info.update(copy_bytes=copy_bytes, copy_ms=ms, bandwidth_gbs=2 * copy_bytes / (ms * 1e-3) / 1e9)
    del src, dst
    _free(device)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    ms = _time_ms(lambda a=a, b=b: a @ b, device, spec)
    info.update(
        matmul_n=n, matmul_dtype=str(dtype), matmul_ms=ms, matmul_tflops=2 * n**3 / (ms * 1e-3) / 1e12
    )
    return info


def _child(spec: dict) -> None:
    if spec["mode"] == "abort":  # exercises the crash path of the parent in --dry-run
        os.abort()
    result = _calibrate(spec) if spec.get("what") == "calib" else _bench(spec)
    print(MARK + json.dumps(result), flush=True)


# ------------------------------------------------------------------------------------------ parent side
def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _spawn(spec: dict, timeout: float) -> dict:
    """Run one child; return its result dict, or a dict describing how it failed."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    status = None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        status = f"timeout ({timeout:g} s)"
    except BaseException:  # Ctrl-C in the parent: take the child's process group down with it
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    lines = [ln[len(MARK) :] for ln in stdout.splitlines() if ln.startswith(MARK)]
    result = json.loads(lines[-1]) if lines else {}
    if not lines and status is None:
        rc = proc.returncode
        if rc < 0:
            try:
                status = f"failed (exit code {rc}, {signal.Signals(-rc).name})"
            except ValueError:
                status = f"failed (exit code {rc})"
        else:
            status = f"failed (exit code {rc})" if rc else "failed (no result line)"
    if status is not None:
        result.update(fwd_status=status, fwdbwd_status=status)
        last = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        result["stderr_last_line"] = last[-1][:300] if last else ""
    result.update(exit_code=proc.returncode, wall_s=round(wall, 2), stderr_tail=stderr[-2000:])
    return result


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


def _fmt_ms(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def _cell_status(status: str | None, limit: int = 48) -> str:
    text = (status or "-").replace("|", "/")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cell(r: dict | None) -> str:
    if r is None:
        return "-"
    parts = []
    for phase in ("fwd", "fwdbwd"):
        st = r.get(f"{phase}_status")
        parts.append(_fmt_ms(r[f"{phase}_ms"]) if st == "ok" else _cell_status(st))
    if parts[0] == parts[1] and r.get("fwd_status") != "ok":
        return parts[0]
    return " / ".join(parts)


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
        print(f"| {IMPLS[impl][0]} | " + " | ".join(_cell(by.get((impl, s))) for s in shapes) + " |")

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
        st_f, st_b = r.get("fwd_status"), r.get("fwdbwd_status")
        phases = [("fwd and fwd+bwd", st_f)] if st_f == st_b else [("fwd", st_f), ("fwd+bwd", st_b)]
        for phase, st in phases:
            if st not in (None, "ok", "n/a") and len(_cell_status(st)) < len(st):
                notes.append(f"- {where} {phase}: {st}")
        if r.get("stderr_last_line"):
            notes.append(f"- {r['impl']} @ {_shape_str(r['shape'])} stderr: {r['stderr_last_line']}")
    if notes:
        print("\nNotes\n")
        print("\n".join(dict.fromkeys(notes)))


def _parse_subset(text: str | None, valid: list, what: str) -> list:
    if not text:
        return list(valid)
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in valid]
    if bad:
        raise SystemExit(f"unknown {what} {bad}; choose from {valid}")
    return items


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", help=f"comma-separated shape indices (0..{len(SHAPES) - 1}); default all")
    p.add_argument("--impls", help=f"comma-separated subset of {','.join(IMPLS)}; default all")
    p.add_argument("--quick", action="store_true", help="shorter do_bench windows (warm-up 25 ms, 100 ms)")
    p.add_argument(
        "--out", help="JSON results file (default: $OUT/kernels_mlstm.json, else ./kernels_mlstm.json)"
    )
    p.add_argument("--timeout", type=float, default=240.0, help="seconds allowed per (implementation, shape)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        _child(json.loads(a.child))
        return 0

    dry = a.dry_run
    if not dry and not torch.cuda.is_available():
        print(
            "kernels_mlstm: no CUDA device here (torch.cuda.is_available() is False); nothing to benchmark."
        )
        return 0
    shape_list = DRY_SHAPES if dry else SHAPES
    idx = [int(s) for s in _parse_subset(a.shapes, [str(j) for j in range(len(shape_list))], "shape index")]
    impls = _parse_subset(a.impls, list(IMPLS), "implementation")
    if a.out:
        out_path = Path(a.out)
    elif dry:
        out_path = Path(os.environ.get("TMPDIR", "/tmp")) / "kernels_mlstm_dry.json"
    elif os.environ.get("OUT"):
        out_path = Path(os.environ["OUT"]) / "kernels_mlstm.json"
    else:
        out_path = Path("kernels_mlstm.json")

    base = {
        "mode": "dry" if dry else "bench",
        "device": "cpu" if dry else "cuda",
        "dtype": "float32" if dry else "bfloat16",
        "warmup_ms": 25 if a.quick else 100,
        "rep_ms": 100 if a.quick else 500,
    }
    calib = _spawn({**base, "what": "calib"}, a.timeout)
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
            "triton": _version("triton"),
            "mlstm_kernels": _version("mlstm_kernels"),
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
        crash = _spawn(
            {**base, "mode": "abort", "impl": "mk_xl_chunk", "shape": list(shape_list[0])}, a.timeout
        )
        doc["dry_run_abort_check"] = {k: crash.get(k) for k in ("fwd_status", "exit_code")}
        print(f"dry run: aborting child reported as {crash['fwd_status']!r}")

    def save() -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(doc, indent=1))

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
                r = _spawn({**base, "impl": impl, "shape": list(shape)}, a.timeout)
            r.setdefault("impl", impl)
            r.setdefault("shape", list(shape))
            doc["results"].append(r)
            save()
            msg = f"  {impl:15s} {_cell(r):>24s}  ms"
            ratio = _ratio_cell(r, fl)
            if ratio not in ("-", "- / -"):
                msg += f"   x floor: {ratio}"
            if r.get("fwd_peak_mb") or r.get("fwdbwd_peak_mb"):
                msg += f"   peak {r.get('fwd_peak_mb', 0):.0f} / {r.get('fwdbwd_peak_mb', 0):.0f} MB"
            msg += f"   ({r['wall_s']:.0f} s)"
            print(msg, flush=True)
            st_f, st_b = r.get("fwd_status") or "", r.get("fwdbwd_status") or ""
            phases = [("fwd and fwd+bwd", st_f)] if st_f == st_b else [("fwd", st_f), ("fwd+bwd", st_b)]
            for phase, st in phases:
                if st.startswith(("failed", "timeout")) and len(_cell_status(st)) < len(st):
                    print(f"    {phase}: {st}", flush=True)
            if r.get("stderr_last_line"):
                print(f"    stderr: {r['stderr_last_line']}", flush=True)
    save()
    _print_tables(doc)
    print(f"\nresults written to {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
