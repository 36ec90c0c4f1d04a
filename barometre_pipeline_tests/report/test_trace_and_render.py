"""Units of the report that need no pipeline run: traced quotes, number formats, Typst escaping,
the self-harm rule, the fixed prose."""

from __future__ import annotations

import io
import re
from importlib import resources

import pypdf
import pytest
import typst
import yaml

from barometre_pipeline.publish.report.build import withheld_reason
from barometre_pipeline.publish.report.numbers import count, percent, points, ratio
from barometre_pipeline.publish.report.render import typst_string, typst_text
from barometre_pipeline.publish.report.sections import _self_harm_allowed
from barometre_pipeline.publish.report.trace import SuppressedValueError, Tracer

ROW = {"indicator_code": "CV_ANY", "source_id": "pilot_x", "territory": "FR-OT",
       "period": "2025", "sex": "F", "level": "_T", "age_band": "_T", "grade_group": "_T",
       "departement": "_T", "sector": "_T", "priority_education": "_T", "estimate": 0.2766,
       "suppressed": False}


def test_french_formats():
    assert percent(0.2766) == "27,7\u00a0%"
    assert percent(0.05) == "5,0\u00a0%"
    assert points(0.035) == "+3,5\u00a0points"
    assert points(-0.012) == "\u22121,2\u00a0point"
    assert ratio(1.6344) == "1,63"
    assert count(4113) == "4\u202f113"


@pytest.mark.parametrize(("difference", "printed"), [
    # Proportions (0-1) printed in points with one decimal: 0.0005 is where 0,1 point starts.
    (0.0, "0,0\u00a0point"), (-0.0, "0,0\u00a0point"),
    (-0.0004, "0,0\u00a0point"), (-0.00049, "0,0\u00a0point"), (0.0004, "0,0\u00a0point"),
    (-0.0005, "\u22120,1\u00a0point"), (-0.00051, "\u22120,1\u00a0point"), (0.00051, "+0,1\u00a0point"),
    # Singular below 2 points, as printed: 1,94 reads 1,9 point; 1,95 reads 2,0 points.
    (0.0194, "+1,9\u00a0point"), (-0.0196, "\u22122,0\u00a0points"), (0.02, "+2,0\u00a0points"),
])
def test_a_difference_that_rounds_to_zero_has_no_sign(difference, printed):
    assert points(difference) == printed


def test_negative_zero_never_printed_by_any_format():
    assert percent(-0.0004) == "0,0\u00a0%" and percent(-0.0006) == "\u22120,1\u00a0%"
    assert ratio(-0.004) == "0,00" and ratio(-0.006) == "\u22120,01"


def test_tracer_records_the_row_key_and_refuses_suppressed_or_missing_values():
    tracer = Tracer("test", section="synthese")
    assert tracer.quote("indicators", ROW, "estimate", "percent") == "27,7\u00a0%"
    entry = tracer.entries[0]
    assert entry.key["sex"] == "F" and entry.key["indicator_code"] == "CV_ANY"
    assert entry.column == "estimate" and entry.section == "synthese"
    with pytest.raises(SuppressedValueError):
        tracer.quote("indicators", {**ROW, "suppressed": True}, "estimate", "percent")
    for column in ("ci_low", "ci_high", "se", "deff", "n_effective"):
        with pytest.raises(SuppressedValueError):
            tracer.quote("indicators", {**ROW, "suppressed": True, column: 0.1}, column,
                         "percent")
    # The respondent count of a withheld row is published (contract v1) and may be quoted.
    assert tracer.quote("indicators", {**ROW, "suppressed": True, "n_unweighted": 462},
                        "n_unweighted", "count") == "462"
    tracer.entries.pop()
    with pytest.raises(SuppressedValueError):
        tracer.quote("indicators", {**ROW, "estimate": None}, "estimate", "percent")
    with pytest.raises(SuppressedValueError):
        tracer.quote("indicators", {**ROW, "estimate": float("nan")}, "estimate", "percent")
    assert len(tracer.entries) == 1
    assert '"27,7\u00a0%"' in tracer.to_json() and "synthese" in tracer.to_csv()


