"""Layering rules (docs/index.md, 'Package layout'), checked by reading every import with ``ast``.

Imports point down only: estimators (``forecasting``, ``tuning``, ``pipeline``, ``cli``) -> data
(``data``, ``datasets``) -> backbone (``nn``) -> kernels.  On top of that:

* ``kernels/`` (``xlstm_ts.kernels``) imports nothing from the rest of the project: no absolute
  ``xlstm_ts...`` import (use relative imports inside ``kernels/``), no relative import that leaves
  ``kernels/``; no pandas, Lightning or scikit-learn; and it defines no ``torch.nn`` module subclass.
* ``xlstm_ts/nn/`` never imports Triton or a ``_triton`` module (kernels are reached through the
  registry), nor the data or estimator layers, pandas, Lightning, scikit-learn or Optuna.
* Nothing imports the top-level names ``kernels`` / ``datasets``: installed, they exist only as
  ``xlstm_ts.kernels`` / ``xlstm_ts.datasets``; nor ``benchmarks``, ``examples`` or ``tests``.

Every import counts, also those inside functions and ``if TYPE_CHECKING:`` blocks, and
``importlib.import_module("...")`` / ``__import__("...")`` calls with a literal name.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Source directory -> the package it installs as (pyproject.toml [tool.setuptools.package-dir]).
SOURCE_ROOTS = {"xlstm_ts": "xlstm_ts", "kernels": "xlstm_ts.kernels", "datasets": "xlstm_ts.datasets"}

#: Layer of each subpackage; an import may only point to the same or a lower layer.
LAYERS = {
    "xlstm_ts.kernels": 0,
    "xlstm_ts.nn": 1,
    "xlstm_ts.data": 2,
    "xlstm_ts.datasets": 2,
    "xlstm_ts.forecasting": 3,
    "xlstm_ts.tuning": 3,
    "xlstm_ts.pipeline": 3,
    "xlstm_ts.cli": 4,
}
LAYER_NAMES = {0: "kernels", 1: "backbone (nn)", 2: "data", 3: "estimators", 4: "cli"}

LIGHTNING = ("lightning", "pytorch_lightning", "lightning_fabric")
KERNELS_FORBIDDEN_THIRD_PARTY = ("pandas", "sklearn", *LIGHTNING)
NN_FORBIDDEN_THIRD_PARTY = ("pandas", "sklearn", "optuna", "triton", *LIGHTNING)


@dataclass(frozen=True)
class Import:
    target: str  # absolute dotted name of the imported module (or module.name for `from m import name`)
    lineno: int
    text: str  # how it reads in the source


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, repo: Path = REPO) -> tuple[str, bool]:
    """Installed dotted name of a source file and whether it is a package ``__init__``."""
    rel = path.relative_to(repo)
    base = SOURCE_ROOTS[rel.parts[0]]
    parts = [*base.split("."), *rel.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def collect_imports(source: str, module: str, is_package: bool) -> tuple[list[Import], list[str]]:
    """All imports of ``source`` with relative ones resolved; plus errors (relative imports past the top)."""
    tree = ast.parse(source)
    package = module if is_package else module.rpartition(".")[0]
    imports: list[Import] = []
    errors: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imports.append(Import(alias.name, node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom):
            names = ", ".join(a.name for a in node.names)
            text = f"from {'.' * node.level}{node.module or ''} import {names}"
            if node.level:
                base_parts = package.split(".")
                if node.level - 1 >= len(base_parts):
                    errors.append(f"line {node.lineno}: `{text}` climbs above the top-level package")
                    continue
                base = ".".join(base_parts[: len(base_parts) - (node.level - 1)])
                source_mod = f"{base}.{node.module}" if node.module else base
            else:
                source_mod = node.module or ""
            imports.append(Import(source_mod, node.lineno, text))
            # `from pkg import sub` may import the submodule pkg.sub: check that name too.
            for alias in node.names:
                if alias.name != "*":
                    imports.append(Import(f"{source_mod}.{alias.name}", node.lineno, text))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            arg = node.args[0]
            if (
                fname in ("import_module", "__import__")
                and isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
            ):
                target = arg.value
                if target.startswith(".") and len(node.args) > 1:
                    continue  # import_module(".x", package=...) with a computed package: not resolved
                imports.append(Import(target, node.lineno, f"{fname}({target!r})"))
    return imports, errors


def torch_nn_subclasses(source: str) -> list[str]:
    """Classes of ``source`` that subclass something from ``torch.nn`` (``nn.Module``, ``nn.Linear``...)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> dotted name
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    aliases[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def dotted(expr: ast.expr) -> str | None:
        if isinstance(expr, ast.Name):
            return aliases.get(expr.id, expr.id)
        if isinstance(expr, ast.Attribute):
            head = dotted(expr.value)
            return f"{head}.{expr.attr}" if head else None
        if isinstance(expr, ast.Subscript):  # Generic[...] and friends
            return dotted(expr.value)
        return None

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = dotted(base)
                if name and _within(name, "torch.nn") and not _within(name, "torch.nn.functional"):
                    found.append(f"line {node.lineno}: class {node.name}({ast.unparse(base)})")
    return found


def _layer_of(name: str) -> int | None:
    for prefix, layer in LAYERS.items():
        if _within(name, prefix):
            return layer
    return None


def check_source(source: str, module: str, is_package: bool = False) -> list[str]:
    """Layering violations of one source file (empty when it follows the rules)."""
    imports, problems = collect_imports(source, module, is_package)
    own_layer = _layer_of(module)
    in_kernels = _within(module, "xlstm_ts.kernels")
    in_nn = _within(module, "xlstm_ts.nn")
    seen: set[tuple[int, str]] = set()

    def report(imp: Import, why: str) -> None:
        if (imp.lineno, why) not in seen:
            seen.add((imp.lineno, why))
            problems.append(f"line {imp.lineno}: `{imp.text}` -- {why}")

    for imp in imports:
        target = imp.target
        top = target.split(".")[0]
        is_relative = imp.text.startswith("from .")
        if top in ("kernels", "datasets") and not is_relative:
            report(imp, f"no top-level `{top}` package is installed; import `xlstm_ts.{top}` instead")
        if top in ("benchmarks", "examples", "tests") and not is_relative:
            report(imp, f"the package never imports {top}/ (it is not installed)")
        if in_kernels:
            if _within(target, "xlstm_ts") and not is_relative:
                report(imp, "kernels/ must not import from xlstm_ts (use relative imports inside kernels/)")
            elif is_relative and not _within(target, "xlstm_ts.kernels"):
                report(
                    imp, "relative import leaves kernels/; kernels must not depend on the rest of xlstm_ts"
                )
            if top in KERNELS_FORBIDDEN_THIRD_PARTY:
                report(imp, f"kernels/ must not import {top}")
        if in_nn:
            if top in NN_FORBIDDEN_THIRD_PARTY:
                report(imp, f"xlstm_ts/nn must not import {top}")
            if "_triton" in target.split("."):
                report(
                    imp, "xlstm_ts/nn must reach Triton kernels through the registry, not a _triton module"
                )
        target_layer = _layer_of(target)
        if (
            own_layer is not None
            and target_layer is not None
            and target_layer > own_layer
            and not (in_kernels and not is_relative)  # already reported above
        ):
            report(
                imp,
                f"{LAYER_NAMES[own_layer]} layer must not import the higher {LAYER_NAMES[target_layer]} layer",
            )
    if in_kernels:
        problems += [f"{c} -- kernels/ defines no torch.nn modules" for c in torch_nn_subclasses(source)]
    return problems


def source_files(repo: Path = REPO) -> list[Path]:
    files = []
    for root in SOURCE_ROOTS:
        files += sorted((repo / root).rglob("*.py"))
    return files


def find_violations(repo: Path = REPO) -> list[str]:
    """``"<file>: line N: `<import>` -- <rule>"`` for every broken rule under ``repo``."""
    failures = []
    for path in source_files(repo):
        module, is_package = module_name(path, repo)
        for problem in check_source(path.read_text(encoding="utf-8"), module, is_package):
            failures.append(f"{path.relative_to(repo).as_posix()}: {problem}")
    return failures


# -------------------------------------------------------------------------------------------------- tests
def test_source_roots_hold_python_files():
    for root in ("xlstm_ts", "kernels"):
        assert list((REPO / root).rglob("*.py")), (
            f"no .py files under {root}/: the layering test checks nothing"
        )


def test_module_names_follow_the_package_dir_mapping():
    assert module_name(REPO / "kernels" / "mlstm" / "native.py") == ("xlstm_ts.kernels.mlstm.native", False)
    assert module_name(REPO / "kernels" / "__init__.py") == ("xlstm_ts.kernels", True)
    assert module_name(REPO / "datasets" / "__init__.py") == ("xlstm_ts.datasets", True)
    assert module_name(REPO / "xlstm_ts" / "nn" / "configs.py") == ("xlstm_ts.nn.configs", False)


def test_layering_rules_hold_for_every_source_file():
    failures = find_violations()
    assert not failures, "layering rules broken (docs/index.md, 'Package layout'):\n  " + "\n  ".join(
        failures
    )


# ----------------------------------------------------------------- self-check: the checker catches breakage
BAD_SOURCES = [
    # (module, is_package, source, expected fragment of the message)
    (
        "xlstm_ts.kernels.mlstm.native",
        False,
        "from xlstm_ts.nn import configs\n",
        "must not import from xlstm_ts",
    ),
    (
        "xlstm_ts.kernels.mlstm.native",
        False,
        "import xlstm_ts.kernels._registry\n",
        "must not import from xlstm",
    ),
    (
        "xlstm_ts.kernels.mlstm.native",
        False,
        "from ...nn.configs import X\n",
        "relative import leaves kernels/",
    ),
    ("xlstm_ts.kernels", True, "from .. import nn\n", "relative import leaves kernels/"),
    ("xlstm_ts.kernels.mlstm.native", False, "from .... import x\n", "climbs above the top-level package"),
    ("xlstm_ts.kernels._registry", False, "import pandas as pd\n", "must not import pandas"),
    ("xlstm_ts.kernels._registry", False, "def f():\n    import lightning.pytorch as pl\n", "lightning"),
    ("xlstm_ts.kernels._registry", False, "from sklearn.base import BaseEstimator\n", "sklearn"),
    (
        "xlstm_ts.kernels.x",
        False,
        "from torch import nn\nclass A(nn.Module):\n    pass\n",
        "no torch.nn modules",
    ),
    (
        "xlstm_ts.kernels.x",
        False,
        "import torch\nclass A(torch.nn.Linear):\n    pass\n",
        "no torch.nn modules",
    ),
    (
        "xlstm_ts.kernels.x",
        False,
        "from torch.nn import Module as M\nclass A(M): ...\n",
        "no torch.nn modules",
    ),
    ("xlstm_ts.nn.mlstm.layer", False, "import triton\n", "must not import triton"),
    ("xlstm_ts.nn.mlstm.layer", False, "import triton.language as tl\n", "must not import triton"),
    (
        "xlstm_ts.nn.mlstm.layer",
        False,
        "from ...kernels.mlstm._triton.fwd import k\n",
        "through the registry",
    ),
    (
        "xlstm_ts.nn.mlstm.layer",
        False,
        "from xlstm_ts.kernels.mlstm import _triton\n",
        "through the registry",
    ),
    (
        "xlstm_ts.nn.block_stack",
        False,
        "from ..forecasting import xLSTMForecaster\n",
        "higher estimators layer",
    ),
    ("xlstm_ts.nn.block_stack", False, "from xlstm_ts.tuning.search import s\n", "higher estimators layer"),
    ("xlstm_ts.nn.block_stack", False, "from xlstm_ts.pipeline import p\n", "higher estimators layer"),
    ("xlstm_ts.nn.block_stack", False, "from xlstm_ts import data\n", "higher data layer"),
    ("xlstm_ts.nn.block_stack", False, "from .. import datasets\n", "higher data layer"),
    ("xlstm_ts.nn.block_stack", False, "import pandas\n", "must not import pandas"),
    (
        "xlstm_ts.nn.block_stack",
        False,
        "import pytorch_lightning as pl\n",
        "must not import pytorch_lightning",
    ),
    (
        "xlstm_ts.nn.block_stack",
        False,
        "import importlib\nimportlib.import_module('lightning')\n",
        "lightning",
    ),
    ("xlstm_ts.data.windowing", False, "from xlstm_ts.forecasting import f\n", "higher estimators layer"),
    ("xlstm_ts.datasets", True, "from ..tuning import spaces\n", "higher estimators layer"),
    ("xlstm_ts.forecasting.forecaster", False, "import kernels\n", "no top-level `kernels` package"),
    ("xlstm_ts.data.datamodule", False, "from datasets import load\n", "no top-level `datasets` package"),
    (
        "xlstm_ts.nn.block_stack",
        False,
        "from benchmarks.backbone_cpu import run\n",
        "never imports benchmarks/",
    ),
]

GOOD_SOURCES = [
    (
        "xlstm_ts.kernels.mlstm.native",
        False,
        "import torch\nimport torch.nn.functional as F\nfrom ..states import mLSTMState\n"
        "from .._registry import register_kernel\nclass F2(torch.autograd.Function):\n    pass\n",
    ),
    ("xlstm_ts.kernels", True, "from . import mlstm\nfrom ._registry import get_kernel\n"),
    ("xlstm_ts.kernels.mlstm._triton.fwd", False, "import triton\nimport triton.language as tl\n"),
    (
        "xlstm_ts.nn.mlstm.layer",
        False,
        "from torch import nn\nfrom ...kernels import mlstm_sequence\nfrom ..components import LayerNorm\n"
        "from xlstm_ts.kernels import get_kernel\nclass L(nn.Module):\n    pass\n",
    ),
    ("xlstm_ts.nn", True, "from .configs import mLSTMBlockConfig\nfrom .._version import __version__\n"),
    (
        "xlstm_ts.forecasting.forecaster",
        False,
        "import pandas\nimport lightning\nfrom ..nn import xLSTMBlockStack\n",
    ),
    ("xlstm_ts", True, "from .forecasting import xLSTMForecaster\nfrom .nn import xLSTMBlockStack\n"),
]


@pytest.mark.parametrize(
    ("module", "is_package", "source", "expected"),
    BAD_SOURCES,
    ids=[f"{m}:{s.strip().splitlines()[-1][:40]}" for m, _, s, _ in BAD_SOURCES],
)
def test_checker_catches_violation(module, is_package, source, expected):
    problems = check_source(source, module, is_package)
    assert problems, f"checker missed a violation in {module}:\n{source}"
    assert any(expected in p for p in problems), f"expected {expected!r} among {problems}"


@pytest.mark.parametrize(
    ("module", "is_package", "source"), GOOD_SOURCES, ids=[m for m, _, _ in GOOD_SOURCES]
)
def test_checker_accepts_allowed_imports(module, is_package, source):
    assert check_source(source, module, is_package) == []


def test_failure_message_names_file_and_import(tmp_path):
    (tmp_path / "kernels" / "mlstm").mkdir(parents=True)
    (tmp_path / "kernels" / "mlstm" / "bad.py").write_text(
        "import torch\nfrom xlstm_ts.nn.configs import X\n"
    )
    (tmp_path / "xlstm_ts" / "nn").mkdir(parents=True)
    (tmp_path / "xlstm_ts" / "nn" / "ok.py").write_text("from ..kernels import mlstm_sequence\n")
    assert find_violations(tmp_path) == [
        "kernels/mlstm/bad.py: line 2: `from xlstm_ts.nn.configs import X` -- kernels/ must not import from "
        "xlstm_ts (use relative imports inside kernels/)"
    ]


# ------------------------------------------------- no reading of other objects' private attributes
#: Modules whose code may touch private attributes only of ``self`` / ``cls``: helpers go through the documented
#: estimator protocol, never through another object's private state.
PRIVATE_ACCESS_ROOTS = ("xlstm_ts.forecasting", "xlstm_ts.tuning", "xlstm_ts.pipeline", "xlstm_ts.cli")


def private_accesses(source: str) -> list[str]:
    """``obj._name`` accesses of ``source`` where ``obj`` is not ``self``, ``cls``, ``cls()`` or ``super()``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if (
            isinstance(owner, ast.Call)
            and isinstance(owner.func, ast.Name)
            and owner.func.id in ("super", "cls")
        ):
            continue  # super()._x, and cls()._x on a fresh instance of the class itself
        found.append(f"line {node.lineno}: `{ast.unparse(node)}`")
    return found


def test_estimator_modules_do_not_read_other_objects_private_attributes():
    failures = []
    for path in source_files():
        module, _ = module_name(path)
        if any(_within(module, root) for root in PRIVATE_ACCESS_ROOTS):
            failures += [
                f"{path.relative_to(REPO).as_posix()}: {p}" for p in private_accesses(path.read_text())
            ]
    assert not failures, (
        "private attributes of other objects read (use the documented protocol):\n  " + "\n  ".join(failures)
    )


def test_private_access_checker_catches_and_allows():
    assert private_accesses("def f(est):\n    return est._columns()\n") == ["line 2: `est._columns`"]
    assert private_accesses("x = model.network_._hidden\n") == ["line 1: `model.network_._hidden`"]
    ok = "class A:\n    def f(self):\n        return self._x + super()._y + type(self).__name__\n"
    assert private_accesses(ok) == []
