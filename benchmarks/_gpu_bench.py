"""Harness shared by the GPU kernel benchmarks ``kernels_mlstm.py`` and ``kernels_slstm.py``.

Each benchmark runs every (implementation, shape) in a child process, ``python3 <script> --child
<spec as JSON>``, so that a crash or a hang inside a compiler costs one cell of the tables, not the run.
The child (``run_child``) prints its result dict as one line of JSON behind the script's marker;
the parent (``spawn``) reads it back, or turns a timeout, a crash or a missing line into a status.
The rest is what both sides share: error text, timing (``triton.testing.do_bench`` on the GPU, a
short ``perf_counter`` loop in the CPU dry run), package versions, table cells, command-line options
and where the JSON goes.

Not a script: the benchmarks import it as ``_gpu_bench``, found because Python puts the directory of
the script it runs (``benchmarks/``) first on ``sys.path``, in the parent and in every child.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch


# ------------------------------------------------------------------------------------------- child side
def short(exc: BaseException, limit: int = 300) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def failure(exc: BaseException) -> str:
    """Status of a phase that raised ``exc``."""
    return "OOM" if is_oom(exc) else f"failed: {short(exc)}"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def time_ms(fn, device: torch.device, spec: dict, grad_to_none=None, dry_reps: int = 5) -> float:
    """Median time of ``fn`` in ms: do_bench on the GPU, a short perf_counter loop (``dry_reps``
    calls) in dry runs."""
    if spec["mode"] == "dry":
        times = []
        for _ in range(dry_reps):
            for t in grad_to_none or ():
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


def profile_once(step, iters: int) -> tuple[list[tuple[str, float, int]], float]:
    """Run ``step`` ``iters`` times under ``torch.profiler`` (after 3 warm-up calls); return the CUDA kernels
    as ``(name, ms per iteration, launches per iteration)``, largest first, and their total ms per iteration."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            step()
        torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    events.sort(key=lambda e: -e.self_device_time_total)
    rows = [(e.key, e.self_device_time_total / iters / 1000, e.count // iters) for e in events]
    return rows, sum(r[1] for r in rows)


def copy_bandwidth(device: torch.device, copy_bytes: int, timer) -> tuple[float, float]:
    """``(ms, GB/s)`` of one device-to-device copy of ``copy_bytes`` bytes timed by ``timer(fn)`` (bytes read +
    written per second): the bandwidth floor the benchmarks compare with."""
    src = torch.empty(copy_bytes, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    dst.copy_(src)
    sync(device)
    ms = timer(lambda s=src, d=dst: d.copy_(s))
    del src, dst
    free(device)
    return ms, 2 * copy_bytes / (ms * 1e-3) / 1e9


def host_profile(step, iters: int, top: int) -> list[str]:
    """Where the host time of ``step`` goes: ``iters`` calls (after 3 warm-up calls) under ``cProfile``, the
    ``top`` functions by own time and the CUDA synchronisations counted; returns the lines to print.

    The wall time per call under cProfile is longer than without (every Python call is timed); the shares
    between the functions are what to read."""
    import cProfile
    import io
    import pstats
    import warnings

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    prof = cProfile.Profile()
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            prof.enable()
            for _ in range(iters):
                step()
            prof.disable()
            torch.cuda.synchronize()
            wall = (time.perf_counter() - t0) / iters * 1e3
    finally:
        torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message)[:100] for w in caught if "synchroniz" in str(w.message).lower()]
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(top)
    lines = [
        f"host profile: {wall:.2f} ms per call under cProfile, {len(syncs) / iters:.1f} CUDA syncs per call"
    ]
    lines += [f"  sync: {m}" for m in sorted(set(syncs))[:5]]
    body = buf.getvalue().splitlines()
    start = next((n for n, line in enumerate(body) if line.lstrip().startswith("ncalls")), 0)
    lines += ["  " + line for line in body[start:] if line.strip()]
    return lines


def graph_replay_ms(step) -> float:
    """Median ``do_bench`` time of ``step`` captured in a CUDA graph (warmed up on a side stream): its GPU time
    without the host."""
    import triton.testing

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return float(triton.testing.do_bench(graph.replay, return_mode="median"))


def run_child(spec: dict, mark: str, work) -> None:
    """Child side of ``spawn``: print ``work(spec)`` as the one result line behind ``mark``."""
    if spec["mode"] == "abort":  # exercises the crash path of the parent in --dry-run
        os.abort()
    print(mark + json.dumps(work(spec)), flush=True)


# ------------------------------------------------------------------------------------------ parent side
def version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def spawn(script: str, mark: str, spec: dict, timeout: float, timeout_fmt: str = "g") -> dict:
    """Run one child of ``script``; return its result dict, or a dict describing how it failed.

    ``timeout_fmt`` formats the seconds in the status of a child that ran out of time."""
    cmd = [sys.executable, str(Path(script).resolve()), "--child", json.dumps(spec)]
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
        status = f"timeout ({timeout:{timeout_fmt}} s)"
    except BaseException:  # Ctrl-C in the parent: take the child's process group down with it
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    lines = [ln[len(mark) :] for ln in stdout.splitlines() if ln.startswith(mark)]
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


def fmt_ms(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}" if x < 1000 else f"{x:.0f}"


def cell_status(status: str | None, limit: int) -> str:
    text = (status or "-").replace("|", "/")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cell(r: dict | None, limit: int) -> str:
    """``fwd / fwd+bwd`` ms of one result, or its status (cut to ``limit`` characters)."""
    if r is None:
        return "-"
    parts = []
    for phase in ("fwd", "fwdbwd"):
        st = r.get(f"{phase}_status")
        parts.append(fmt_ms(r[f"{phase}_ms"]) if st == "ok" else cell_status(st, limit))
    if parts[0] == parts[1] and r.get("fwd_status") != "ok":
        return parts[0]
    return " / ".join(parts)


def status_phases(st_f, st_b) -> list:
    """``[(phase label, status)]``: one entry for both phases where their statuses agree."""
    return [("fwd and fwd+bwd", st_f)] if st_f == st_b else [("fwd", st_f), ("fwd+bwd", st_b)]


def print_failures(r: dict, limit: int) -> None:
    """After a result's line: the failure statuses its cells cut short, and the child's last stderr line."""
    st_f, st_b = r.get("fwd_status") or "", r.get("fwdbwd_status") or ""
    for phase, st in status_phases(st_f, st_b):
        if st.startswith(("failed", "timeout")) and len(cell_status(st, limit)) < len(st):
            print(f"    {phase}: {st}", flush=True)
    if r.get("stderr_last_line"):
        print(f"    stderr: {r['stderr_last_line']}", flush=True)


def parse_subset(text: str | None, valid: list, what: str) -> list:
    if not text:
        return list(valid)
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in valid]
    if bad:
        raise SystemExit(f"unknown {what} {bad}; choose from {valid}")
    return items


