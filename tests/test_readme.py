"""README.md says true things: its Python snippets run, its links and paths exist, its commands and options
are the real ones.

The snippets run in order in one Python process (later ones use names defined earlier, as a reader
running them one after another would), in a temporary working directory, so that files they write (the
saved model) land there.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def test_readme_has_python_snippets():
    assert len(_blocks("python")) >= 3


def test_python_snippets_run(tmp_path):
    pytest.importorskip("xlstm", reason="the reference-checkpoint snippet needs the reference package")
    blocks = _blocks("python")
    runner = (
        "import sys\n"
        "blocks = sys.argv[1:]\n"
        "namespace = {'__name__': '__main__'}\n"
        "for i, code in enumerate(blocks, 1):\n"
        "    print(f'--- snippet {i} of {len(blocks)}', flush=True)\n"
        "    exec(compile(code, f'README.md python snippet {i}', 'exec'), namespace)\n"
    )
    env = dict(os.environ, MPLBACKEND="Agg")
    env.setdefault("OMP_NUM_THREADS", "1")  # small models; see tests/test_examples.py
    done = subprocess.run(
        [sys.executable, "-c", runner, *blocks],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "airline_model" / "model.safetensors").is_file()  # what the forecasting snippet says


def test_links_and_paths_exist():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith(("http://", "https://")):
            assert (REPO / target).exists(), target
    for path in re.findall(r"^\| `([^`]+)` \|", README, re.M):  # the layout table
        assert (REPO / path).exists(), path
    for path in ("kernels/README.md", "tests/conftest.py", "tests/test_layering.py", "LICENSE"):
        assert path in README and (REPO / path).exists(), path


def test_every_docs_page_in_the_site_is_listed():
    nav = re.findall(r"^\s+- [^:]+: (\S+\.md)$", (REPO / "mkdocs.yml").read_text(), re.M)
    assert nav
    for page in nav:
        assert f"(docs/{page})" in README, page


def test_extras_and_command_are_the_declared_ones():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"])
    named = set(re.findall(r"`(\w+)`\s+\(", README.split("The extras are")[1].split("\n\n")[0]))
    assert named == extras, (named, extras)
    assert project["scripts"] == {"xlstm-ts": "xlstm_ts.cli:main"}


def test_command_line_options_in_the_readme_exist(capsys):
    from xlstm_ts.cli import main

    with pytest.raises(SystemExit):
        main(["forecast", "--help"])
    options = set(re.findall(r"(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    section = README.split("## The command line")[1].split("\n## ")[0]
    mentioned = set(re.findall(r"(--[a-z][a-z-]+)", section))
    assert mentioned <= options, mentioned - options
    assert options <= mentioned, options - mentioned  # every option is documented


def test_install_commands():
    shell = "\n".join(_blocks("bash"))
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in shell
    assert 'pip install -e ".[dev]"' in shell
    assert "xlstm-ts forecast" in shell and "python -m pytest" in shell
