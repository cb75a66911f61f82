"""Search spaces: what a trial samples, as a function ``trial -> dict of estimator parameters``.

The default space of an estimator comes from its constraint table (``parameter_constraints()``, see
:mod:`xlstm_ts.forecasting._constraints`): every entry with a ``search`` hint is sampled, in the table's
order, so that conditions (``search_when``) and relative ranges (``per``, ``upto``) can read parameters
sampled before them.  A user space is either a callable ``trial -> dict`` or a dict mapping estimator
parameter names to Optuna distributions (or lists of choices, or fixed values).

Nothing here imports Optuna at import time: a space only calls the ``suggest_*`` methods of the trial it
is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: The name under which a relative parameter (``per``) is sampled: ``lookback`` in horizons is the Optuna
#: parameter ``lookback_per_horizon``; the estimator gets ``lookback = value * horizon``.
PER_SUFFIX = "_per_"

#: What a search space is: a callable from an Optuna trial to estimator parameters.
SpaceFunction = Callable[[Any], dict[str, Any]]


@dataclass(frozen=True)
class Dimension:
    """One sampled estimator parameter of a :class:`SearchSpace`.

    ``kind`` is ``"int"``, ``"float"`` (a range ``low``..``high``, on a log scale when ``log``),
    ``"categorical"`` (one of ``choices``) or ``"position"`` (an int in ``[0, value of upto)``, given to the
    estimator as a one-element tuple).  ``per`` scales the sampled value by another parameter; ``when``
    samples it only while another parameter has one of the listed values.
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    per: str | None = None
    upto: str | None = None
    when: tuple[str, tuple] | None = None

    @property
    def optuna_name(self) -> str:
        """The name of the Optuna parameter (``lookback_per_horizon`` for a lookback in horizons)."""
        return f"{self.name}{PER_SUFFIX}{self.per}" if self.per else self.name

    def describe(self) -> str:
        if self.kind == "categorical":
            text = f"{self.optuna_name} in {list(self.choices)}"
        elif self.kind == "position":
            text = f"{self.name} = [i], i in [0, {self.upto})"
        else:
            text = f"{self.optuna_name} in [{self.low}, {self.high}]" + (" (log)" if self.log else "")
        if self.per:
            text += f" -> {self.name} = value * {self.per}"
        if self.when and self.when[0] == self.name:
            text += f" (only while the estimator's {self.name} is one of these)"
        elif self.when:
            text += f" when {self.when[0]} in {list(self.when[1])}"
        return text


class SearchSpace:
    """A search space over estimator parameters: call it with an Optuna trial to sample one point.

    Parameters
    ----------
    dimensions : sequence of Dimension
        What to sample, in order (a dimension may depend on those before it).
    fixed : dict
        The estimator's own values of the other parameters (read by ``per``, ``upto`` and ``when``).

    Examples
    --------
    >>> from xlstm_ts import xLSTMForecaster
    >>> space = default_search_space(xLSTMForecaster(horizon=6), max_lookback=36)
    >>> space.names()[:4]
    ['lookback', 'scaler', 'backbone', 'embedding_dim']
    >>> print(space.describe().splitlines()[0])
    lookback_per_horizon in [2, 6] -> lookback = value * horizon
    """

    def __init__(self, dimensions, fixed: Mapping[str, Any] | None = None) -> None:
        self.dimensions = tuple(dimensions)
        self.fixed = dict(fixed or {})

    def names(self) -> list[str]:
        """The estimator parameters this space may set."""
        return [d.name for d in self.dimensions]

    def describe(self) -> str:
        """One line per dimension."""
        return "\n".join(d.describe() for d in self.dimensions)

    def __repr__(self) -> str:
        return f"SearchSpace({self.names()})"

    def __call__(self, trial) -> dict[str, Any]:
        params: dict[str, Any] = {}

        def value_of(name: str) -> Any:
            return params[name] if name in params else self.fixed.get(name)

        for d in self.dimensions:
            if d.when is not None and value_of(d.when[0]) not in d.when[1]:
                continue
            if d.kind == "position":
                upto = int(value_of(d.upto or ""))
                params[d.name] = (trial.suggest_int(d.optuna_name, 0, max(upto - 1, 0)),)
                continue
            if d.kind == "categorical":
                value = trial.suggest_categorical(d.optuna_name, list(d.choices))
            elif d.kind == "int":
                value = trial.suggest_int(d.optuna_name, int(d.low or 0), int(d.high or 0), log=d.log)
            else:
                value = trial.suggest_float(d.optuna_name, float(d.low or 0), float(d.high or 0), log=d.log)
            params[d.name] = value * value_of(d.per) if d.per else value
        return params


