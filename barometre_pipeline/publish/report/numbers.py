"""French number formats of the report: one function per kind of number, one convention each.

Every quoted proportion carries exactly one decimal and a no-break space before ``%`` ("27,7 %"),
so a reader (and a test) can tell a quoted figure from an axis tick, which never has a ``%``.
"""

from __future__ import annotations

import math

NBSP = "\u00a0"
MINUS = "\u2212"


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _decimal(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}"
    # A value that rounds to zero reads 0, not "−0" (a stable difference is no fall).
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]
    return text.replace(".", ",").replace("-", MINUS)


def percent(value: float) -> str:
    """A proportion in 0-1 as a French percentage with one decimal: ``0.2766`` -> ``27,7 %``."""
    return f"{_decimal(100 * value, 1)}{NBSP}%"


def points(value: float) -> str:
    """A difference of proportions in percentage points, signed: ``0.035`` -> ``+3,5 points``,
    ``-0.0004`` -> ``0,0 point``. French puts "point" in the singular below 2 (``1,9 point``),
    judged on the number as printed."""
    number = _decimal(100 * value, 1)
    printed = float(number.replace(MINUS, "-").replace(",", "."))
    sign = "+" if printed > 0 else ""
    unit = "point" if abs(printed) < 2 else "points"
    return f"{sign}{number}{NBSP}{unit}"


def ratio(value: float) -> str:
    """An odds ratio with two decimals: ``1.6344`` -> ``1,63``."""
    return _decimal(value, 2)


def count(value: float) -> str:
    """A whole count with no-break thin spaces between thousands: ``4113`` -> ``4 113``."""
    return f"{int(round(value)):,}".replace(",", "\u202f")


def p_value(value: float) -> str:
    if value < 0.001:
        return "< 0,001"
    return _decimal(value, 3)


def percent_int(value: float) -> str:
    """A round proportion such as a confidence level: ``0.95`` -> ``95 %``."""
    return f"{_decimal(100 * value, 0)}{NBSP}%"


FORMATS = {"percent": percent, "percent_int": percent_int, "points": points, "ratio": ratio, "count": count,
           "p_value": p_value}
