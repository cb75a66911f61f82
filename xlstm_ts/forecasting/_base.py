"""What every forecaster shares, and the small protocol a concrete forecaster implements.

:class:`BaseForecaster` does the work common to all forecasters: it validates and snapshots the
parameters (from the class's constraint table), parses the input through :mod:`xlstm_ts.data`, scales it
(:class:`~xlstm_ts.data.scaling.PanelScaler`), builds training, prediction and backtest windows with the
one window path (:class:`~xlstm_ts.data.windowing.WindowDataset`), and implements ``predict``,
``backtest``, ``score``, ``save``, ``load`` and ``plot``.

A concrete forecaster lists its parameters in ``__init__`` (sklearn's rule: stored unchanged), extends
``_parameter_constraints``, and implements four methods, all working on **scaled** windows:

``_fit_model(train, val)``
    Learn from :class:`WindowDataset` batches (``val`` may be None).
``_forecast_batch(batch)``
    ``[B, H, Q]`` numpy forecasts (scaled) of a batch of windows.
``_model_state()``
    ``(config, tensors)``: the fitted model as JSON-serialisable data and tensors, for ``save``.
``_restore_model(config, tensors)``
    The inverse, for ``load``; raise :class:`~xlstm_ts.forecasting.persistence.ModelFileError` when the
    two disagree.

Everything after ``fit`` reads the snapshot ``params_`` taken by ``fit``, never the live constructor
values: a ``set_params`` after ``fit`` takes effect at the next ``fit``, as in scikit-learn.
"""

from __future__ import annotations

from ._core import BASE_CONSTRAINTS, FILL_METHODS
from ._saving import SavingForecaster

__all__ = ["BASE_CONSTRAINTS", "FILL_METHODS", "BaseForecaster"]


class BaseForecaster(SavingForecaster):
    """Base class of the forecasters (not used directly).  See the module docstring for the protocol.

    The shared code is split by topic along one line of inheritance: ``ForecasterCore`` (``_core.py``:
    parameters, protocol, ``fit``, ``predict``) <- ``EvaluatingForecaster`` (``_evaluation.py``:
    ``backtest``, ``score``, ``plot``) <- ``SavingForecaster`` (``_saving.py``: ``save``, ``load``).
    """

    # ----------------------------------------------------------------------------------------- tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.requires_fit = True
        tags.target_tags.required = False
        return tags
