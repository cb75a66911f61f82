"""Constraint tables: what every hyperparameter of a forecaster may be, as data.

Each estimator class has one table (``_parameter_constraints``, a dict ``name -> Param``) in the spirit
of scikit-learn's ``_parameter_constraints``.  One table serves three purposes:

* :func:`validate` checks the parameters at ``fit`` (and the parameters of a loaded model), raising
  sklearn's ``InvalidParameterError`` with sklearn's message template and the calling class's name:
  ``The 'horizon' parameter of xLSTMForecaster must be an int in the range [1, inf). Got 0 instead.``
* :func:`normalise` turns numpy scalars (what ``GridSearchCV`` with an array grid passes) into Python
  scalars and single covariate names into one-element tuples, so the fitted snapshot is plain data.
* The tuning layer (:func:`xlstm_ts.tuning.default_search_space`) derives default search spaces from the
  entries' search hints: ``search`` and ``log``, and for the conditional or relative ones ``per``,
  ``upto`` and ``search_when``.  Only entries with a ``search`` hint (or an ``upto`` hint) are searched.

Examples
--------
>>> table = {"horizon": Param("int", low=1), "loss": Param("choice", choices=("mae", "mse"))}
>>> validate(table, {"horizon": 3, "loss": "mae"}, "Demo")
>>> validate(table, {"horizon": 0, "loss": "mae"}, "Demo")
Traceback (most recent call last):
...
sklearn.utils._param_validation.InvalidParameterError: The 'horizon' parameter of Demo must be an int in the range [1, inf). Got 0 instead.
>>> normalise(table, {"horizon": __import__("numpy").int64(3)})["horizon"].__class__.__name__
'int'
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

#: The kinds of parameter a table can describe.
KINDS = (
    "int",
    "float",
    "bool",
    "str",
    "choice",
    "names",
    "quantiles",
    "int_list",
    "dict",
    "object",
    "threads",
)


@dataclass(frozen=True)
class Param:
    """One entry of a constraint table.

    Parameters
    ----------
    kind : str
        ``"int"``, ``"float"`` (an interval ``low``..``high``), ``"bool"``, ``"str"``, ``"choice"`` (one of
        ``choices``), ``"names"`` (a column name or a sequence of them), ``"quantiles"`` (an increasing
        sequence of distinct levels in (0, 1) containing 0.5), ``"int_list"`` (a sequence of ints >= ``low``),
        ``"dict"``, ``"object"`` (anything; checked by the estimator), ``"threads"`` (``"auto"`` or an int >= 1).
    low, high : float, optional
        Bounds of ``int``/``float`` (None: unbounded).
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the range.
    choices : tuple
        The allowed values of ``choice`` (may include None).
    none : bool
        Whether None is also allowed.
    instances : tuple of type
        Objects of these types are accepted as they are (e.g. a full config object instead of a name).
    when : (str, tuple), optional
        ``(other, values)``: the parameter is used -- and checked -- only while the parameter ``other`` has
        one of ``values`` (e.g. ``quantiles`` only with ``loss="quantile"``).
    search : tuple, optional
        Default search values for tuning.  For ``int``/``float`` a 2-tuple is a range ``(low, high)``
        (an int range includes both ends); any other tuple, and the hint of every other kind, lists the
        values to try (categorical).  None: not searched by default.
    log : bool
        Sample the search range on a log scale.
    per : str, optional
        The searched values are multiples of this other parameter (e.g. ``lookback`` in horizons).
    upto : str, optional
        For ``int_list``: search one position in ``[low, value of upto)``, as a one-element list (e.g.
        the sLSTM block of a mixed backbone among ``num_blocks`` blocks).
    search_when : (str, tuple), optional
        ``(other, values)``: searched only while ``other`` (sampled earlier, or the estimator's own
        value) has one of ``values``; unlike ``when`` it does not change validation.
    """

    kind: str
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    choices: tuple = ()
    none: bool = False
    instances: tuple[type, ...] = ()
    when: tuple[str, tuple] | None = None
    search: tuple | None = None
    log: bool = False
    per: str | None = None
    upto: str | None = None
    search_when: tuple[str, tuple] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param kind must be one of {KINDS}; got {self.kind!r}.")

    # ------------------------------------------------------------------------------------------ text
    def describe(self) -> str:
        """What a valid value is, in the words of sklearn's messages."""
        if self.kind in ("int", "float"):
            left = "[" if self.closed in ("both", "left") and self.low is not None else "("
            right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
            low = "-inf" if self.low is None else repr(self.low)
            high = "inf" if self.high is None else repr(self.high)
            text = f"{'an int' if self.kind == 'int' else 'a float'} in the range {left}{low}, {high}{right}"
        elif self.kind == "bool":
            text = "a bool"
        elif self.kind == "str":
            text = "a str"
        elif self.kind == "choice":
            names = sorted(repr(c) for c in self.choices if c is not None)
            text = "a str among {" + ", ".join(names) + "}" + (" or None" if None in self.choices else "")
        elif self.kind == "names":
            text = "a column name (str) or a sequence of column names"
        elif self.kind == "quantiles":
            text = "a non-empty increasing sequence of distinct floats in (0, 1) containing 0.5"
        elif self.kind == "int_list":
            text = f"a sequence of ints >= {self.low}"
        elif self.kind == "dict":
            text = "a dict"
        elif self.kind == "threads":
            text = "'auto' or an int in the range [1, inf)"
        else:
            text = "any object"
        for kind in self.instances:
            text += f" or an instance of {kind.__name__}"
        return text + (" or None" if self.none else "")

    def active(self, params: Mapping[str, Any]) -> bool:
        """Whether the parameter is in use with these values of the others (see ``when``)."""
        return self.when is None or params.get(self.when[0]) in self.when[1]

    # ----------------------------------------------------------------------------------------- check
    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is valid for this entry."""
        if self.instances and isinstance(value, self.instances):
            return True
        if value is None:
            return self.none or (self.kind == "choice" and None in self.choices) or self.kind == "object"
        kind = self.kind
        if kind in ("int", "float"):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                return False
            if kind == "int" and not isinstance(value, numbers.Integral):
                return False
            if not math.isfinite(float(value)):
                return False
            return self._in_range(float(value))
        if kind == "bool":
            return isinstance(value, (bool, np.bool_))
        if kind == "str":
            return isinstance(value, str)
        if kind == "choice":
            return isinstance(value, str) and value in self.choices
        if kind == "names":
            return isinstance(value, str) or (_is_sequence(value) and all(isinstance(v, str) for v in value))
        if kind == "quantiles":
            return _valid_quantiles(value)
        if kind == "int_list":
            return _is_sequence(value) and all(
                isinstance(v, numbers.Integral)
                and not isinstance(v, (bool, np.bool_))
                and int(v) >= (self.low or 0)
                for v in value
            )
        if kind == "dict":
            return isinstance(value, dict)
        if kind == "threads":
            return value == "auto" or (
                isinstance(value, numbers.Integral)
                and not isinstance(value, (bool, np.bool_))
                and int(value) >= 1
            )
        return True

    def _in_range(self, v: float) -> bool:
        if self.low is not None and (v < self.low or (v == self.low and self.closed in ("right", "neither"))):
            return False
        return not (
            self.high is not None
            and (v > self.high or (v == self.high and self.closed in ("left", "neither")))
        )


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))


def _valid_quantiles(value: Any) -> bool:
    if not _is_sequence(value) or len(value) == 0:
        return False
    if any(isinstance(q, (str, bytes, bool, np.bool_)) or not isinstance(q, numbers.Real) for q in value):
        return False
    qs = [float(q) for q in value]
    return all(0 < q < 1 for q in qs) and all(a < b for a, b in itertools.pairwise(qs)) and 0.5 in qs


def fail(name: str, caller: str, expected: str, value: Any) -> None:
    """Raise sklearn's ``InvalidParameterError`` with sklearn's template."""
    raise InvalidParameterError(
        f"The {name!r} parameter of {caller} must be {expected}. Got {value!r} instead."
    )


def validate(table: Mapping[str, Param], params: Mapping[str, Any], caller: str) -> None:
    """Check ``params`` against ``table`` (names not in the table, and parameters not in use, are not
    checked)."""
    for name, value in params.items():
        spec = table.get(name)
        if spec is not None and spec.active(params) and not spec.accepts(value):
            fail(name, caller, spec.describe(), value)


def plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, recursively through lists, tuples and dicts; arrays -> lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def normalise(table: Mapping[str, Param], params: Mapping[str, Any]) -> dict[str, Any]:
    """A plain copy of ``params``: numpy scalars become Python scalars; sequences in ``names``,
    ``quantiles`` and ``int_list`` entries become tuples (a single name becomes a one-element tuple);
    ``quantiles`` become floats.  A parameter not in use is only made plain (lists become tuples)."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        spec = table.get(name)
        if spec is not None and not spec.active(params):
            value = plain(value)
            out[name] = tuple(value) if isinstance(value, list) else value
            continue
        kind = spec.kind if spec is not None else "object"
        if kind == "names":
            value = () if value is None else (value,) if isinstance(value, str) else tuple(plain(value))
        elif kind == "quantiles":
            value = tuple(float(q) for q in plain(value))
        elif kind == "int_list" and value is not None:
            value = tuple(int(v) for v in plain(value))
        elif kind == "float" and value is not None:
            value = float(plain(value))
        elif kind in ("int", "bool", "choice", "str", "dict", "threads"):
            value = plain(value)
        out[name] = value
    return out
