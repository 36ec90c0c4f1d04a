"""How numbers read on the site, in French and English; ``static/site.js`` applies the same rules
and the browser test checks displayed text against these functions.

French: ``26,1 %`` (narrow no-break space before %, decimal comma, narrow no-break space between
thousands); English: ``26.1%`` and ``4,108``. Negative values use the minus sign (U+2212).
"""

from __future__ import annotations

NNBSP = "\u202f"
MINUS = "\u2212"


def _fixed(value: float, digits: int, language: str) -> str:
    text = f"{abs(value):.{digits}f}"
    if language == "fr":
        text = text.replace(".", ",")
    # Round-to-zero negatives read as 0, not "−0".
    negative = value < 0 and float(f"{abs(value):.{digits}f}") != 0
    return (MINUS if negative else "") + text


def percent(value: float | None, language: str = "fr") -> str:
    """A proportion in 0–1 as a percentage with one decimal."""
    if value is None:
        return "–"
    text = _fixed(100 * value, 1, language)
    return f"{text}{NNBSP}%" if language == "fr" else f"{text}%"


def count(value: float | None, language: str = "fr") -> str:
    """A whole number with thousands separators."""
    if value is None:
        return "–"
    digits = f"{round(value):,}"
    return digits.replace(",", NNBSP) if language == "fr" else digits