def _dimension(name: str, spec, fixed: Mapping[str, Any], max_lookback: int | None) -> Dimension | None:
    """The dimension of one constraint-table entry (None: not searched, or nothing left to search)."""
    when = spec.search_when
    if spec.upto is not None:
        return Dimension(name, "position", upto=spec.upto, when=when)
    hint = spec.search
    if hint is None:
        return None
    ranged = spec.kind in ("int", "float") and len(hint) == 2
    # the largest value that still fits the shortest training part (only for lookback-like entries)
    cap = None
    if max_lookback is not None and name == "lookback":
        cap = max_lookback // int(fixed.get(spec.per, 1)) if spec.per else max_lookback
    if ranged:
        low, high = hint
        if cap is not None:
            if cap < low:
                return None  # not even the smallest value fits: keep the estimator's own
            high = min(high, cap)
        return Dimension(name, spec.kind, low=low, high=high, log=spec.log, per=spec.per, when=when)
    choices = tuple(c for c in hint if cap is None or c <= cap)
    if not choices:
        return None
    return Dimension(name, "categorical", choices=choices, per=spec.per, when=when)


def default_search_space(estimator, max_lookback: int | None = None) -> SearchSpace:
    """The default search space of ``estimator``, from its constraint table's search hints.

    For :class:`~xlstm_ts.xLSTMForecaster` it samples the lookback (2 to 8 horizons), the scaler, the
    backbone type, width, blocks and heads (only for a named backbone), the sLSTM block of a mixed
    backbone, the dropout, the patch size, the learning rate (log scale) and the batch size (log scale).

    Parameters
    ----------
    estimator : forecaster
        Its ``parameter_constraints()`` give the dimensions; its current parameters give the
        values that conditions and relative ranges read when they are not sampled.
    max_lookback : int or None
        The longest lookback the data allows (e.g. the shortest training part of the first fold minus the
        horizon); larger lookbacks are left out of the space.

    Returns
    -------
    SearchSpace
    """
    tables = getattr(estimator, "parameter_constraints", None)
    if not callable(tables):
        raise TypeError(
            "default_search_space needs an estimator with a constraint table (a parameter_constraints() "
            f"method, as every xlstm-ts forecaster has); got {type(estimator).__name__}. Pass "
            "search_space= explicitly."
        )
    table = tables()
    fixed = estimator.get_params(deep=False)
    dims = [d for name, spec in table.items() if (d := _dimension(name, spec, fixed, max_lookback))]
    return SearchSpace(dims, fixed)


def _from_distributions(space: Mapping[str, Any]) -> SpaceFunction:
    """A space function from ``{name: optuna distribution | list of choices | fixed value}``."""
    from ._optuna import import_optuna

    distributions = import_optuna().distributions

    def sample(trial) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, dist in space.items():
            if isinstance(dist, distributions.FloatDistribution):
                out[name] = trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
            elif isinstance(dist, distributions.IntDistribution):
                out[name] = trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
            elif isinstance(dist, distributions.CategoricalDistribution):
                out[name] = trial.suggest_categorical(name, list(dist.choices))
            elif isinstance(dist, distributions.BaseDistribution):
                raise TypeError(
                    f"search_space[{name!r}]: unsupported distribution {type(dist).__name__}; use "
                    "FloatDistribution, IntDistribution or CategoricalDistribution."
                )
            elif isinstance(dist, list):
                out[name] = trial.suggest_categorical(name, dist)
            else:
                out[name] = dist  # a fixed value
        return out

    return sample


def resolve_space(search_space, estimator, max_lookback: int | None = None) -> SpaceFunction:
    """The space function for ``tune``'s ``search_space`` argument (None: the default space)."""
    if search_space is None:
        return default_search_space(estimator, max_lookback=max_lookback)
    if callable(search_space):
        return search_space
    if isinstance(search_space, Mapping):
        params = set(estimator.get_params(deep=False))
        unknown = sorted(set(search_space) - params)
        if unknown:
            raise ValueError(
                f"search_space names parameters {type(estimator).__name__} does not have: {unknown}; "
                f"valid ones include {sorted(params)[:8]}..."
            )
        return _from_distributions(search_space)
    raise TypeError(
        "search_space must be None (the default space), a callable trial -> dict of parameters, or a dict "
        f"of Optuna distributions; got {type(search_space).__name__}."
    )


__all__ = ["Dimension", "SearchSpace", "default_search_space", "resolve_space"]
