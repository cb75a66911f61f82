"""The xLSTM backbone as a plain ``nn.Module`` in your own PyTorch code: ``xLSTMBlockStack`` inside a
custom ``LightningModule``.

Runs on a CPU in well under a minute::

    python examples/08_lightning_module.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for fewer training steps (used by the test suite).

What it shows
-------------
1. A ``LightningModule`` that owns an input projection, an ``xLSTMBlockStack`` (mLSTM blocks with one sLSTM
   block, built from the config dataclasses) and a linear head, trained with ``lightning.Trainer`` on the
   CPU to predict the next value of noisy sine waves at every step (a causal sequence model).
2. The validation loss before and after a few hundred steps, next to the "repeat the last value" baseline.
3. Streaming with the trained stack: the recurrent state carried over from ``forward`` and then
   :meth:`xLSTMBlockStack.step` one value at a time gives the same prediction as running the whole
   sequence at once.
"""

from __future__ import annotations

import os

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from xlstm_ts import (
    mLSTMBlockConfig,
    mLSTMLayerConfig,
    sLSTMBlockConfig,
    sLSTMLayerConfig,
    xLSTMBlockStack,
    xLSTMBlockStackConfig,
)

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"
STEPS = 60 if FAST else 300


class NextValueModel(L.LightningModule):
    """``[B, S, 1]`` values -> ``[B, S, 1]`` prediction of the value after each step."""

    def __init__(self, embedding_dim: int = 32, learning_rate: float = 3e-3) -> None:
        super().__init__()
        config = xLSTMBlockStackConfig(
            mlstm_block=mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=2)),
            slstm_block=sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=2)),
            num_blocks=3,
            slstm_at=[1],
            embedding_dim=embedding_dim,
        )
        self.inp = nn.Linear(1, embedding_dim)
        self.backbone = xLSTMBlockStack(config)
        self.out = nn.Linear(embedding_dim, 1)
        self.learning_rate = learning_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.backbone(self.inp(x)))

    def _loss(self, batch) -> torch.Tensor:
        (x,) = batch
        return nn.functional.mse_loss(self(x[:, :-1]), x[:, 1:])

    def training_step(self, batch, batch_idx):
        loss = self._loss(batch)
        self.log("train_loss", loss, prog_bar=False)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.learning_rate)


def waves(n: int, length: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    freq, phase = rng.uniform(0.1, 0.4, size=(n, 1)), rng.uniform(0, 2 * np.pi, size=(n, 1))
    x = np.sin(freq * t + phase) + 0.05 * rng.normal(size=(n, length))
    return torch.tensor(x[..., None], dtype=torch.float32)


@torch.no_grad()
def mse(model: NextValueModel, x: torch.Tensor) -> float:
    model.eval()
    return float(nn.functional.mse_loss(model(x[:, :-1]), x[:, 1:]))


def main() -> None:
    torch.manual_seed(0)
    train, val = waves(256, 48, seed=0), waves(64, 48, seed=1)
    model = NextValueModel()
    before = mse(model, val)
    model.train()  # mse() switched to eval mode
    trainer = L.Trainer(
        max_steps=STEPS,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        val_check_interval=STEPS,
        check_val_every_n_epoch=None,  # validate by step count (once, at the end), not per epoch
    )
    trainer.fit(
        model,
        DataLoader(TensorDataset(train), batch_size=32, shuffle=True),
        DataLoader(TensorDataset(val), batch_size=64),
    )
    after = mse(model, val)
    repeat = float(nn.functional.mse_loss(val[:, :-1], val[:, 1:]))
    print(f"1. LightningModule with {sum(p.numel() for p in model.parameters())} parameters, {STEPS} steps")
    print(
        f"2. validation MSE: untrained {before:.4f} -> trained {after:.4f} (repeat last value: {repeat:.4f})"
    )

    # 3. streaming: the state after 40 steps, then one step at a time, equals the whole sequence at once
    x = val[:2]
    with torch.no_grad():
        whole = model(x)
        hidden, state = model.backbone(model.inp(x[:, :40]), return_state=True)
        stepped = [model.out(hidden)]
        for t in range(40, x.shape[1]):
            h, state = model.backbone.step(model.inp(x[:, t : t + 1]), state)
            stepped.append(model.out(h))
    gap = float((torch.cat(stepped, dim=1) - whole).abs().max())
    print(f"3. streaming with the recurrent state: largest difference to the full pass {gap:.2e}")


if __name__ == "__main__":
    main()