def parser(doc: str, n_shapes: int, impls) -> argparse.ArgumentParser:
    """Parser with the options every benchmark takes first: --shapes, --impls, --quick."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shapes", help=f"comma-separated shape indices (0..{n_shapes - 1}); default all")
    p.add_argument("--impls", help=f"comma-separated subset of {','.join(impls)}; default all")
    p.add_argument("--quick", action="store_true", help="shorter do_bench windows (warm-up 25 ms, 100 ms)")
    return p


def add_run_args(p: argparse.ArgumentParser, name: str) -> None:
    """--out and --timeout, and the hidden --child (a child's spec) and --dry-run (CPU plumbing check)."""
    p.add_argument("--out", help=f"JSON results file (default: $OUT/{name}.json, else ./{name}.json)")
    p.add_argument("--timeout", type=float, default=240.0, help="seconds allowed per (implementation, shape)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)


def no_cuda(name: str, dry: bool) -> bool:
    """True (after saying so) where a real run finds no CUDA device; the caller then exits with 0."""
    if not dry and not torch.cuda.is_available():
        print(f"{name}: no CUDA device here (torch.cuda.is_available() is False); nothing to benchmark.")
        return True
    return False


def out_path(out: str | None, dry: bool, name: str) -> Path:
    """--out, else ``$TMPDIR/<name>_dry.json`` in a dry run, else ``$OUT/<name>.json``, else
    ``./<name>.json``."""
    if out:
        return Path(out)
    if dry:
        return Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}_dry.json"
    if os.environ.get("OUT"):
        return Path(os.environ["OUT"]) / f"{name}.json"
    return Path(f"{name}.json")


def write_json(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))
