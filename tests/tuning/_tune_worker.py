"""One tuning worker process for the multi-process tests: ``python _tune_worker.py STORAGE STUDY N SEED``.

Optional: ``--epochs E`` (slower trials), ``--ready PATH`` (touch PATH once imported) and ``--go PATH``
(wait for PATH to exist before tuning), so that several workers start their search together.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import optuna
from _panel import make_panel, tiny_model

from xlstm_ts.tuning import tune


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("storage")
    parser.add_argument("study")
    parser.add_argument("n_trials", type=int)
    parser.add_argument("seed", type=int)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--ready")
    parser.add_argument("--go")
    args = parser.parse_args()
    if args.ready:
        Path(args.ready).touch()
    if args.go:
        while not Path(args.go).exists():
            time.sleep(0.05)
    space = {"learning_rate": optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)}
    result = tune(
        tiny_model(max_epochs=args.epochs),
        make_panel(),
        search_space=space,
        n_trials=args.n_trials,
        cv=2,
        storage=args.storage,
        study_name=args.study,
        random_state=args.seed,
        refit=False,
        pruner=optuna.pruners.NopPruner(),
        stale_after=30.0,
    )
    print(f"worker {args.seed}: ran {result.n_trials_run_} trial(s)", flush=True)


if __name__ == "__main__":
    main()
