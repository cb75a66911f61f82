"""``compile_network=True``: training runs the backbone under ``torch.compile`` and gives the forecasts of an
eager fit; the fitted model predicts, saves, loads and pickles like any other.

The fast test compiles with ``backend="aot_eager"`` (Dynamo's capture and AOTAutograd's forward/backward
graphs, run eagerly); the default backend, inductor, compiles for tens of seconds on a CPU and is tested in
the slow test.  Inductor may reorder float32 sums, and training amplifies rounding a little, hence the
loose-ish tolerance there.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import xlstm_ts.forecasting.forecaster as forecaster_module
from xlstm_ts import xLSTMForecaster

from .conftest import airline_series, tiny


def _fit_pair(monkeypatch, backend: str):
    monkeypatch.setattr(forecaster_module, "COMPILE_BACKEND", backend)
    torch._dynamo.reset()
    y = airline_series()
    counters = torch._dynamo.utils.counters
    counters.clear()
    eager = tiny(horizon=6, lookback=12).fit(y)
    assert counters["stats"]["unique_graphs"] == 0
    compiled = tiny(horizon=6, lookback=12, compile_network=True).fit(y)
    assert counters["stats"]["unique_graphs"] >= 1  # the compiled fit did capture the backbone
    return eager, compiled


def test_compiled_fit_equals_eager_fit_and_round_trips(monkeypatch, tmp_path):
    eager, compiled = _fit_pair(monkeypatch, "aot_eager")
    expected = eager.predict().to_numpy()
    np.testing.assert_allclose(compiled.predict().to_numpy(), expected, rtol=1e-5, atol=1e-4)
    # the fitted backbone is the plain module again: parameter names without "_orig_mod."
    assert compiled.network_.backbone._compiled_call_impl is None
    assert not any("_orig_mod" in name for name in compiled.network_.state_dict())
    compiled.save(tmp_path)
    loaded = xLSTMForecaster.load(tmp_path)
    assert loaded.get_params()["compile_network"] is True
    np.testing.assert_allclose(loaded.predict().to_numpy(), expected, rtol=1e-5, atol=1e-4)
    unpickled = pickle.loads(pickle.dumps(compiled))
    np.testing.assert_allclose(unpickled.predict().to_numpy(), expected, rtol=1e-5, atol=1e-4)


def test_compile_network_must_be_bool():
    with pytest.raises((TypeError, ValueError), match="compile_network"):
        tiny(compile_network="yes").fit(airline_series())


@pytest.mark.slow
def test_inductor_fit_is_close_to_eager_fit(monkeypatch):
    eager, compiled = _fit_pair(monkeypatch, "inductor")
    np.testing.assert_allclose(
        compiled.predict().to_numpy(), eager.predict().to_numpy(), rtol=1e-3, atol=1e-2
    )
