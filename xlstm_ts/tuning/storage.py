"""Where a study lives: resolving ``tune``'s ``storage`` argument, and the default study name.

* ``None``: a journal file ``<study_name>.journal`` in the working directory (Optuna's
  :class:`~optuna.storages.JournalStorage` over a :class:`~optuna.storages.journal.JournalFileBackend`).
  Every change is appended to the file under a file lock, so several processes on one machine can
  share it and an interrupted search resumes from it; Optuna recommends it over SQLite for that.
* a path (no ``://``): a journal file at that path.
* a URL (``sqlite:///...``, ``postgresql://...``, ``mysql+pymysql://...``): an
  :class:`~optuna.storages.RDBStorage`.  SQLite is fine for one process; concurrent writers lock the
  whole file and can fail with "database is locked".  PostgreSQL or MySQL serve many machines.
* any Optuna storage object, used as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from ._optuna import import_optuna


def is_url(storage: Any) -> bool:
    return isinstance(storage, str) and "://" in storage


def resolve_storage(storage: Any, study_name: str) -> tuple[Any, str]:
    """``(Optuna storage object, a short description for messages)``."""
    optuna = import_optuna()
    if storage is None or (isinstance(storage, (str, os.PathLike)) and not is_url(storage)):
        path = f"{study_name}.journal" if storage is None else os.fspath(storage)
        backend = optuna.storages.journal.JournalFileBackend(path)
        return optuna.storages.JournalStorage(backend), f"journal file {path}"
    if is_url(storage):
        kwargs: dict[str, Any] = {}
        if storage.startswith("sqlite"):
            # wait for the lock instead of failing at once when another process writes
            kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
        return _rdb_storage(optuna, storage, kwargs), _redact(storage)
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage, type(storage).__name__
    raise TypeError(
        "storage must be None (a journal file in the working directory), a file path (a journal file), a "
        f"database URL or an Optuna storage object; got {type(storage).__name__}."
    )


def _rdb_storage(optuna, url: str, kwargs: dict[str, Any], attempts: int = 6):
    """``RDBStorage(url)``, tried again when several workers create the tables of a new database at the
    same moment (the loser's ``CREATE`` fails on what the winner just made; then the tables exist)."""
    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(url, **kwargs)
        except Exception as err:
            if attempt == attempts - 1 or not _is_schema_race(err):
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def _is_schema_race(err: Exception) -> bool:
    text = str(err).lower()
    return "already exists" in text or "duplicate" in text or "unique" in text


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    if "@" in rest:
        user, _, host = rest.rpartition("@")
        if ":" in user:
            rest = f"{user.split(':')[0]}:***@{host}"
    return f"{scheme}://{rest}"


def default_study_name(estimator, space_names: list[str], metric: Any, cv: Any, X) -> str:
    """A name that stays the same when the same search is started again (so it resumes), and changes
    with the estimator's fixed parameters, the searched names, the metric, the folds or the data's shape.

    >>> from xlstm_ts import xLSTMForecaster
    >>> default_study_name(xLSTMForecaster(horizon=3), ["lookback"], "mae", "cv", None)[:16]
    'xLSTMForecaster-'
    """
    params = {k: repr(v) for k, v in sorted(estimator.get_params(deep=False).items()) if k != "verbose"}
    shape = (
        None if X is None else [list(getattr(X, "shape", ())), [str(c) for c in getattr(X, "columns", [])]]
    )
    what = {"params": params, "space": space_names, "metric": repr(metric), "cv": repr(cv), "data": shape}
    digest = hashlib.sha1(json.dumps(what, sort_keys=True).encode()).hexdigest()[:10]
    return f"{type(estimator).__name__}-{digest}"


__all__ = ["default_study_name", "resolve_storage"]
