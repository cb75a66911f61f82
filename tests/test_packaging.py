"""Packaging: the wheel and the editable install expose ``xlstm_ts.kernels`` / ``xlstm_ts.datasets``.

``kernels/`` and ``datasets/`` sit at the top of the repository but install inside the package namespace
(``[tool.setuptools.package-dir]`` in pyproject.toml).  setuptools' automatic discovery does not follow
that mapping, so every subpackage is listed by hand in ``[tool.setuptools] packages``; these tests build
a real wheel and fail, naming the missing entry, when one is forgotten.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import shutil
import subprocess
import sys
import urllib.parse
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Source directory -> installed package (pyproject.toml [tool.setuptools.package-dir]).
SOURCE_ROOTS = {"xlstm_ts": "xlstm_ts", "kernels": "xlstm_ts.kernels", "datasets": "xlstm_ts.datasets"}
REQUIRED_PACKAGES = (
    "xlstm_ts",
    "xlstm_ts.nn",
    "xlstm_ts.data",
    "xlstm_ts.forecasting",
    "xlstm_ts.kernels",
    "xlstm_ts.kernels._triton",
    "xlstm_ts.kernels.mlstm",
    "xlstm_ts.kernels.mlstm._triton",
    "xlstm_ts.kernels.slstm",
    "xlstm_ts.kernels.slstm._triton",
    "xlstm_ts.datasets",
)
REQUIRED_DATA = ("xlstm_ts/py.typed", "xlstm_ts/_version.py", "xlstm_ts/kernels/README.md")
#: What the build needs from the checkout; copied so that the build leaves no build/ or *.egg-info behind.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", *SOURCE_ROOTS)
SKIP_IN_COPY = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")

# Run in a child interpreter started with -I (no cwd, no PYTHONPATH, no user site on sys.path). argv[1] is
# a directory to put first on sys.path (or ""), argv[2] the repository; argv[3] == "strip" removes this
# project's editable-install hooks and the repository from sys.path, so that only argv[1] can provide it.
_PROBE = r"""
import importlib, importlib.util, json, sys
from pathlib import Path

first, repo, mode = sys.argv[1], Path(sys.argv[2]).resolve(), sys.argv[3]
if mode == "strip":
    def _ours(obj):
        return str(getattr(obj, "__module__", "") or "").startswith("__editable__")
    sys.meta_path[:] = [f for f in sys.meta_path if not _ours(f)]
    sys.path_hooks[:] = [h for h in sys.path_hooks if not _ours(h)]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p and Path(p or ".").resolve() != repo]
    sys.path_importer_cache.clear()
if first:
    sys.path.insert(0, first)
out = {"modules": {}, "top_level": {}}
for name in json.loads(sys.argv[4]):
    out["modules"][name] = importlib.import_module(name).__file__
for name in ("kernels", "datasets"):
    spec = importlib.util.find_spec(name)
    out["top_level"][name] = None if spec is None else str(spec.origin or spec.submodule_search_locations)
