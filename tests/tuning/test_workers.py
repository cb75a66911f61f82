"""Several worker processes on one study: shared budget, no lost or duplicate trials, a killed worker's
trial failed and retried on resume.  The PostgreSQL variant runs when ``XLSTM_TS_TEST_POSTGRES_URL`` names
a server (``.ci/run`` starts a throw-away one when it can)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest

from xlstm_ts.tuning import tune
from xlstm_ts.tuning.storage import resolve_storage

from ._panel import make_panel, tiny_model

WORKER = Path(__file__).with_name("_tune_worker.py")
POSTGRES = os.environ.get("XLSTM_TS_TEST_POSTGRES_URL")
States = optuna.trial.TrialState


def _start(storage: str, study: str, n_trials: int, seed: int, tmp: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, str(WORKER), storage, study, str(n_trials), str(seed), *extra],
        env=env,
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(path: Path, procs, seconds: float = 180) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        for p in procs:
            if p.poll() is not None:
                pytest.fail(f"a worker exited early:\n{p.stdout.read() if p.stdout else ''}")
        if time.monotonic() > end:
            pytest.fail(f"{path.name} did not appear in {seconds} s")
        time.sleep(0.1)


def _load(storage: str, study: str):
    return optuna.load_study(study_name=study, storage=resolve_storage(storage, study)[0])


def _two_workers(storage: str, tmp_path: Path, n_trials: int = 6) -> None:
    study = f"two-{uuid.uuid4().hex[:8]}"
    go = tmp_path / "go"
    procs = [
        _start(
            storage,
            study,
            n_trials,
            seed,
            tmp_path,
            "--ready",
            str(tmp_path / f"ready{seed}"),
            "--go",
            str(go),
        )
        for seed in (1, 2)
    ]
    for seed in (1, 2):
        _wait_for(tmp_path / f"ready{seed}", procs)
    go.touch()  # both have imported everything: they start together
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outputs)
    trials = _load(storage, study).trials
    # two workers that ask at once for the last slot: the later one records its trial as a surplus FAIL and stops
    # (see xlstm_ts/tuning/_workers.py), so at most one surplus trial per worker, numbered past the budget
    surplus = [t for t in trials if t.user_attrs.get("xlstm_ts:surplus")]
    assert len(surplus) <= 2 and all(t.state == States.FAIL and t.number >= n_trials for t in surplus), (
        outputs
    )
    trials = [t for t in trials if not t.user_attrs.get("xlstm_ts:surplus")]
    assert [t.state for t in trials] == [States.COMPLETE] * n_trials, "\n".join(outputs)
    assert sorted(t.number for t in trials) == list(range(n_trials))  # unique, none missing
    ran = [int(out.split("ran ")[1].split()[0]) for out in outputs]
    assert sum(ran) == n_trials and min(ran) >= 1, outputs  # both worked on the one study
    pids = {t.user_attrs["xlstm_ts:worker"]["pid"] for t in trials}
    assert pids == {p.pid for p in procs}


def test_two_workers_share_a_journal_file(tmp_path):
    _two_workers(str(tmp_path / "shared.journal"), tmp_path)


@pytest.mark.skipif(
    POSTGRES is None,
    reason="no PostgreSQL server: set XLSTM_TS_TEST_POSTGRES_URL=postgresql://... (.ci/run starts one when "
    "PostgreSQL's initdb/pg_ctl are installed)",
)
def test_two_workers_share_a_postgresql_study(tmp_path):
    _two_workers(str(POSTGRES), tmp_path)


def test_a_killed_search_resumes_and_finishes(tmp_path):
    storage, study, n_trials = str(tmp_path / "killed.journal"), "killed", 4
    worker = _start(storage, study, n_trials, 1, tmp_path, "--epochs", "40")  # slow trials
    try:
        end = time.monotonic() + 240
        while True:  # wait until it is in the middle of its second trial
            if worker.poll() is not None:
                pytest.fail(f"the worker finished before it was killed:\n{worker.stdout.read()}")
            trials = _load(storage, study).trials if Path(storage).exists() else []
            if any(t.state == States.COMPLETE for t in trials) and any(
                t.state == States.RUNNING for t in trials
            ):
                break
            assert time.monotonic() < end, "no trial started in time"
            time.sleep(0.2)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
    before = _load(storage, study).trials
    killed = [t for t in before if t.state == States.RUNNING]
    assert len(killed) == 1  # the killed trial is left RUNNING in the storage

    result = tune(
        tiny_model(max_epochs=2),
        make_panel(),
        search_space={"learning_rate": optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)},
        n_trials=n_trials,
        cv=2,
        storage=storage,
        study_name=study,
        refit=False,
        verbose=False,
        pruner=optuna.pruners.NopPruner(),
    )
    trials = result.study_.trials
    by_number = {t.number: t for t in trials}
    dead = by_number[killed[0].number]
    assert dead.state == States.FAIL  # recorded as failed, not lost
    retries = [t for t in trials if t.user_attrs.get("xlstm_ts:retry_of") == dead.number]
    assert len(retries) == 1 and retries[0].state == States.COMPLETE
    assert retries[0].params == dead.params  # the killed trial's parameters were tried again
    assert sum(t.state == States.COMPLETE for t in trials) == n_trials  # the requested trials all finished
    assert len(trials) == n_trials + 1  # the dead one besides them, nothing else
    assert result.n_trials_run_ == n_trials - sum(t.state == States.COMPLETE for t in before)
