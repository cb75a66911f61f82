"""Shared pytest configuration: the ``gpu`` marker and the package's doctests.

``gpu``
    Tests marked ``@pytest.mark.gpu`` are skipped, with the reason shown by ``-ra``, when
    ``torch.cuda.is_available()`` is false.

Doctests
    The docstring examples of every module of the *installed* ``xlstm_ts`` package, ``xlstm_ts.kernels``
    and ``xlstm_ts.datasets`` included, are collected as tests named ``doctest[<object>]`` (marker
    ``doctest``: ``pytest -m doctest`` runs only them).  They are imported by their real names; pytest's own
    ``--doctest-modules`` would import ``kernels/`` and ``datasets/`` a second time as top-level ``kernels``
    and ``datasets`` modules (a second kernel registry, and a clash with the PyPI packages of those
    names), and would import ``benchmarks/`` and ``examples/`` scripts when given the repository root.
    Modules under a ``_triton`` package are skipped when Triton is not installed.

Triton interpreter
    Without a CUDA device, ``TRITON_INTERPRET=1`` is set here, before anything imports Triton (Triton
    reads it when a kernel is decorated), so the Triton kernels run on the CPU in the tests.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest


def _set_triton_interpreter() -> None:
    import os

    import torch

    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")


_set_triton_interpreter()
_THIS_FILE = Path(__file__).resolve()
#: Packages whose modules are searched for doctests. ``xlstm_ts.kernels`` and ``xlstm_ts.datasets`` are
#: listed on their own: in an editable install they live outside ``xlstm_ts.__path__``.
DOCTEST_ROOTS = ("xlstm_ts", "xlstm_ts.kernels", "xlstm_ts.datasets")
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


# ---------------------------------------------------------------------------------------------- gpu marker
def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _cuda_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA GPU: torch.cuda.is_available() is False here")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip_gpu)


# ------------------------------------------------------------------------------------------------ doctests
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    # The package doctests hang off this file, so `pytest tests` (or plain `pytest`) runs them and
    # `pytest tests/test_x.py` does not.
    if file_path.resolve() == _THIS_FILE:
        return PackageDoctests.from_parent(parent, path=file_path)
    return None


def _triton_installed() -> bool:
    return importlib.util.find_spec("triton") is not None


def _module_names(errors: dict[str, str]) -> list[str]:
    """Every module and package under :data:`DOCTEST_ROOTS`, sorted; import failures go to ``errors``."""
    names: set[str] = set()
    todo = list(DOCTEST_ROOTS)
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        try:
            module = importlib.import_module(name)
        except Exception:
            errors[name] = traceback.format_exc()
            continue
        for info in pkgutil.iter_modules(getattr(module, "__path__", []), prefix=f"{name}."):
            if info.name.rpartition(".")[2] != "__main__":
                todo.append(info.name)
    return sorted(names)


class PackageDoctests(pytest.File):
    """Collects one item per docstring (with examples) of the installed package."""

    def collect(self) -> Iterator[pytest.Item]:
        errors: dict[str, str] = {}
        names = _module_names(errors)
        finder = doctest.DocTestFinder(exclude_empty=True)
        for name in names:
            if "._triton" in name and not _triton_installed():
                yield _SkippedModule.from_parent(
                    self, name=f"doctest[{name}]", reason="triton is not installed"
                )
                continue
            if name in errors:
                yield _BrokenModule.from_parent(self, name=f"doctest[{name}]", error=errors[name])
                continue
            try:
                module = importlib.import_module(name)
                tests = finder.find(module, module.__name__)
            except Exception:
                yield _BrokenModule.from_parent(self, name=f"doctest[{name}]", error=traceback.format_exc())
                continue
            for test in sorted(tests, key=lambda t: t.name):
                if test.examples:
                    yield DocTestItem.from_parent(self, name=f"doctest[{test.name}]", dtest=test)


class _DocTestFailure(Exception):
    pass


class DocTestItem(pytest.Item):
    """One docstring's examples, run with ``doctest`` (ELLIPSIS and NORMALIZE_WHITESPACE on)."""

    def __init__(self, *, dtest: doctest.DocTest, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dtest = dtest
        self.add_marker(pytest.mark.doctest)

    def runtest(self) -> None:
        runner = doctest.DocTestRunner(verbose=False, optionflags=DOCTEST_FLAGS)
        report: list[str] = []
        result = runner.run(self.dtest, out=report.append, clear_globs=True)
        if result.failed:
            raise _DocTestFailure("".join(report))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, _DocTestFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        lineno = self.dtest.lineno
        return self.dtest.filename or self.path, lineno, f"doctest: {self.dtest.name}"


class _BrokenModule(pytest.Item):
    """A module that could not be imported or searched: fails with the traceback."""

    def __init__(self, *, error: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.add_marker(pytest.mark.doctest)

    def runtest(self) -> None:
        raise _DocTestFailure(f"could not import the module to collect its doctests:\n{self.error}")

    def repr_failure(self, excinfo, style=None):
        return str(excinfo.value)

    def reportinfo(self):
        return self.path, None, self.name


class _SkippedModule(pytest.Item):
    def __init__(self, *, reason: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.reason = reason
        self.add_marker(pytest.mark.doctest)

    def runtest(self) -> None:
        pytest.skip(self.reason)

    def reportinfo(self):
        return self.path, None, self.name
