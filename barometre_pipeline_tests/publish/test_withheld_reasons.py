"""One vocabulary of withheld-cell reasons: every code the publication rules can write reads as
words (never a fallback, never the code) on the site, in the CSV bundles and in the report, and
those words are the data dictionary's."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.publish.dictionary import build_data_dictionary
from barometre_pipeline.publish.report.build import withheld_reason as report_reason
from barometre_pipeline.publish.site import labels
from barometre_pipeline.stats import publication
from barometre_pipeline.stats.publication import (
    COMPLEMENTARY,
    REASONS,
    UNSTATED_REASON,
    PublicationPolicy,
    apply_publication_policy,
    primary_assessment,
    reason_codes,
    reason_key,
)

POLICY = PublicationPolicy(sensitive_indicators=frozenset({"SELF_HARM_IDEATION"}))
# Reason keys no rule of stats.publication writes (third-party figures are withheld by their source).
NOT_WRITTEN_BY_THE_RULES = {"not_published_by_source"}


def _row(**values) -> dict:
    row = {"indicator_code": "CV_ANY", "n_unweighted": 400, "deff": 1.2, "estimate": 0.4, "se": 0.01,
           "ci_low": 0.38, "ci_high": 0.42, "df": 40, "n_psu": 20, "unit": "proportion"}
    return {**row, **values}


# One row per rule of primary_assessment, each breaking it (the thresholds are POLICY's defaults).
RULE_BREAKERS = pd.DataFrame([
    _row(n_unweighted=3, n_psu=1),                        # confidentiality n, schools; n, eff. n, psu
    _row(n_psu=2),                                        # confidentiality schools only
    _row(estimate=np.nan, se=np.nan, ci_low=np.nan, ci_high=np.nan),  # no estimate
    _row(n_psu=4, df=0),                                  # df < 1
    _row(indicator_code="SELF_HARM_IDEATION", n_unweighted=60),       # sensitive n
    _row(indicator_code="SELF_HARM_IDEATION", estimate=0.005, ci_low=0.001, ci_high=0.02),  # events
    _row(ci_low=0.30, ci_high=0.65),                      # absolute width
    _row(estimate=0.05, ci_low=0.01, ci_high=0.11),       # relative width
])


def _complementary_code() -> str:
    """A real complementary suppression: sex X has 3 respondents, so another sex cell is hidden."""
    table = pd.DataFrame([_row(sex=s, n_unweighted=n, source_id="pilot")
                          for s, n in (("F", 200), ("M", 197), ("X", 3), ("_T", 400))])
    out = apply_publication_policy(table, POLICY, ["source_id", "indicator_code"], ["sex"])
    codes = [c for reason in out["suppression_reason"].dropna() for c in reason_codes(reason)
             if c.startswith(COMPLEMENTARY + ":")]
    assert codes, "the fixture no longer needs a complementary suppression"
    return codes[0]


def _written_codes() -> list[str]:
    written = {c for reason in primary_assessment(RULE_BREAKERS, POLICY).reasons for c in reason}
    return sorted(written) + [_complementary_code()]


WRITTEN = _written_codes()


def test_the_fixture_reaches_every_reason_the_rules_can_write():
    # Keys in the module's own source (an f"{RELIABILITY}:..." append or a width-rule return):
    # a new rule must get words in REASONS and a row in RULE_BREAKERS.
    source = inspect.getsource(publication)
    in_source = {f"{publication.RELIABILITY}:{k}" for k in re.findall(r'f"\{RELIABILITY\}:([a-z_]+)', source)}
    in_source |= {f"{publication.CONFIDENTIALITY}:{k}" for k in re.findall(r'f"\{CONFIDENTIALITY\}:([a-z_]+)', source)}
    in_source |= {f"{publication.RELIABILITY}:{k}" for k in re.findall(r'return f"([a-z_]+)[<>]', source)}
    in_source.add(COMPLEMENTARY)
    reached = {reason_key(c) for c in WRITTEN}
    assert len(in_source) >= 12
    assert in_source == reached
    assert reached | NOT_WRITTEN_BY_THE_RULES == set(REASONS)


@pytest.mark.parametrize("code", WRITTEN)
def test_every_written_reason_reads_the_same_on_the_site_in_the_report_and_in_the_dictionary(code, catalogue):
    key = reason_key(code)
    documented = build_data_dictionary(catalogue, codebook={})["codes"]["suppression_reason"][key]
    site = labels.withheld_reason(code)
    report = report_reason(code)
    # Words, not the fallback and not the code.
    assert site["fr"] != UNSTATED_REASON.fr and site["fr_short"] != UNSTATED_REASON.fr_short
    assert report != f"masqué ({UNSTATED_REASON.fr_short})"
    for text in (*site.values(), report):
        assert key not in text and code not in text and "_" not in text and "|" not in text
    # The same words everywhere: the report's and the charts' short words are the dictionary's.
    assert report == f"masqué ({documented['fr_short']})"
    assert (site["fr_short"], site["en_short"]) == (documented["fr_short"], documented["en_short"])
    # The site's sentence is the dictionary's, with the threshold of the code where it says N.
    threshold = "" if key == COMPLEMENTARY else code[len(key):].lstrip("<>=")
    for language in ("fr", "en"):
        shown = threshold.replace(".", ",") if language == "fr" else threshold
        expected = documented[language]
        if "{t}" in getattr(REASONS[key], language):
            expected = re.sub(r"\bN\b", shown, expected, count=1)
        assert site[language] == expected


def test_a_cell_with_several_reasons_shows_the_most_telling_one_everywhere():
    code = next(r for r in primary_assessment(RULE_BREAKERS, POLICY).reasons if len(r) >= 4)
    joined = ";".join(reversed(code))
    assert reason_key(code[0]) == "confidentiality:n"
    assert labels.withheld_reason(joined)["fr"].startswith("secret statistique : moins de 5 répondants")
    assert report_reason(joined) == "masqué (trop peu de répondants)"


def test_an_unknown_or_missing_reason_reads_as_the_publication_rules():
    for reason in ("reliability:brand_new<3", "", None):
        assert labels.withheld_reason(reason)["fr"] == UNSTATED_REASON.fr
        assert report_reason(reason) == "masqué (règles de publication)"
