"""Rule-chosen words, on both sides of each threshold."""

from __future__ import annotations

import pytest

from barometre_pipeline.publish.report import wording
from barometre_pipeline.publish.report.wording import (
    OR_EQUIVALENCE,
    STABLE_MARGIN,
    association_verdict,
    change_verdict,
    comparison_verdict,
    difference_verdict,
    is_significant,
)


def test_significance_prefers_flag_then_q_value_then_p_value():
    assert is_significant({"significant": False, "q_value": 0.001, "p_value": 0.001}) is False
    assert is_significant({"significant": None, "q_value": 0.2, "p_value": 0.01}) is False
    assert is_significant({"q_value": 0.049}) is True
    assert is_significant({"p_value": 0.05}) is False
    assert is_significant({"p_value": float("nan")}) is None
    assert is_significant({"p_value": 0.08}, alpha=0.10) is True


def test_change_words():
    assert change_verdict(0.04, 0.01, 0.07, True) == "hausse significative"
    assert change_verdict(-0.04, -0.07, -0.01, True) == "baisse significative"
    # Not significant: stable only when the whole interval is within the margin.
    assert change_verdict(0.0, -STABLE_MARGIN, STABLE_MARGIN, False) == "stable"
    assert change_verdict(0.0, -STABLE_MARGIN, STABLE_MARGIN + 0.001, False) == \
        "trop imprécis pour conclure"
    assert change_verdict(0.0, -STABLE_MARGIN - 0.001, 0.01, None) == \
        "trop imprécis pour conclure"
    assert change_verdict(0.0, None, None, False) == "trop imprécis pour conclure"


def test_difference_words():
    assert difference_verdict(0.1, 0.05, 0.15, True) == "écart significatif"
    assert difference_verdict(0.0, -0.02, 0.029, False) == "écart non significatif"
    assert difference_verdict(0.0, -0.02, 0.031, False) == "trop imprécis pour conclure"


def test_association_words_never_causal():
    assert association_verdict(2.0, 1.5, 2.6, True) == "associé à un risque plus élevé"
    assert association_verdict(0.6, 0.5, 0.8, True) == "associé à un risque plus faible"
    assert association_verdict(1.0, 1 / OR_EQUIVALENCE, OR_EQUIVALENCE, False) == \
        "association non significative"
    assert association_verdict(1.0, 0.6, OR_EQUIVALENCE + 0.01, False) == \
        "trop imprécis pour conclure"
    for name, value in vars(wording).items():
        if isinstance(value, str) and not name.startswith("__"):
            assert "cause" not in value and "effet" not in value


@pytest.mark.parametrize("verdict,words", [
    ("higher", "pilote significativement plus élevé que la référence"),
    ("lower", "pilote significativement plus bas que la référence"),
    ("not_comparable", "non comparable"),
    ("indicative", "indicatif : incertitude de la référence inconnue"),
])
def test_comparison_words(verdict, words):
    assert comparison_verdict({"verdict": verdict}) == words


def test_not_different_comparison_is_too_imprecise_when_the_pilot_interval_is_wide():
    narrow = {"verdict": "not_different", "estimate_pilot": 0.30, "ci_low_pilot": 0.28,
              "ci_high_pilot": 0.325}
    wide = {**narrow, "ci_high_pilot": 0.335}
    assert comparison_verdict(narrow) == "écart non significatif"
    assert comparison_verdict(wide) == "trop imprécis pour conclure"
