"""Private LightningModule that trains a :class:`ForecastNetwork` (built inside ``fit``)."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch
from lightning.pytorch.callbacks import WeightAveraging

from ._network import ForecastNetwork
from .losses import forecast_loss


class ForecastModule(L.LightningModule):
    def __init__(
        self,
        network: ForecastNetwork,
        loss: str,
        quantiles: Sequence[float],
        learning_rate: float,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__()
        self.network = network
        self.loss_name = loss
        self.quantiles = tuple(quantiles)
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay

    def forward(self, batch: dict) -> torch.Tensor:
        return self.network(batch["x"], batch["past"], batch["future"], batch["static"])

    def batch_loss(self, batch: dict) -> torch.Tensor:
        """The training loss of one batch (a scalar tensor)."""
        return forecast_loss(self.loss_name, self(batch), batch["y"], self.quantiles)

    def _step(self, batch: dict, stage: str) -> torch.Tensor:
        loss = self.batch_loss(batch)
        self.log(
            f"{stage}_loss",
            loss,
            prog_bar=True,
            on_step=False,
            on_epoch=True,
            batch_size=batch["x"].shape[0],
            sync_dist=True,
        )
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self):
        optimiser = torch.optim.AdamW(
            [w for w in self.parameters() if w.requires_grad],
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
        )
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=self.learning_rate, total_steps=total
        )
        return {"optimizer": optimiser, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


class LateWeightAveraging(WeightAveraging):
    """Equal-weight average (SWA) of the parameters over the training steps after ``start_fraction``
    of all steps; the averaged weights replace the trained ones for validation and at the end."""

    def __init__(self, start_fraction: float) -> None:
        super().__init__()
        self.start_fraction = start_fraction
        self._start_step = 0

    def setup(self, trainer, pl_module, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage == "fit":
            self._start_step = int(self.start_fraction * trainer.estimated_stepping_batches)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and step_idx >= self._start_step

    def _has_average(self) -> bool:
        model = self._average_model
        return model is not None and int(model.n_averaged) > 0

    # Lightning swaps the average in for validation and at the end even when it was never updated
    # (it would then hold the initial weights); only do so once an average exists.
    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self._swapped = self._has_average()
        if self._swapped:
            super().on_validation_epoch_start(trainer, pl_module)

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if getattr(self, "_swapped", False):
            super().on_validation_epoch_end(trainer, pl_module)

    def on_train_end(self, trainer, pl_module) -> None:
        if self._has_average():
            super().on_train_end(trainer, pl_module)
