"""UCR/UEA classification with the pipeline estimators against a logistic regression on the raw values.

Data: time-series classification sets bundled inside the ``sktime`` wheel (no download), each on its own
train/test split: BasicMotions (UEA, 6 channels of 100 steps, 40 train / 40 test, 4 classes) and GunPoint
(UCR, 1 channel of 150 steps, 50 / 150, 2 classes).  Three models per dataset and seed:

* ``raw LR``: ``StandardScaler`` + ``LogisticRegression`` on the flattened values (``[n, L * C]``);
* ``xLSTMClassifier``: default settings;
* ``xLSTMEmbedder + LR``: the default embedder (next-step objective, trained on the training windows
  without labels) + ``StandardScaler`` + ``LogisticRegression``.

Every hyperparameter is a default of the library (or of scikit-learn); nothing was chosen on the test
split, which is scored once per seed.  Only ``random_state`` changes between seeds (the raw LR has no
randomness and is run once).  Accuracy, mean and standard deviation over the seeds, and fit time::

    python benchmarks/pipeline_ucr.py                 # seeds 0 1 2, both datasets
    python benchmarks/pipeline_ucr.py --seeds 0 --datasets BasicMotions
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

DATASETS = ("BasicMotions", "GunPoint")


def load(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(X [n, L, C], y)`` of one split of a dataset bundled with sktime."""
    from sktime import datasets

    loader = {"BasicMotions": datasets.load_basic_motions, "GunPoint": datasets.load_gunpoint}[name]
    X, y = loader(split=split, return_type="numpy3D")  # sktime: [n, C, L]
    return np.ascontiguousarray(X.transpose(0, 2, 1)), np.asarray(y)


def models(seed: int) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from xlstm_ts.pipeline import xLSTMClassifier, xLSTMEmbedder

    flatten = FunctionTransformer(lambda X: X.reshape(len(X), -1))
    return {
        "raw LR": make_pipeline(flatten, StandardScaler(), LogisticRegression(max_iter=5000)),
        "xLSTMClassifier": xLSTMClassifier(random_state=seed),
        "xLSTMEmbedder + LR": make_pipeline(
            xLSTMEmbedder(random_state=seed), StandardScaler(), LogisticRegression(max_iter=5000)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    args = parser.parse_args()

    import sklearn
    import sktime
    import torch

    import xlstm_ts

    print(
        f"xlstm_ts {xlstm_ts.__version__}, torch {torch.__version__}, scikit-learn {sklearn.__version__}, "
        f"sktime {sktime.__version__}, Python {platform.python_version()}, torch threads "
        f"{torch.get_num_threads()}"
    )
    print("| dataset | model | accuracy (mean ± sd) | per seed | fit s (mean) |")
    print("|---|---|---|---|---|")
    for name in args.datasets:
        X_train, y_train = load(name, "train")
        X_test, y_test = load(name, "test")
        scores: dict[str, list[float]] = {}
        times: dict[str, list[float]] = {}
        for seed in args.seeds:
            for label, model in models(seed).items():
                if label == "raw LR" and label in scores:
                    continue  # deterministic: one run
                start = time.perf_counter()
                model.fit(X_train, y_train)
                times.setdefault(label, []).append(time.perf_counter() - start)
                scores.setdefault(label, []).append(float(model.score(X_test, y_test)))
        for label, values in scores.items():
            per_seed = " / ".join(f"{v:.3f}" for v in values)
            print(
                f"| {name} | {label} | {np.mean(values):.3f} ± {np.std(values):.3f} | {per_seed} | "
                f"{np.mean(times[label]):.1f} |"
            )


if __name__ == "__main__":
    main()
