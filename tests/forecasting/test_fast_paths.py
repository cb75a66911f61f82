"""The forecaster's fast paths against slow, obviously-correct references: device-side window batches,
overlapping patches, the closed-form linear path, the start score, the time budget and the weight average."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xlstm_ts.data.windowing import WindowDataset
from xlstm_ts.forecasting._callbacks import Budget, budget_seconds
from xlstm_ts.forecasting._network import ForecastNetwork, fit_linear_path, n_tokens, stack_config


def _panel(rng, lengths=(40, 33, 51)):
    target = [rng.normal(size=n).cumsum() + 10 * i for i, n in enumerate(lengths)]
    future = [rng.normal(size=(n, 2)) for n in lengths]
    past = [rng.normal(size=(n, 1)) for n in lengths]
    static = rng.normal(size=(len(lengths), 3))
    return target, future, past, static


# ------------------------------------------------------------------------------------------- batches
def test_batches_equal_windows_sliced_one_by_one():
    rng = np.random.default_rng(0)
    target, future, past, static = _panel(rng)
    L, H = 7, 3
    ds = WindowDataset(target, future, past, static, L, H, stride=2, end_range=[(0, 30), (0, 33), (5, 51)],
                       loc=[1.0, -2.0, 0.5], scale=[2.0, 3.0, 0.25])  # fmt: skip
    ks = torch.tensor([5, 0, len(ds) - 1, 3, 3])
    batch = ds.batch(ks)
    for row, k in enumerate(ks.tolist()):
        i, s = int(ds.series[k]), int(ds.starts[k])
        loc, scale = ds.loc[k], ds.scale[k]
        np.testing.assert_allclose(batch["x"][row].numpy(), (target[i][s : s + L] - loc) / scale, rtol=1e-6)
        np.testing.assert_allclose(
            batch["y"][row].numpy(), (target[i][s + L : s + L + H] - loc) / scale, rtol=1e-6
        )
        np.testing.assert_allclose(batch["future"][row].numpy(), future[i][s : s + L + H], rtol=1e-6)
        np.testing.assert_allclose(batch["past"][row].numpy(), past[i][s : s + L], rtol=1e-6)
        np.testing.assert_allclose(batch["static"][row].numpy(), static[i], rtol=1e-6)


def test_with_stride_equals_a_dataset_built_with_that_stride():
    rng = np.random.default_rng(1)
    target, future, past, static = _panel(rng)
    ranges = [(0, 30), (0, 33), (5, 51)]
    kwargs = dict(end_range=ranges, loc=[1.0, -2.0, 0.5], scale=[2.0, 3.0, 0.25])
    coarse = WindowDataset(target, future, past, static, 6, 2, stride=4, **kwargs)
    fine = WindowDataset(target, future, past, static, 6, 2, stride=1, **kwargs)
    got = coarse.with_stride(1)
    np.testing.assert_array_equal(got.starts, fine.starts)
    np.testing.assert_array_equal(got.series, fine.series)
    all_got, all_ref = got[np.arange(len(got))], fine[np.arange(len(fine))]
    for key in all_ref:
        torch.testing.assert_close(all_got[key], all_ref[key])
    assert len(coarse) < len(fine)  # the original is unchanged


def test_window_batches_cover_every_window_once_per_epoch_and_reshuffle():
    from xlstm_ts.forecasting._batches import WindowBatches

    ds = WindowDataset([np.arange(50.0)], None, None, None, 4, 2)
    batches = WindowBatches(ds, 8, shuffle=True, seed=3)
    epochs = [torch.cat([b["start"] for b in batches]) for _ in range(2)]
    assert len(batches) == -(-len(ds) // 8)
    for starts in epochs:
        assert sorted(starts.tolist()) == ds.starts.tolist()
    assert not torch.equal(epochs[0], epochs[1])
    again = WindowBatches(ds, 8, shuffle=True, seed=3)
    assert torch.equal(torch.cat([b["start"] for b in again]), epochs[0])  # seeded


# ------------------------------------------------------------------------------------------- patches
def _patches_reference(features: torch.Tensor, p: int, s: int) -> torch.Tensor:
    """Token j holds rows [start_j, start_j + p) of the left-padded window, the last token ending at the
    last row, starts every s rows; padding repeats the first row."""
    B, L, C = features.shape
    n = n_tokens(L, p, s)
    rows = []
    for j in range(n):
        end = L - (n - 1 - j) * s  # exclusive end of token j in the unpadded window
        idx = [max(r, 0) for r in range(end - p, end)]
        rows.append(features[:, idx].reshape(B, p * C))
    return torch.stack(rows, dim=1)


@pytest.mark.parametrize(
    ("L", "p", "s"), [(20, 4, 4), (21, 4, 2), (7, 16, 8), (33, 5, 3), (12, 1, 1), (30, 6, 7)]
)
def test_overlapping_patches_match_the_reference(L, p, s):
    torch.manual_seed(0)
    net = ForecastNetwork(stack_config("mlstm", 8, 1, 2, None, 0.0), 3, n_past=1, n_future=1, lookback=L,
                          patch_size=p, patch_stride=s, head="flatten").double()  # fmt: skip
    x, past, future = (
        torch.randn(2, L, dtype=torch.float64),
        torch.randn(2, L, 1, dtype=torch.float64),
        torch.randn(2, L + 3, 1, dtype=torch.float64),
    )
    features = torch.cat([x[..., None], past, future[:, :L]], dim=-1)
    expected = net.input_proj(_patches_reference(features, p, s))
    torch.testing.assert_close(net._tokens(x, past, future, torch.zeros(2, 0, dtype=torch.float64)), expected)
    assert net(x, past, future, torch.zeros(2, 0, dtype=torch.float64)).shape == (2, 3, 1)


# --------------------------------------------------------------------------------------- linear path
def test_the_linear_path_is_the_closed_form_ridge_fit():
    rng = np.random.default_rng(2)
    L, H, N = 12, 4, 300
    series = rng.normal(size=N + L + H).cumsum()
    windows = np.stack([series[i : i + L + H] for i in range(N)])
    x, y = windows[:, :L], windows[:, L:]
    net = ForecastNetwork(stack_config("mlstm", 8, 1, 2, None, 0.0), H, lookback=L, patch_size=1,
                          head="flatten", linear_path=True).double()  # fmt: skip
    batches = [
        {"x": torch.from_numpy(x[a : a + 64]), "y": torch.from_numpy(y[a : a + 64])} for a in range(0, N, 64)
    ]
    assert fit_linear_path(net, batches, ridge=1e-2) == 1e-2
    # reference: ridge of y - last on x - last with penalty 1e-2 * mean diagonal, solved by numpy
    X, Y = x - x[:, -1:], y - x[:, -1:]
    gram = X.T @ X
    W = np.linalg.solve(gram + 1e-2 * np.diag(gram).mean() * np.eye(L), X.T @ Y)
    expected = X @ W + x[:, -1:]
    zeros = torch.zeros(N, L, 0, dtype=torch.float64)
    with torch.no_grad():
        got = net(
            torch.from_numpy(x), zeros, torch.zeros(N, L + H, 0, dtype=torch.float64), torch.zeros(N, 0)
        )
    np.testing.assert_allclose(got[..., 0].numpy(), expected, rtol=1e-8, atol=1e-8)  # the head starts at zero


def test_the_ridge_strength_chosen_on_validation_is_the_grid_point_with_the_least_error():
    from xlstm_ts.forecasting._network import RIDGE_GRID

    rng = np.random.default_rng(5)
    L, H = 16, 3
    series = rng.normal(size=900).cumsum()
    windows = np.stack([series[i : i + L + H] for i in range(len(series) - L - H)])
    train, val = windows[:300], windows[300:]

    def batches(w):
        return [{"x": torch.from_numpy(w[:, :L]), "y": torch.from_numpy(w[:, L:])}]

    def val_mse(strength):  # reference: fit with that strength, score on the validation windows directly
        net = ForecastNetwork(
            stack_config("mlstm", 8, 1, 2, None, 0.0), H, lookback=L, linear_path=True
        ).double()
        fit_linear_path(net, batches(train), ridge=strength)
        X, Y = val[:, :L] - val[:, L - 1 : L], val[:, L:] - val[:, L - 1 : L]
        return float(np.mean((X @ net.linear.weight.detach().numpy().T - Y) ** 2))

    net = ForecastNetwork(stack_config("mlstm", 8, 1, 2, None, 0.0), H, lookback=L, linear_path=True).double()
    chosen = fit_linear_path(net, batches(train), val_batches=batches(val))
    assert chosen == min(RIDGE_GRID, key=val_mse)


def test_a_constant_history_gives_the_last_value():
    net = ForecastNetwork(
        stack_config("mlstm", 8, 1, 2, None, 0.0), 2, lookback=5, linear_path=True, head="last"
    )
    batches = [{"x": torch.full((4, 5), 3.0), "y": torch.full((4, 2), 3.0)}]
    fit_linear_path(net, batches)
    assert torch.count_nonzero(net.linear.weight) == 0


# ------------------------------------------------------------------------------------- training rules
def test_the_start_is_kept_when_training_only_makes_it_worse():
    """With a learning rate that wrecks the network, no epoch beats the ridge start on validation:
    the fitted network is exactly the warm-started one (best_epoch_ == -1)."""
    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.datasets import load_airline

    y = load_airline()
    common = dict(horizon=6, lookback=24, linear_path=True, validation_size=0.25, max_epochs=2, verbose=False)
    wrecked = xLSTMForecaster(**common, learning_rate=10.0).fit(y)
    assert wrecked.best_epoch_ == -1
    assert torch.count_nonzero(wrecked.network_.head.weight) == 0  # the residual head never left zero
    assert np.isfinite(wrecked.predict().to_numpy()).all()


def test_the_start_score_is_the_mean_loss_over_every_validation_window():
    import lightning as L

    from xlstm_ts.forecasting._batches import WindowBatches
    from xlstm_ts.forecasting._callbacks import StartScore
    from xlstm_ts.forecasting._module import ForecastModule

    rng = np.random.default_rng(4)
    ds = WindowDataset([rng.normal(size=90).cumsum()], None, None, None, 8, 3)
    net = ForecastNetwork(stack_config("mlstm", 8, 1, 2, None, 0.0), 3, lookback=8)
    module = ForecastModule(net, "mse", (), 1e-3)
    score = StartScore(WindowBatches(ds, 16, shuffle=False))
    trainer = L.Trainer(max_steps=1, callbacks=[score], logger=False, enable_progress_bar=False,
                        enable_checkpointing=False, enable_model_summary=False)  # fmt: skip
    with torch.no_grad():
        everything = ds[np.arange(len(ds))]
        expected = float(((module(everything)[..., 0] - everything["y"]) ** 2).mean())
    trainer.fit(module, WindowBatches(ds, 16, shuffle=True))
    assert score.score == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------------------------------------------- budget
@pytest.mark.parametrize(
    ("value", "seconds"), [("00:00:04:00", 240), ("01:02:03:04", 93784), ({"minutes": 1.5}, 90)]
)
def test_budget_durations(value, seconds):
    assert budget_seconds(value) == seconds


@pytest.mark.parametrize("value", ["4 minutes", "00:00:00:00", 12, {"fortnights": 1}])
def test_bad_budgets_say_what_is_expected(value):
    with pytest.raises(ValueError, match="max_time"):
        budget_seconds(value)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Trainer:
    should_stop = False


def test_the_budget_stops_training_with_room_for_the_last_validation(monkeypatch):
    """Steps of 1 s for 10 windows each; validating 30 windows is estimated at a third of that per window
    (1 s); so with 10 s and a 0.5 s reserve training stops after the step that ends at 8.5 s or later."""
    from xlstm_ts.forecasting import _callbacks

    clock = _Clock()
    monkeypatch.setattr(_callbacks.time, "perf_counter", clock)
    budget, trainer, batch = (
        Budget(deadline=10.0, val_windows=30, reserve=0.5),
        _Trainer(),
        {"x": torch.zeros(10, 1)},
    )
    steps = 0
    while not trainer.should_stop:
        budget.on_train_batch_start(trainer, None, batch, steps)
        clock.now += 1.0
        budget.on_train_batch_end(trainer, None, None, batch, steps)
        steps += 1
    assert steps == 9 and budget.stopped  # 9 s + 1 s of validation + 0.5 s reserve >= 10 s
    # once a validation pass has been measured, its measured length is reserved
    budget2, trainer2 = Budget(deadline=100.0, val_windows=30, reserve=0.0), _Trainer()
    budget2.on_validation_epoch_start(trainer2, None)
    clock.now += 20.0
    budget2.on_validation_epoch_end(trainer2, None)
    while not trainer2.should_stop:
        budget2.on_train_batch_start(trainer2, None, batch, 0)
        clock.now += 1.0
        budget2.on_train_batch_end(trainer2, None, None, batch, 0)
    assert clock.now + 20.0 >= 100.0 > clock.now - 1.0 + 20.0


def test_a_fit_with_a_short_budget_stops_early():
    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.datasets import load_airline

    model = xLSTMForecaster(horizon=6, max_epochs=10_000, validation_size=0.2, verbose=False,
                            early_stopping_patience=None, trainer_kwargs={"max_time": {"seconds": 3}}).fit(load_airline())  # fmt: skip
    assert model.n_epochs_ < 10_000
    assert model.stopped_by_budget_ and model.max_epochs_ == 10_000


def test_without_a_budget_the_fit_is_not_stopped_by_one(tmp_path):
    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.datasets import load_airline

    model = xLSTMForecaster(horizon=6, max_epochs=2, verbose=False).fit(load_airline())
    assert not model.stopped_by_budget_ and model.n_epochs_ == model.max_epochs_ == 2
    model.save(tmp_path)
    same = xLSTMForecaster.load(tmp_path)
    assert (same.stopped_by_budget_, same.max_epochs_) == (False, 2)


# --------------------------------------------------------------------------------- one-SE rule
def test_window_losses_average_to_the_training_loss():
    from xlstm_ts.forecasting.losses import forecast_loss, window_losses

    torch.manual_seed(0)
    pred, target = torch.randn(5, 4, 3), torch.randn(5, 4)
    for name in ("mse", "mae", "huber"):
        torch.testing.assert_close(
            window_losses(name, pred[..., :1], target).mean(), forecast_loss(name, pred[..., :1], target)
        )
    q = (0.1, 0.5, 0.9)
    torch.testing.assert_close(
        window_losses("quantile", pred, target, q).mean(), forecast_loss("quantile", pred, target, q)
    )


def _blocks_dataset(n_series=2, length=60, L=4, H=3):
    return WindowDataset([np.zeros(length)] * n_series, None, None, None, L, H)


@pytest.mark.parametrize(("shift", "keeps_start"), [(0.0, True), (-0.5, True), (0.01, True), (1.0, False)])
def test_one_standard_error_rule(shift, keeps_start):
    """Keep the start unless the trained model is better by more than one standard error of the mean
    block difference: a clear gain switches, no gain / a loss / a gain lost in the noise does not."""
    from xlstm_ts.forecasting._training import start_is_as_good

    ds = _blocks_dataset()
    rng = np.random.default_rng(0)
    start = torch.from_numpy(rng.normal(2.0, 0.3, size=len(ds)))
    trained = start - shift + torch.from_numpy(rng.normal(0.0, 0.3, size=len(ds)))
    assert start_is_as_good(start, trained, ds) is keeps_start


def test_one_standard_error_rule_matches_the_block_formula():
    from xlstm_ts.forecasting._training import start_is_as_good

    ds = _blocks_dataset(n_series=1, length=16, L=2, H=3)  # 12 windows, starts 0..11 -> 4 blocks of 3
    gain = np.array([1.0, 1, 1, 0.2, 0.2, 0.2, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1])
    means = np.array([1.0, 0.2, 0.5, 0.1])
    se = means.std(ddof=1) / 2
    assert means.mean() > se  # so the trained model is clearly better here
    assert start_is_as_good(torch.zeros(12), torch.from_numpy(gain), ds) is True  # a loss: keep the start
    assert start_is_as_good(torch.from_numpy(gain), torch.zeros(12), ds) is False
