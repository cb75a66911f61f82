"""Search spaces: the default one comes from the constraint table's hints; user spaces override it."""

from __future__ import annotations

import optuna
import pytest

from xlstm_ts import mLSTMBlockConfig, xLSTMBlockStackConfig, xLSTMForecaster
from xlstm_ts.tuning import default_search_space
from xlstm_ts.tuning.spaces import resolve_space


def _samples(space, n=60, seed=0):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(space(trial))
        study.tell(trial, 0.0)
    return out


def test_default_space_follows_the_table_hints():
    est = xLSTMForecaster(horizon=6)
    space = default_search_space(est, max_lookback=30)
    table = xLSTMForecaster.parameter_constraints()
    hinted = [n for n, p in table.items() if p.search is not None or p.upto is not None]
    assert space.names() == hinted  # table order, nothing hard-coded beside the table
    assert {"lookback", "embedding_dim", "num_blocks", "num_heads", "slstm_at", "patch_size"} <= set(hinted)
    assert {"learning_rate", "dropout", "scaler", "backbone"} <= set(hinted)
    for p in _samples(space):
        assert p["lookback"] % 6 == 0 and 12 <= p["lookback"] <= 30  # 2..5 horizons fit in 30 rows
        assert p["embedding_dim"] % p["num_heads"] == 0
        assert ("slstm_at" in p) == (p["backbone"] == "mixed")  # conditional on the backbone
        if "slstm_at" in p:
            assert len(p["slstm_at"]) == 1 and 0 <= p["slstm_at"][0] < p["num_blocks"]
        assert 1e-4 <= p["learning_rate"] <= 1e-2 and 0.0 <= p["dropout"] <= 0.3
        assert p["scaler"] in ("standard", "robust")
        xLSTMForecaster(**{**est.get_params(), **p})._check_params()  # every sample is valid


def test_every_backbone_and_the_mixed_positions_are_sampled():
    samples = _samples(default_search_space(xLSTMForecaster(horizon=3), max_lookback=24), n=80)
    assert {p["backbone"] for p in samples} == {"mlstm", "slstm", "mixed"}
    assert len({p["slstm_at"] for p in samples if "slstm_at" in p}) > 1


def test_a_config_backbone_fixes_the_backbone_dimensions():
    config = xLSTMBlockStackConfig(mlstm_block=mLSTMBlockConfig(), embedding_dim=16, num_blocks=1)
    space = default_search_space(xLSTMForecaster(horizon=3, backbone=config))
    for p in _samples(space, n=10):
        assert not {"backbone", "embedding_dim", "num_blocks", "num_heads", "slstm_at"} & set(p)


def test_lookback_left_out_when_even_the_shortest_does_not_fit():
    space = default_search_space(xLSTMForecaster(horizon=10), max_lookback=15)
    assert "lookback" not in space.names()


def test_user_spaces_override_the_default():
    est = xLSTMForecaster(horizon=3)
    dict_space = resolve_space(
        {
            "learning_rate": optuna.distributions.FloatDistribution(1e-3, 1e-2, log=True),
            "num_blocks": optuna.distributions.IntDistribution(1, 2),
            "scaler": optuna.distributions.CategoricalDistribution(["standard", "none"]),
            "dropout": [0.0, 0.1],
            "max_epochs": 3,
        },
        est,
    )
    for p in _samples(dict_space, n=10):
        assert set(p) == {"learning_rate", "num_blocks", "scaler", "dropout", "max_epochs"}
        assert p["max_epochs"] == 3 and p["dropout"] in (0.0, 0.1)

    def fn(trial):
        return {"num_heads": trial.suggest_categorical("num_heads", [1, 2])}

    assert resolve_space(fn, est) is fn


def test_user_space_errors():
    est = xLSTMForecaster(horizon=3)
    with pytest.raises(ValueError, match=r"does not have: \['no_such'\]"):
        resolve_space({"no_such": [1, 2]}, est)
    with pytest.raises(TypeError, match="got int"):
        resolve_space(3, est)
    with pytest.raises(TypeError, match="parameter_constraints"):
        default_search_space(object())
