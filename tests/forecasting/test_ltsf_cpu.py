"""Goal 1 of the long-horizon work on the CPU: at the documented CPU setting, ``xLSTMForecaster`` on ETTh1
(standard protocol, lookback 336, horizon 96, every test window) is never worse than the closed-form
NLinear-OLS floor computed on the same data in this test.

Reads ``../shared/data/ETT-small/ETTh1.csv`` next to the repository and skips when it is absent.  Marked
``slow`` (about a minute on two cores).  The setting is the CPU one of docs/benchmarks.md; its fit time is
measured there, not here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
CPU_SETTING = dict(
    embedding_dim=16, num_blocks=1, patch_size=16, batch_size=256, stride=4, max_epochs=1, device="cpu"
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (DATA / "ETT-small" / "ETTh1.csv").exists(), reason="ETTh1.csv not in ../shared/data"
    ),
]


def test_etth1_h96_at_the_cpu_setting_is_never_worse_than_the_linear_floor():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from ltsf import BASE, nlinear_ols, protocol_frame, rows_before

    from xlstm_ts import xLSTMForecaster

    long, ends = protocol_frame("ETTh1", str(DATA))
    H = 96
    model = xLSTMForecaster(**{**BASE, **CPU_SETTING, "horizon": H, "random_state": 0}).fit(
        rows_before(long, ends["val"])
    )
    result = model.backtest(long, n_windows=ends["test"] - ends["val"] - H + 1, step=1)
    assert result.windows.shape[0] == 2785 * 7  # every test window of every channel
    floor, _, _ = nlinear_ols(long, ends, 336, H)
    mse = float(result.overall["mse"])
    assert mse <= floor, f"test MSE {mse:.5f} above the NLinear-OLS floor {floor:.5f}"
    assert np.isfinite(mse)