out["version"] = importlib.import_module("xlstm_ts").__version__
out["repo_on_path"] = [p for p in sys.path if Path(p or ".").resolve() == repo]
print(json.dumps(out))
"""


def _probe(first: Path | str, *, cwd: Path, strip: bool, modules=REQUIRED_PACKAGES, isolated=True) -> dict:
    cmd = [sys.executable, *(["-I"] if isolated else []), "-c", _PROBE]
    cmd += [str(first), str(REPO), "strip" if strip else "keep", json.dumps(list(modules))]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"import probe failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _is_under(path: str | None, root: Path) -> bool:
    return path is not None and Path(path).resolve().is_relative_to(root.resolve())


def _source_version() -> str:
    tree = ast.parse((REPO / "xlstm_ts" / "_version.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "__version__" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError("xlstm_ts/_version.py defines no __version__ = '...'")


def _source_packages() -> dict[str, str]:
    """Installed package name -> wheel path of its ``__init__.py``, for every package in the source tree."""
    packages = {}
    for root, base in SOURCE_ROOTS.items():
        for init in sorted((REPO / root).rglob("__init__.py")):
            rel = init.parent.relative_to(REPO / root).parts
            name = ".".join([base, *rel])
            packages[name] = "/".join([*base.split("."), *rel, "__init__.py"])
    return packages


def _source_files() -> dict[str, str]:
    """Repository path -> wheel path of every .py file that belongs in the wheel."""
    files = {}
    for root, base in SOURCE_ROOTS.items():
        for path in sorted((REPO / root).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(REPO / root).parts
            files[path.relative_to(REPO).as_posix()] = "/".join([*base.split("."), *rel])
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout, offline (no build isolation)."""
    try:
        setuptools_version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        setuptools_version = "0"
    if int(setuptools_version.split(".")[0]) < 77:
        pytest.fail(
            f"setuptools>=77 is needed to build the wheel offline, found {setuptools_version}: "
            "pip install -e '.[dev]'"
        )
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=SKIP_IN_COPY)
        else:
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("wheelhouse")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        str(src),
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"wheel build failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = sorted(out.glob("xlstm_ts-*.whl"))
    assert len(wheels) == 1, f"expected one xlstm_ts wheel, got {[w.name for w in out.iterdir()]}"
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(wheel) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@pytest.fixture(scope="module")
def wheel_metadata(wheel, wheel_names) -> dict[str, str]:
    (meta,) = [n for n in wheel_names if n.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read(meta).decode()
    header = text.split("\n\n", 1)[0]
    fields: dict[str, str] = {}
    for line in header.splitlines():
        key, _, value = line.partition(": ")
        fields.setdefault(key, value)
    return fields


@pytest.fixture(scope="module")
def unpacked_wheel(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


# ---------------------------------------------------------------------------------------------- the wheel
def test_wheel_contains_every_required_package_and_data_file(wheel_names):
    names = set(wheel_names)
    missing = [f"{p.replace('.', '/')}/__init__.py" for p in REQUIRED_PACKAGES]
    missing = [n for n in [*missing, *REQUIRED_DATA] if n not in names]
    assert not missing, f"the wheel lacks {missing}; check [tool.setuptools] packages / package-data"


def test_wheel_contains_every_source_package_and_module(wheel_names):
    names = set(wheel_names)
    packages = [pkg for pkg, init in _source_packages().items() if init not in names]
    assert not packages, (
        f"subpackages missing from the wheel: {packages}. setuptools does not discover packages under a "
        "package-dir mapping: add them to [tool.setuptools] packages in pyproject.toml"
    )
    modules = [src for src, dst in _source_files().items() if dst not in names]
    assert not modules, f"source files missing from the wheel: {modules}"


def test_wheel_has_no_top_level_kernels_or_datasets(wheel_names, wheel_metadata):
    dist_info = f"xlstm_ts-{wheel_metadata['Version']}.dist-info"
    tops = sorted({n.split("/")[0] for n in wheel_names} - {"xlstm_ts", dist_info})
    assert not tops, f"unexpected top-level entries in the wheel (only xlstm_ts/ belongs there): {tops}"


def test_wheel_metadata(wheel, wheel_metadata):
    assert wheel_metadata["Name"] == "xlstm-ts"
    assert wheel_metadata["Version"] == _source_version(), "wheel version != xlstm_ts/_version.py"
    assert wheel.name.startswith(f"xlstm_ts-{_source_version()}-")
    assert wheel_metadata.get("License-Expression") == "Apache-2.0"


def test_wheel_imports_without_the_checkout(unpacked_wheel, wheel_metadata, tmp_path):
    result = _probe(unpacked_wheel, cwd=tmp_path, strip=True)
    assert not result["repo_on_path"], f"the checkout is still importable: {result['repo_on_path']}"
    for name, file in result["modules"].items():
        assert _is_under(file, unpacked_wheel), f"{name} was imported from {file}, not from the wheel"
    for name, origin in result["top_level"].items():
        assert not _is_under(origin, unpacked_wheel), f"the wheel installs a top-level `{name}`: {origin}"
        assert not _is_under(origin, REPO), f"`import {name}` resolves into the checkout: {origin}"
    assert result["version"] == wheel_metadata["Version"], "xlstm_ts.__version__ != wheel metadata version"


# ------------------------------------------------------------------------------------ the editable install
def _editable_dist_of_this_checkout() -> importlib.metadata.Distribution | None:
    """The installed xlstm-ts distribution that is an editable install of this checkout, if any."""
    # A stray xlstm_ts.egg-info in the cwd also answers to the name: look at every match.
    for dist in importlib.metadata.distributions(name="xlstm-ts"):
        direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
        url = urllib.parse.urlparse(direct_url.get("url", ""))
        editable = direct_url.get("dir_info", {}).get("editable", False)
        if editable and url.scheme == "file" and Path(urllib.parse.unquote(url.path)).resolve() == REPO:
            return dist
    return None


needs_editable = pytest.mark.skipif(
    _editable_dist_of_this_checkout() is None,
    reason="xlstm-ts is not installed in editable mode from this checkout (pip install -e .)",
)


def _expected_editable_file(name: str) -> Path:
    """Where an editable install must find package ``name``: ``xlstm_ts.kernels.mlstm`` -> kernels/mlstm."""
    for root, base in sorted(SOURCE_ROOTS.items(), key=lambda kv: -len(kv[1])):
        if name == base or name.startswith(base + "."):
            rel = name[len(base) :].lstrip(".").split(".") if name != base else []
            return REPO.joinpath(root, *rel, "__init__.py")
    raise AssertionError(f"{name} is not under {sorted(SOURCE_ROOTS.values())}")


@needs_editable
def test_editable_install_exposes_the_same_modules(tmp_path):
    result = _probe("", cwd=tmp_path, strip=False)
    for name, file in result["modules"].items():
        expected = _expected_editable_file(name)
        assert Path(file).resolve() == expected.resolve(), f"{name} imported from {file}, expected {expected}"
    for name, origin in result["top_level"].items():
        assert not _is_under(origin, REPO), f"`import {name}` resolves into the checkout: {origin}"
    assert result["version"] == _source_version()
    assert _editable_dist_of_this_checkout().version == _source_version(), (
        "installed metadata version differs from xlstm_ts/_version.py: reinstall with pip install -e ."
    )


@needs_editable
def test_editable_install_works_from_the_repository_root():
    # `python` started in the checkout finds xlstm_ts/ through the cwd; the subpackages mapped from
    # kernels/ and datasets/ must still resolve to the same files.
    result = _probe("", cwd=REPO, strip=False, isolated=False)
    for name, file in result["modules"].items():
        expected = _expected_editable_file(name)
        assert Path(file).resolve() == expected.resolve(), f"{name} imported from {file}, expected {expected}"
