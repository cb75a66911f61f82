"""Parameter checks shared by the dataset helpers (sklearn-style messages)."""

from __future__ import annotations

import math
import operator


def check_int(param: str, func: str, value: object, low: int) -> int:
    """``value`` as an int >= ``low`` (numpy integers accepted, bools refused), else ValueError."""
    try:
        ok = not isinstance(value, bool) and operator.index(value) >= low  # type: ignore[arg-type]
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"The {param!r} parameter of {func} must be an int in the range [{low}, inf). Got {value!r} instead."
        )
    return operator.index(value)  # type: ignore[arg-type]


def check_float(param: str, func: str, value: object, low: float | None = None) -> float:
    """``value`` as a finite float (>= ``low`` when given), else ValueError."""
    try:
        ok = not isinstance(value, bool) and math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        ok = False
    if ok and low is not None:
        ok = float(value) >= low  # type: ignore[arg-type]
    if not ok:
        where = "a finite float" if low is None else f"a float in the range [{low}, inf)"
        raise ValueError(f"The {param!r} parameter of {func} must be {where}. Got {value!r} instead.")
    return float(value)  # type: ignore[arg-type]
