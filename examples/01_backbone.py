"""Backbone tour: build a mixed xLSTM stack, stream a long sequence, and train it briefly.

Runs on a CPU in about a minute or two (200 training steps)::

    python examples/01_backbone.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for 40 training steps (used by the test suite; the fit is then rough).

What it shows
-------------
1. An ``xLSTMBlockStack`` with mLSTM blocks and one sLSTM block (reference config names).
2. Any sequence length, and streaming: a sequence processed in pieces with the state carried
   over gives the same output as in one pass, and ``step`` continues it one time step at a time.
3. A few hundred Adam steps fitting a toy next-step prediction task on noisy sine waves, with a
   linear read-out on top of the backbone.
"""

from __future__ import annotations

import math
import os
import time

import torch
from torch import nn

from xlstm_ts import mLSTMBlockConfig, sLSTMBlockConfig, xLSTMBlockStack, xLSTMBlockStackConfig

STEPS = 40 if os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1" else 200


def make_waves(batch: int, length: int, generator: torch.Generator) -> torch.Tensor:
    """Noisy sine waves with random period and phase, shape [batch, length, 1]."""
    t = torch.arange(length, dtype=torch.float32)
    period = 8 + 24 * torch.rand(batch, 1, generator=generator)
    phase = 2 * math.pi * torch.rand(batch, 1, generator=generator)
    clean = torch.sin(2 * math.pi * t / period + phase)
    return (clean + 0.05 * torch.randn(batch, length, generator=generator))[..., None]


def main() -> None:
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    config = xLSTMBlockStackConfig(
        mlstm_block=mLSTMBlockConfig(),
        slstm_block=sLSTMBlockConfig(),
        num_blocks=3,
        embedding_dim=32,
        slstm_at=[1],
    )
    backbone = xLSTMBlockStack(config)
    print(
        f"block map {config.block_map} (0 = mLSTM, 1 = sLSTM), "
        f"{sum(p.numel() for p in backbone.parameters()):,} parameters"
    )

    # --- streaming: whole == pieces == steps -------------------------------------------
    backbone.eval()
    x = torch.randn(2, 300, 32)
    with torch.no_grad():
        whole = backbone(x)
        first, state = backbone(x[:, :200], return_state=True)
        second, state = backbone(x[:, 200:299], state=state, return_state=True)
        last, state = backbone.step(x[:, 299:], state)
    pieces = torch.cat([first, second, last], dim=1)
    print(f"streaming: max |whole - pieces/step| = {(whole - pieces).abs().max():.2e}")

    # --- a short training run -----------------------------------------------------------
    model = nn.Sequential()
    model.add_module("embed", nn.Linear(1, 32))
    model.add_module("backbone", backbone)
    model.add_module("head", nn.Linear(32, 1))
    backbone.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    test = make_waves(64, 97, gen)
    start = time.perf_counter()
    for step in range(1, STEPS + 1):
        batch = make_waves(32, 97, gen)
        loss = nn.functional.mse_loss(model(batch[:, :-1]), batch[:, 1:])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % (STEPS // 4) == 0:
            with torch.no_grad():
                test_loss = nn.functional.mse_loss(model(test[:, :-1]), test[:, 1:]).item()
            print(f"step {step:3d}  train mse {loss.item():.4f}  test mse {test_loss:.4f}")
    print(
        f"trained in {time.perf_counter() - start:.1f} s "
        f"(predicting the last value would give test mse "
        f"{nn.functional.mse_loss(test[:, :-1], test[:, 1:]).item():.4f})"
    )


if __name__ == "__main__":
    main()
