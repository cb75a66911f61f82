"""Two-process DDP training on the CPU (Lightning's ``ddp`` strategy with the gloo backend).

Runs a small script in a subprocess: Lightning's DDP launcher starts the second rank by re-running the
script, which must not be pytest itself.  Rank 0 saves the model; the test loads it and checks that it
predicts what rank 0 predicted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from xlstm_ts import xLSTMForecaster

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    torch.set_num_threads(1)
    from xlstm_ts import xLSTMForecaster
    from xlstm_ts.datasets import load_airline

    model = xLSTMForecaster(horizon=6, lookback=12, embedding_dim=8, num_blocks=1, num_heads=2, max_epochs=2,
                            device="cpu", validation_size=0.2, verbose=False,
                            trainer_kwargs={"devices": 2, "strategy": "ddp", "accelerator": "cpu"})
    model.fit(load_airline())
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        model.save(sys.argv[1])
        with open(sys.argv[2], "w") as fh:
            json.dump({"forecast": model.predict().tolist()}, fh)
    """
)


def test_two_process_ddp_on_the_cpu(tmp_path):
    script = tmp_path / "ddp_fit.py"
    script.write_text(SCRIPT)
    out = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "model"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text())
    loaded = xLSTMForecaster.load(tmp_path / "model")
    forecast = loaded.predict()
    assert isinstance(forecast, pd.Series) and len(forecast) == 6
    np.testing.assert_allclose(forecast.to_numpy(), report["forecast"], rtol=1e-6)
