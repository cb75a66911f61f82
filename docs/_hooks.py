"""MkDocs hook: show mkdocstrings (griffe) the package as it is installed.

``kernels/`` and ``datasets/`` are installed as ``xlstm_ts.kernels`` and ``xlstm_ts.datasets`` (a setuptools
package-dir mapping). Griffe cannot follow that mapping, neither in the checkout nor through the editable
install: it looks for ``xlstm_ts/kernels/``. Before each build this hook lays out
``build/docs-src/xlstm_ts/`` from symlinks: every entry of ``xlstm_ts/``, plus ``kernels`` -> ``kernels/``
and ``datasets`` -> ``datasets/``. ``mkdocs.yml`` points mkdocstrings there. Because the entries are
symlinks, ``mkdocs serve`` sees source edits as they happen.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "docs-src"
#: Subpackage of xlstm_ts -> its directory in the repository (pyproject.toml [tool.setuptools.package-dir]).
MAPPED = {"kernels": "kernels", "datasets": "datasets"}


def stage_package() -> Path:
    """(Re)create ``build/docs-src/xlstm_ts`` and return ``build/docs-src``."""
    if STAGE.exists():
        shutil.rmtree(STAGE)  # removes the symlinks, never what they point to
    package = STAGE / "xlstm_ts"
    package.mkdir(parents=True)
    for entry in sorted((ROOT / "xlstm_ts").iterdir()):
        if entry.name != "__pycache__" and entry.name not in MAPPED:
            (package / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for name, source in MAPPED.items():
        if (ROOT / source).is_dir():
            (package / name).symlink_to(ROOT / source, target_is_directory=True)
    return STAGE


def on_startup(command: str, dirty: bool) -> None:
    stage_package()
