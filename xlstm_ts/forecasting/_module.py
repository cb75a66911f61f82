"""Private LightningModule that trains a :class:`ForecastNetwork` (built inside ``fit``)."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
import torch

from ._network import ForecastNetwork
from .losses import forecast_loss, window_losses


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

    def window_losses(self, batch: dict) -> torch.Tensor:
        """The training loss of every window of one batch, ``[B]``."""
        return window_losses(self.loss_name, self(batch), batch["y"], self.quantiles)

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


class LateWeightAveraging(L.Callback):
    """Equal-weight average (SWA) of the trained parameters over the steps after ``start_fraction`` of all
    steps; the average replaces the trained weights at the end of training.

    Kept on the training device and updated in place after each step, with the count on the
    host: no host-device synchronisation per step (Lightning's ``WeightAveraging`` compares a device
    counter every step).  When training ends before the window starts, the trained weights are kept."""

    def __init__(self, start_fraction: float) -> None:
        super().__init__()
        self.start_fraction = start_fraction
        self._start_step = 0
        self._average: list[torch.Tensor] | None = None
        self.n_averaged = 0

    @staticmethod
    def _params(pl_module) -> list[torch.Tensor]:
        return [w for w in pl_module.parameters() if w.requires_grad]

    def on_fit_start(self, trainer, pl_module) -> None:
        self._start_step = int(self.start_fraction * trainer.estimated_stepping_batches)
        self._average, self.n_averaged = None, 0

    @torch.no_grad()
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step <= self._start_step:  # global_step counts the step just taken
            return
        params = [w.detach() for w in self._params(pl_module)]
        if self._average is None:
            self._average = [w.clone() for w in params]
        else:  # running mean: avg += (w - avg) / n
            weight = 1.0 / (self.n_averaged + 1)
            for average, w in zip(self._average, params):
                average.lerp_(w, weight)
        self.n_averaged += 1

    @torch.no_grad()
    def on_train_end(self, trainer, pl_module) -> None:
        if self._average is not None:
            for w, average in zip(self._params(pl_module), self._average):
                w.copy_(average)
