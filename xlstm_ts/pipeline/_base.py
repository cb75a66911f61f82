"""What the three sequence estimators share: the constraint table of the network and training
hyperparameters, the snapshot taken at ``fit``, building and training the network, and batched inference.

The shared parameters are this base's ``__init__`` (stored unchanged); a concrete estimator with more
of its own lists them all in its ``__init__`` and passes the shared ones on, extends
``_parameter_constraints``, validates its input with :func:`~xlstm_ts.pipeline._sequences.as_sequences`
and calls :meth:`SequenceEstimator._fit_sequences` with its targets and loss.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError

from ..forecasting.constraints import Param, normalise, validate
from ..nn import xLSTMBlockStackConfig
from ..nn.configs import flat_stack_config
from ._network import BACKBONES, POOLINGS, SequenceNetwork
from ._training import DEVICES, LoopOptions, batched, resolve_device, seeded, train_network

#: The hyperparameters every sequence estimator has.
SEQUENCE_CONSTRAINTS: dict[str, Param] = {
    "backbone": Param("choice", choices=BACKBONES, instances=(xLSTMBlockStackConfig,)),
    "embedding_dim": Param("int", low=2, search=(8, 128), log=True),
    "num_blocks": Param("int", low=1, search=(1, 4)),
    "num_heads": Param("int", low=1, search=(1, 2, 4)),
    "pooling": Param("choice", choices=POOLINGS),
    "dropout": Param("float", low=0.0, high=1.0, closed="left", search=(0.0, 0.3)),
    "learning_rate": Param("float", low=0.0, high=10.0, closed="right", search=(1e-4, 3e-2), log=True),
    "weight_decay": Param("float", low=0.0, search=(0.0, 0.1)),
    "batch_size": Param("int", low=1, search=(8, 128), log=True),
    "max_epochs": Param("int", low=1, search=(5, 100), log=True),
    "random_state": Param("int", low=0, none=True),
    "device": Param("choice", choices=DEVICES),
}


class SequenceEstimator(BaseEstimator):
    """Base class of :class:`xLSTMEmbedder`, :class:`xLSTMRegressor` and :class:`xLSTMClassifier` (not
    used directly)."""

    _parameter_constraints: ClassVar[dict[str, Param]] = SEQUENCE_CONSTRAINTS
    network_: Any

    def __init__(
        self,
        *,
        backbone: Any = "mlstm",
        embedding_dim: int = 16,
        num_blocks: int = 1,
        num_heads: int = 2,
        pooling: str = "both",
        dropout: float = 0.0,
        learning_rate: float = 1e-2,
        weight_decay: float = 0.0,
        batch_size: int = 32,
        max_epochs: int = 30,
        random_state: int | None = 0,
        device: str = "auto",
    ) -> None:
        self.backbone = backbone
        self.embedding_dim = embedding_dim
        self.num_blocks = num_blocks
        self.num_heads = num_heads
        self.pooling = pooling
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.device = device

    # ---------------------------------------------------------------------------------- parameters
    def _check_params(self) -> dict[str, Any]:
        """Validate the constructor values against the table; return the plain snapshot (``params_``)."""
        caller = type(self).__name__
        params = self.get_params(deep=False)
        validate(self._parameter_constraints, params, caller)
        params = normalise(self._parameter_constraints, params)
        try:  # values that pass one by one but not together (e.g. heads not dividing the width)
            self._backbone_config(params)
        except ValueError as err:
            raise InvalidParameterError(f"Invalid backbone hyperparameters for {caller}: {err}") from err
        return params

    def _backbone_config(self, params: dict[str, Any]) -> xLSTMBlockStackConfig:
        return flat_stack_config(
            params["backbone"],
            params["embedding_dim"],
            params["num_blocks"],
            params["num_heads"],
            params["dropout"],
        )

    # ------------------------------------------------------------------------------------ training
    def _fit_sequences(
        self,
        params: dict[str, Any],
        X: np.ndarray,
        targets: torch.Tensor | None,
        n_outputs: int,
        loss: Callable[[Any, torch.Tensor, Any], torch.Tensor],
        step_head: bool = False,
    ) -> SequenceNetwork:
        """Build a :class:`SequenceNetwork` for ``X`` (``[n, L, C]`` float32), standardise its channels
        with statistics of ``X``, train it with ``loss`` and return it (on the CPU, in eval mode).  Sets
        ``loss_curve_`` (mean training loss per epoch) and ``device_``."""
        device = resolve_device(params["device"], type(self).__name__)
        seed = params["random_state"]
        if seed is None:  # sklearn's convention: None draws from numpy's global generator
            seed = int(check_random_state(None).randint(0, 2**31 - 1))
        flat = X.reshape(-1, X.shape[2]).astype(np.float64)
        loc, spread = flat.mean(axis=0), flat.std(axis=0)
        scale = np.where(spread > 1e-12 * np.maximum(np.abs(loc), 1.0), spread, 1.0)
        with seeded(seed):
            network = SequenceNetwork(
                self._backbone_config(params),
                n_channels=X.shape[2],
                n_outputs=n_outputs,
                pooling=params["pooling"],
                dropout=params["dropout"],
                step_head=step_head,
            )
            network.set_scaling(
                torch.as_tensor(loc, dtype=torch.float32), torch.as_tensor(scale, dtype=torch.float32)
            )
            options = LoopOptions(
                max_epochs=params["max_epochs"],
                batch_size=params["batch_size"],
                learning_rate=params["learning_rate"],
                weight_decay=params["weight_decay"],
                seed=seed,
                device=device,
            )
            self.loss_curve_ = train_network(network, loss, torch.from_numpy(X), targets, options)
        self.device_ = str(device)
        return network

    # ----------------------------------------------------------------------------------- inference
    def _run(self, X: np.ndarray, method: str) -> np.ndarray:
        """``network_.<method>`` over ``X`` (``[n, L, C]`` float32) in batches, where the model was
        trained; float64 ``[n, ...]``.

        On the CPU a float64 copy of the network does the work: in float32 the result for one row can
        change in the last digits with the batch it is computed in (the matrix kernels block the work by
        batch size), and predictions must not depend on which other rows came with them."""
        device = torch.device(getattr(self, "device_", "cpu"))
        if device.type == "cuda" and not torch.cuda.is_available():
            device = torch.device("cpu")  # unpickled on a machine without a GPU
        dtype = torch.float64 if device.type == "cpu" else torch.float32
        network = copy.deepcopy(self.network_).to(device=device, dtype=dtype).eval()
        fn = getattr(network, method)
        return batched(fn, torch.from_numpy(X).to(dtype), device).double().numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.requires_fit = True
        tags.input_tags.three_d_array = True
        return tags
