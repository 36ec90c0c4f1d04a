"""Numbers written as French (or English) text: "1 234,5", "1.234,5", "3,5", "−2", "1 234".

Source files keep numbers as text until staging; these functions decide which decimal mark a file
uses and turn text into floats. Anything that is not unambiguously a number becomes NaN, and the
caller turns it into a reject: a value is never half-parsed.
"""

from __future__ import annotations

import re

import pandas as pd

# Word processors and spreadsheets group French thousands with spaces of several kinds:
# ordinary, no-break (U+00A0), narrow no-break (U+202F, LibreOffice and Excel since 2019), thin.
SPACE_SEPARATORS = " \u00a0\u202f\u2009"
_MINUS_SIGNS = "\u2212\u2013"  # typographic minus and en dash used as minus

_DECIMAL_COMMA = re.compile(r"^[+\-\u2212]?\d{1,3}(?:[ .\u00a0\u202f\u2009]?\d{3})*,\d+$")
_DECIMAL_POINT = re.compile(r"^[+\-\u2212]?\d+\.\d+$")
_DOT_GROUPED_INTEGER = re.compile(r"^[+\-\u2212]?\d{1,3}(?:\.\d{3})+$")


def detect_decimal(values: pd.Series) -> str:
    """``","`` if the sample's numbers are written with a decimal comma, else ``"."``.

    "1.234" is ambiguous (a thousand with dot grouping, or one and a bit) and does not vote.
    """
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return "."
    comma_votes = int(text.str.match(_DECIMAL_COMMA).sum())
    point_votes = int(
        (text.str.match(_DECIMAL_POINT) & ~text.str.match(_DOT_GROUPED_INTEGER)).sum()
    )
    return "," if comma_votes > point_votes else "."


def _separator_class(decimal: str, thousands: str | None) -> str:
    if thousands is None:
        # Space-like grouping is unambiguous; dot grouping only goes with a decimal comma.
        separators = SPACE_SEPARATORS + ("." if decimal == "," else "")
    elif thousands in SPACE_SEPARATORS:
        separators = SPACE_SEPARATORS
    else:
        separators = thousands
    return "[" + re.escape(separators) + "]"


def number_pattern(decimal: str, thousands: str | None) -> re.Pattern[str]:
    """The full-match pattern of a number written with ``decimal`` and ``thousands`` grouping
    (``None`` = space-like grouping, plus ``.`` with a decimal comma)."""
    if decimal not in {".", ","}:
        raise ValueError(f"decimal mark must be '.' or ',', got {decimal!r}")
    if thousands is not None and thousands == decimal:
        raise ValueError(f"thousands separator {thousands!r} cannot also be the decimal mark")
    separator = _separator_class(decimal, thousands)
    point = re.escape(decimal)
    integer = rf"(?:\d{{1,3}}(?:{separator}\d{{3}})+|\d+)"
    mantissa = rf"(?:{integer}(?:{point}\d*)?|{point}\d+)"
    return re.compile(rf"[+\-]?{mantissa}(?:[eE][+\-]?\d+)?")


def parse_number(text: pd.Series, decimal: str, thousands: str | None) -> pd.Series:
    """Floats from number text (``"1 234,5"`` -> 1234.5 with ``decimal=","``); non-numbers -> NaN.

    Surrounding whitespace and typographic minus signs are accepted; digit groups must be groups of
    three, so "12 34" is not silently read as 1234.
    """
    as_text = text.astype("string").str.strip()
    for minus in _MINUS_SIGNS:
        as_text = as_text.str.replace(minus, "-", regex=False)
    valid = as_text.str.fullmatch(number_pattern(decimal, thousands)).fillna(False).astype(bool)
    separators = _separator_class(decimal, thousands)
    canonical = as_text.where(valid).str.replace(separators, "", regex=True)
    if decimal == ",":
        canonical = canonical.str.replace(",", ".", regex=False)
    # Python's float() rounds correctly; pandas' own string-to-float parser can be off by one ulp.
    numbers = canonical.to_numpy(dtype=object, na_value=None).astype("float64")
    return pd.Series(numbers, index=text.index, name=text.name)