@pytest.mark.parametrize("reason,words", [
    ("complementary:CV_ANY|sex=F", "secret statistique"),
    ("reliability:sensitive_n<100", "règle renforcée"),
    ("confidentiality:n<5", "trop peu de répondants"),
    ("reliability:n<30;reliability:effective_n<30", "trop peu de répondants"),
    ("reliability:effective_n<30", "trop peu d'information"),
    ("reliability:relative_ci_width>130%", "trop imprécise"),
    ("n_unweighted<30", "règles de publication"),
    (None, "règles de publication"),
])
def test_withheld_reason_words_carry_no_number(reason, words):
    text = withheld_reason(reason)
    assert text.startswith("masqué (") and words in text and not re.search(r"\d", text)


class _Tables:
    publication_rules = {"sensitive_min_n_unweighted": 100}


class _Builder:
    t = _Tables()


@pytest.mark.parametrize("n,shown", [(99, False), (100, True), (250, True)])
def test_self_harm_only_under_its_stricter_rule(n, shown):
    row = {**ROW, "indicator_code": "SELF_HARM_IDEATION", "n_unweighted": n}
    assert _self_harm_allowed(_Builder(), row) is shown
    assert _self_harm_allowed(_Builder(), {**row, "suppressed": True, "estimate": None}) is False


def test_data_cannot_inject_typst_markup_or_code():
    hostile = 'a #set page(width: 1pt) *b* ] [ $x$ "q" \\ // c <l> @r _i_ https://x.org/a_b'
    source = f"#set text(lang: \"fr\")\n{typst_text(hostile)}\n#text({typst_string(hostile)})\n"
    pdf = typst.compile(source.encode("utf-8"))
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text().replace("\u200b", "")
    assert text.count("#set page(width: 1pt)") == 2
    assert text.count('"q" \\ // c <l> @r _i_') == 2


def test_fixed_prose_holds_no_figure():
    texts = yaml.safe_load(resources.files("barometre_pipeline.publish.report")
                           .joinpath("texts.yaml").read_text(encoding="utf-8"))
    allowed = ("OMS-5", "WHO-5")
    for key, value in texts.items():
        if key == "help_words":  # English words of help_resources.tsv mapped to French
            continue
        text = yaml.safe_dump(value, allow_unicode=True)
        for name in allowed:
            text = text.replace(name, "")
        assert not re.search(r"\d", re.sub(r"\{[a-z_]+\}", "", text)), key


def test_sections_format_numbers_only_through_the_tracer():
    source = resources.files("barometre_pipeline.publish.report").joinpath("sections.py") \
        .read_text(encoding="utf-8")
    assert not re.search(r"\b(percent|points|ratio|count)\(", source)
    assert not re.search(r":\.?\d*[fg%]\}", source)  # no f-string number formats


def test_missing_export_is_named(tmp_path):
    from barometre_pipeline.publish.report.tables import ReportInputError, load_published_tables
    from barometre_pipeline.settings import PROJECT_ROOT

    with pytest.raises(ReportInputError, match=r"exports/indicators does not exist"):
        load_published_tables(tmp_path / "exports", PROJECT_ROOT / "data")


def test_chart_svg_is_the_same_bytes_each_time_with_ids_prefixed_by_its_figure():
    from barometre_pipeline.publish.report.charts import Point, interval_chart

    points = [Point("Insultes", "2025", 0.2, 0.18, 0.22, "20,0 %"),
              Point("Insultes", "2026", 0.25, 0.22, 0.28, "25,0 %")]
    first = interval_chart(points, "pourcentage", id_prefix="fig-1-")
    assert first == interval_chart(points, "pourcentage", id_prefix="fig-1-")
    ids = re.findall(r'\bid="([^"]+)"', first)
    assert all(i.startswith("fig-1-") for i in ids)
    assert "Libertinus Serif" in first and "20,0 %" in first
