"""Every script in ``examples/`` runs to completion (exit code 0) in a subprocess.

The scripts run with ``XLSTM_TS_EXAMPLE_FAST=1`` (each one then shrinks its model and training; the
output is rough but every code path runs) and, unless the caller set it, ``OMP_NUM_THREADS=1``: the
models are too small to gain from intra-op threads, and on a 2-core machine shared with another busy
process two torch threads contend badly (measured: ``examples/01_backbone.py`` took 93 s with the
default 2 threads next to a busy process, 23 s with one thread).  ``01_backbone.py`` has no fast mode,
hence its longer timeout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("*.py"))
#: Seconds per script; scripts without a fast mode get more.
TIMEOUT = {"01_backbone.py": 300}
DEFAULT_TIMEOUT = 120


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {
        "02_quickstart.py",
        "03_covariates.py",
        "04_quantiles.py",
        "05_save_load.py",
        "06_tuning.py",
        "07_pipeline.py",
        "08_lightning_module.py",
        "09_char_lm.py",
    } <= names


#: Scripts that take more than ~30 s on a 2-core CPU with XLSTM_TS_EXAMPLE_FAST=1 (measured 6-22 s each; none).
SLOW: set[str] = set()


@pytest.mark.parametrize(
    "script",
    [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in EXAMPLES],
)
def test_example_runs(script: Path, tmp_path: Path):
    env = dict(os.environ, XLSTM_TS_EXAMPLE_FAST="1", MPLBACKEND="Agg", TMPDIR=str(tmp_path))
    env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # examples must not depend on the working directory or write into the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT.get(script.name, DEFAULT_TIMEOUT),
    )
    assert proc.returncode == 0, (
        f"{script.name} exited with {proc.returncode}\n--- stdout ---\n{proc.stdout[-4000:]}\n"
        f"--- stderr ---\n{proc.stderr[-4000:]}"
    )
    assert proc.stdout.strip(), f"{script.name} printed nothing"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_has_a_module_docstring(script: Path):
    import ast

    doc = ast.get_docstring(ast.parse(script.read_text()))
    assert doc and "python examples/" in doc, f"{script.name} needs a module docstring saying how to run it"
