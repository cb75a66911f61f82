"""Sharing one study between workers: the trial budget, heartbeats, and trials whose worker died.

Every worker (a process, or a thread with ``n_jobs > 1``) runs the same loop against the shared storage:
it fails the trials of dead workers, counts the study's trials, and asks for a new trial only while the
count is below ``n_trials``.  The count is over the whole study, not per worker, so two workers asked
for 10 trials run 10 between them.

Counted: trials that ended (COMPLETE, PRUNED, FAIL) and trials RUNNING now.  Not counted: trials failed
because their worker died (they are retried, see below) and the rare *surplus* trial: when two workers
ask at the same instant for the last trial, the one whose trial number is higher sees that the budget is
already taken, records its trial as FAIL with the user attribute ``xlstm_ts:surplus`` and stops.

Dead workers.  While a trial runs, its worker writes the user attribute ``xlstm_ts:heartbeat`` (a Unix
time) every ``stale_after / 4`` seconds, and ``xlstm_ts:worker`` (host and process id) at its start.  A
RUNNING trial is *stale* when its worker's process is gone (same host) or its heartbeat is older than
``stale_after`` seconds (any host; the machines' clocks must agree to well within that).  The first worker
that sees a stale trial tells it FAIL and enqueues a retry with the same parameters (user attribute
``xlstm_ts:retry_of`` = the failed trial's number), so a search killed mid-trial resumes and still runs
``n_trials`` trials.  Optuna's own heartbeat (``RDBStorage(heartbeat_interval=...)``) covers only database
storages and only ``Study.optimize``; this one works with every storage and with ask-and-tell.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from ._optuna import import_optuna

WORKER = "xlstm_ts:worker"
HEARTBEAT = "xlstm_ts:heartbeat"
RETRY_OF = "xlstm_ts:retry_of"
SURPLUS = "xlstm_ts:surplus"
ERROR = "xlstm_ts:error"


def _process_gone(pid: int) -> bool:
    """Whether no live process has this id on this machine (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return False


def worker_identity() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def is_stale(trial, stale_after: float, now: float | None = None) -> bool:
    """Whether the RUNNING ``trial`` (a FrozenTrial) has lost its worker."""
    now = time.time() if now is None else now
    worker = trial.user_attrs.get(WORKER)
    if isinstance(worker, dict) and worker.get("host") == socket.gethostname():
        pid = worker.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and _process_gone(pid):
            return True
    beat = trial.user_attrs.get(HEARTBEAT)
    if beat is None:  # killed between ask and its first heartbeat: use the start time
        start = trial.datetime_start
        beat = start.timestamp() if start is not None else now
    return now - float(beat) > stale_after


def fail_stale_trials(study, stale_after: float) -> list[int]:
    """Fail the stale RUNNING trials of ``study`` and enqueue their retries; the failed trial numbers."""
    optuna = import_optuna()
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    failed = []
    for trial in running:
        if not is_stale(trial, stale_after):
            continue
        try:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        except (ValueError, RuntimeError):  # another worker failed (or finished) it first
            continue
        study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
        failed.append(trial.number)
    return failed


def counted(trials) -> list:
    """The trials that count against the budget (see the module docstring)."""
    optuna = import_optuna()
    states = optuna.trial.TrialState
    retried = {t.user_attrs.get(RETRY_OF) for t in trials} - {None}
    return [
        t
        for t in trials
        if t.state in (states.COMPLETE, states.PRUNED, states.FAIL, states.RUNNING)
        and not t.user_attrs.get(SURPLUS)
        and not (t.state == states.FAIL and t.number in retried)
    ]


def budget_left(study, n_trials: int | None) -> bool:
    """Whether the study still has room for another trial."""
    return n_trials is None or len(counted(study.get_trials(deepcopy=False))) < n_trials


def is_surplus(study, trial, n_trials: int | None) -> bool:
    """Whether ``trial`` (just asked) exceeds the budget: the counted trials numbered before it fill it."""
    if n_trials is None:
        return False
    before = [t for t in counted(study.get_trials(deepcopy=False)) if t.number < trial.number]
    return len(before) >= n_trials


class Heartbeat:
    """Writes the trial's heartbeat every ``interval`` seconds while the ``with`` block runs."""

    def __init__(self, trial, interval: float) -> None:
        self.trial, self.interval = trial, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="xlstm-ts-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.trial.set_user_attr(HEARTBEAT, time.time())
            except Exception:  # the trial has ended, or the storage is briefly unavailable
                if self.stop.is_set():
                    return

    def __enter__(self) -> Heartbeat:
        self.trial.set_user_attr(WORKER, worker_identity())
        self.trial.set_user_attr(HEARTBEAT, time.time())
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
