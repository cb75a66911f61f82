"""The benchmark scripts keep working: every script answers ``--help``, and the two GPU kernel benchmarks
run their CPU ``--dry-run`` (the child-process plumbing, the tables and the JSON) end to end.

The timings themselves are never checked here (benchmarks print measured numbers; tests do not time).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def _run(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script):
    proc = _run([str(BENCHMARKS / script), "--help"], timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


@pytest.mark.slow  # measured on the 2-core CPU: 70-120 s each for every shape, about a third for one
@pytest.mark.parametrize(
    "script,working",
    [
        ("kernels_mlstm.py", {"ours_native", "sdpa"}),
        ("kernels_slstm.py", {"ours_layer", "cudnn_lstm"}),
    ],
)
def test_gpu_benchmark_dry_run(script, working, tmp_path):
    """The whole harness end to end on the CPU (children, statuses, tables, JSON), at the first dry-run shape:
    every implementation runs there or reports why not; the other shapes take the same path."""
    out = tmp_path / "result.json"
    proc = _run([str(BENCHMARKS / script), "--dry-run", "--shapes", "0", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "fwd / fwd+bwd" in proc.stdout
    results = json.loads(out.read_text())["results"]
    ok = {r["impl"] for r in results if r.get("fwd_status") == "ok" and r.get("fwdbwd_status") == "ok"}
    assert working <= ok, f"expected {working} to run on the CPU, got {ok}"
    for r in results:
        if r.get("fwd_status") == "ok":
            assert r["fwd_ms"] > 0 and r["fwdbwd_ms"] > 0


def test_lm_generate_small_runs_on_cpu(tmp_path):
    """The xLSTM Large generation benchmark's CPU smoke run (~10 s): both implementations, every test."""
    pytest.importorskip("transformers", reason="transformers (the benchmark's peer) is not installed")
    out = tmp_path / "lm.json"
    proc = _run([str(BENCHMARKS / "lm_generate.py"), "--small", "--out", str(out)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(out.read_text())["results"]
    got = {(r["impl"], r["test"]) for r in rows}
    assert {("ours", "prefill"), ("ours", "decode")} <= got
    assert all(r["tokens_per_s"] > 0 for r in rows)
