"""Words chosen by rule from the tests and intervals, never by hand.

- A change between waves is a "hausse significative" / "baisse significative" when its test says so
  (q-value where one is published, else p-value, at 5 %); otherwise it is "stable" only if the whole
  95 % interval of the change lies within ±STABLE_MARGIN; a wider interval is "trop imprécis pour
  conclure" (absence of evidence is not evidence of stability).
- A difference between groups, or between the pilot and a reference, reads the same way with
  "écart significatif" / "écart non significatif" / "trop imprécis pour conclure".
- An odds ratio is an association: "associé à un risque plus élevé / plus faible", never a cause.
"""

from __future__ import annotations

from collections.abc import Mapping

from barometre_pipeline.publish.report.numbers import is_missing

ALPHA = 0.05
# A non-significant change whose 95 % interval stays within ±3 points is called stable: smaller
# than the year-to-year movements the DEPP series reports (e.g. 18 % in 2013 to 28 % in 2022).
STABLE_MARGIN = 0.03
# A non-significant odds ratio whose interval stays within [1/1.5, 1.5] rules out a sizeable
# association; a wider one cannot tell.
OR_EQUIVALENCE = 1.5

SIGNIFICANT_RISE = "hausse significative"
SIGNIFICANT_FALL = "baisse significative"
STABLE = "stable"
NOT_SIGNIFICANT = "écart non significatif"
SIGNIFICANT_GAP = "écart significatif"
TOO_IMPRECISE = "trop imprécis pour conclure"
ASSOCIATED_HIGHER = "associé à un risque plus élevé"
ASSOCIATED_LOWER = "associé à un risque plus faible"
NO_ASSOCIATION_SHOWN = "association non significative"

COMPARISON_VERDICTS = {
    "higher": "pilote significativement plus élevé que la référence",
    "lower": "pilote significativement plus bas que la référence",
    "not_different": NOT_SIGNIFICANT,
    "indicative": "indicatif : incertitude de la référence inconnue",
    "not_comparable": "non comparable",
}


def is_significant(row: Mapping, alpha: float = ALPHA) -> bool | None:
    """The published test's answer: `significant`, else q-value, else p-value; None if no test."""
    flag = row.get("significant")
    if not is_missing(flag):
        return bool(flag)
    for column in ("q_value", "p_value"):
        value = row.get(column)
        if not is_missing(value):
            return float(value) < alpha
    return None


def change_verdict(estimate: float, ci_low: float, ci_high: float,
                   significant: bool | None) -> str:
    """Words for a change between two waves (a difference of proportions)."""
    if significant:
        return SIGNIFICANT_RISE if estimate > 0 else SIGNIFICANT_FALL
    if _within(ci_low, ci_high, -STABLE_MARGIN, STABLE_MARGIN):
        return STABLE
    return TOO_IMPRECISE


def difference_verdict(estimate: float, ci_low: float, ci_high: float,
                       significant: bool | None) -> str:
    """Words for a gap between two groups (a difference of proportions)."""
    if significant:
        return SIGNIFICANT_GAP
    if _within(ci_low, ci_high, -STABLE_MARGIN, STABLE_MARGIN):
        return NOT_SIGNIFICANT
    return TOO_IMPRECISE


def association_verdict(odds_ratio: float, ci_low: float, ci_high: float,
                        significant: bool | None) -> str:
    """Words for an odds ratio: an association, never an effect."""
    if significant:
        return ASSOCIATED_HIGHER if odds_ratio > 1 else ASSOCIATED_LOWER
    if _within(ci_low, ci_high, 1 / OR_EQUIVALENCE, OR_EQUIVALENCE):
        return NO_ASSOCIATION_SHOWN
    return TOO_IMPRECISE


def comparison_verdict(row: Mapping) -> str:
    """Words for one pilot-against-reference row, from its published verdict."""
    verdict = str(row.get("verdict") or "not_comparable")
    if verdict == "not_different" and not is_missing(row.get("ci_low_pilot")):
        # The test could not see a gap: say whether it could have seen one of STABLE_MARGIN.
        low = float(row["ci_low_pilot"]) - float(row["estimate_pilot"])
        high = float(row["ci_high_pilot"]) - float(row["estimate_pilot"])
        if not _within(low, high, -STABLE_MARGIN, STABLE_MARGIN):
            return TOO_IMPRECISE
    return COMPARISON_VERDICTS.get(verdict, str(row.get("verdict_fr") or verdict))


def _within(low: float, high: float, lower: float, upper: float) -> bool:
    if is_missing(low) or is_missing(high):
        return False
    return lower <= float(low) and float(high) <= upper
