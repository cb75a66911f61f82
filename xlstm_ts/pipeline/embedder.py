"""``xLSTMEmbedder``: sequences -> fixed-size embeddings from an xLSTM backbone, as an sklearn transformer."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

from ..forecasting import xLSTMForecaster
from ..forecasting.constraints import Param, fail
from ._base import SEQUENCE_CONSTRAINTS, SequenceEstimator
from ._network import ForecasterBackbone
from ._sequences import as_sequences

OBJECTIVES = ("forecast", "reconstruct")


def _next_step_loss(network: Any, x: torch.Tensor, _: Any) -> torch.Tensor:
    """Every hidden state predicts the next step's (standardised) channels."""
    predicted = network.step_head(network.hidden(x)[:, :-1])  # [B, L-1, C]
    return torch.nn.functional.mse_loss(predicted, network.standardise(x)[:, 1:])


def _reconstruction_loss(network: Any, x: torch.Tensor, _: Any) -> torch.Tensor:
    """The pooled embedding, through a linear decoder, reproduces the whole (standardised) window."""
    target = network.standardise(x)
    return torch.nn.functional.mse_loss(network(x).view_as(target), target)


class xLSTMEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, SequenceEstimator):
    """Embeddings of sequences from an xLSTM backbone: ``[n, L]`` or ``[n, L, C]`` -> ``[n, D]``.

    One row per window, so it can sit in the middle of a scikit-learn ``Pipeline`` (e.g. before a
    ``Ridge`` or a ``LogisticRegression``).  The backbone is trained on the data given to ``fit``,
    without labels, with one of two objectives:

    ``"forecast"``
        Next-step prediction: at every time step the hidden state predicts the next step's channels
        (mean squared error on standardised values).  Needs windows of at least 2 steps.
    ``"reconstruct"``
        An autoencoder: a linear decoder maps the pooled embedding back to the whole window.

    Or it is taken, without training, from a fitted :class:`~xlstm_ts.xLSTMForecaster`
    (:meth:`from_forecaster`).

    Parameters
    ----------
    objective : {"forecast", "reconstruct"}
        Training objective (ignored with ``forecaster``).
    forecaster : xLSTMForecaster, FrozenEstimator or None
        A fitted forecaster whose backbone ``fit`` copies instead of training one (see
        :meth:`from_forecaster`, which wraps it in ``sklearn.frozen.FrozenEstimator`` so that ``clone``,
        and so ``Pipeline`` and ``GridSearchCV``, keep it fitted).
    backbone : {"mlstm", "slstm", "mixed"} or xLSTMBlockStackConfig
        Block types of the backbone (``"mixed"``: an sLSTM block in the middle of mLSTM blocks), or a
        full backbone config (then ``embedding_dim``, ``num_blocks`` and ``num_heads`` are ignored).
    embedding_dim : int
        Width of the backbone; the embedding has ``embedding_dim`` values, or twice as many with
        ``pooling="both"``.
    num_blocks : int
        Number of xLSTM blocks.
    num_heads : int
        Heads of every mLSTM/sLSTM layer.
    pooling : {"both", "last", "mean"}
        How the hidden states over time become one vector: the last state, the mean, or both side by side.
    dropout : float
        Dropout in the backbone.
    learning_rate : float
        Learning rate of AdamW.
    weight_decay : float
        Weight decay of AdamW.
    batch_size : int
        Sequences per training step.
    max_epochs : int
        Passes over the training data.
    random_state : int or None
        Seed of the initialisation and of the batch order; None draws one from numpy's global generator.
    device : {"auto", "cpu", "cuda", "gpu", "mps"}
        Where to train and embed; ``"auto"`` takes a CUDA GPU when there is one.

    Attributes
    ----------
    network_ : torch.nn.Module
        The embedding network (on the CPU).
    n_features_in_ : int
        Sequence length ``L`` seen in ``fit`` (input of another length is rejected).
    n_channels_in_ : int
        Channels ``C`` per time step.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame.
    loss_curve_ : list of float
        Mean training loss of each epoch (empty when the backbone came from a forecaster).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from xlstm_ts.pipeline import xLSTMEmbedder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 16)).cumsum(axis=1)
    >>> y = X[:, -1] - X[:, 0]
    >>> embedder = xLSTMEmbedder(embedding_dim=8, max_epochs=2)
    >>> embedder.fit_transform(X).shape
    (40, 16)
    >>> embedder.get_feature_names_out()[:2].tolist()
    ['xlstmembedder0', 'xlstmembedder1']
    >>> model = make_pipeline(xLSTMEmbedder(max_epochs=2), Ridge()).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: ClassVar[dict[str, Param]] = {
        **SEQUENCE_CONSTRAINTS,
        "objective": Param("choice", choices=OBJECTIVES),
        "forecaster": Param("object", none=True),
    }

    def __init__(
        self,
        *,
        objective: str = "forecast",
        forecaster: Any = None,
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
        self.objective = objective
        self.forecaster = forecaster
        super().__init__(
            backbone=backbone,
            embedding_dim=embedding_dim,
            num_blocks=num_blocks,
            num_heads=num_heads,
            pooling=pooling,
            dropout=dropout,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_epochs=max_epochs,
            random_state=random_state,
            device=device,
        )

    @classmethod
    def from_forecaster(cls, forecaster: xLSTMForecaster, **params: Any) -> xLSTMEmbedder:
        """An embedder that uses the backbone of a fitted :class:`~xlstm_ts.xLSTMForecaster`.

        ``fit`` then trains nothing: it copies the forecaster's network and records the input's shape.
        The windows' channel 0 is the forecaster's target, channels 1.. its past covariates (in the order
        of its ``past_covariates``); forecasters with future or static covariates are not supported.
        ``params`` are other constructor arguments (``pooling``, ``device``).

        Examples
        --------
        >>> from xlstm_ts import xLSTMForecaster
        >>> from xlstm_ts.datasets import load_airline
        >>> from xlstm_ts.pipeline import sliding_windows
        >>> y = load_airline()
        >>> forecaster = xLSTMForecaster(horizon=6, lookback=24, max_epochs=1, verbose=False).fit(y)
        >>> windows = sliding_windows(y.to_numpy(), 24, stride=12)
        >>> embedder = xLSTMEmbedder.from_forecaster(forecaster, pooling="last")
        >>> embedder.fit_transform(windows).shape
        (11, 32)
        """
        check_is_fitted(forecaster, "network_")
        return cls(forecaster=FrozenEstimator(forecaster), **params)

    # ------------------------------------------------------------------------------------------ fit
    def _source_network(self, params: dict[str, Any]) -> Any:
        """The fitted forecaster's network named by ``forecaster`` (None when there is none)."""
        source = params["forecaster"]
        if source is None:
            return None
        inner = source.estimator if isinstance(source, FrozenEstimator) else source
        expected = "a fitted xLSTMForecaster, a FrozenEstimator of one, or None"
        if not isinstance(inner, xLSTMForecaster):
            fail("forecaster", type(self).__name__, expected, source)
        check_is_fitted(inner, "network_")
        network = inner.network_
        if network.n_future or network.n_static:
            raise ValueError(
                f"{type(self).__name__} can use the backbone of a forecaster without future or static "
                f"covariates only; this one has {network.n_future} future and {network.n_static} static "
                "covariate(s)."
            )
        return network

    def fit(self, X: Any, y: Any = None) -> xLSTMEmbedder:
        """Train the backbone on ``X`` (or copy the forecaster's); ``y`` is ignored.  Returns ``self``."""
        params = self._check_params()
        source = self._source_network(params)
        seqs, _ = as_sequences(self, X, reset=True)
        name = type(self).__name__
        if source is not None:
            expected = 1 + source.n_past
            if seqs.shape[2] != expected:
                raise ValueError(
                    f"{name} with this forecaster's backbone expects {expected} channel(s) (the target "
                    f"and {source.n_past} past covariate(s)); got {seqs.shape[2]}."
                )
            self.network_ = ForecasterBackbone(copy.deepcopy(source), params["pooling"]).eval()
            self.loss_curve_ = []
            self.device_ = "cpu"
        elif params["objective"] == "forecast":
            if seqs.shape[1] < 2:
                raise ValueError(
                    f"{name} with objective='forecast' needs sequences of at least 2 time steps; got "
                    f"1 feature(s) (time steps) per sequence. Use objective='reconstruct' for those."
                )
            self.network_ = self._fit_sequences(params, seqs, None, 0, _next_step_loss, step_head=True)
        else:
            n_values = seqs.shape[1] * seqs.shape[2]
            self.network_ = self._fit_sequences(params, seqs, None, n_values, _reconstruction_loss)
        self._n_features_out = int(self.network_.embedding_size)
        self.params_ = params
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Embeddings ``[n, D]`` (float64) of the sequences ``X``."""
        check_is_fitted(self, "network_")
        seqs, _ = as_sequences(self, X, reset=False)
        return self._run(seqs, "embed")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
