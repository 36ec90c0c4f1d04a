"""Number text in French and English conventions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from barometre_pipeline.sources.readers import detect_decimal, parse_number


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "expected"),
    [
        ("1 234,5", ",", None, 1234.5),
        ("1\u202f234,5", ",", None, 1234.5),  # narrow no-break space (Excel, LibreOffice)
        ("1\u00a0234\u00a0567", ",", None, 1234567.0),
        ("1.234.567,25", ",", None, 1234567.25),
        ("1.234,5", ",", ".", 1234.5),
        ("3,5", ",", None, 3.5),
        ("  -0,25 ", ",", None, -0.25),
        ("\u22123,5", ",", None, -3.5),  # typographic minus
        (",5", ",", None, 0.5),
        ("1,5E-3", ",", None, 0.0015),
        ("1,234.5", ".", ",", 1234.5),
        ("1 234.5", ".", None, 1234.5),
        ("12", ".", None, 12.0),
        ("+7.0", ".", None, 7.0),
    ],
)
def test_parse_number_reads_formatted_numbers(text, decimal, thousands, expected):
    result = parse_number(pd.Series([text]), decimal, thousands)
    assert result.iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "decimal", "thousands"),
    [
        ("12 34", ",", None),  # not groups of three: not silently 1234
        ("1.234", ".", None),  # with a decimal point the dot is the decimal: fine...
        ("3.5", ",", None),  # ...but a dot where a comma is declared is not a number
        ("abc", ",", None),
        ("", ",", None),
        ("NA", ".", None),
        ("12 %", ",", None),
        ("1,5", ".", None),
        ("1,2,3", ",", None),
    ],
)
def test_parse_number_gives_nan_for_anything_else(text, decimal, thousands):
    value = parse_number(pd.Series([text]), decimal, thousands).iloc[0]
    if text == "1.234":
        assert value == pytest.approx(1.234)
    else:
        assert math.isnan(value)


def test_parse_number_keeps_index_and_name_and_handles_missing():
    text = pd.Series(["1", None, "2,5"], index=[10, 11, 12], name="poids")
    result = parse_number(text, ",", None)
    assert list(result.index) == [10, 11, 12]
    assert result.name == "poids"
    assert result.dtype == "float64"
    assert math.isnan(result.loc[11])


def test_thousands_equal_to_decimal_is_refused():
    with pytest.raises(ValueError, match="cannot also be the decimal"):
        parse_number(pd.Series(["1"]), ",", ",")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3,5", "12", "0,25", "Fille"], ","),
        (["3.5", "12", "0.25"], "."),
        (["1.234", "2.500"], "."),  # dot-grouped integers do not vote
        (["1.234,5", "2.500"], ","),
        (["oui", "non"], "."),
    ],
)
def test_detect_decimal(values, expected):
    assert detect_decimal(pd.Series(values)) == expected
