"""stage_aggregates on a small fixture data dir: good rows are staged, each malformed row is rejected
with its file, line, field and reason, and nothing is lost (input rows = staged + rejected)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barometre_pipeline.sources.aggregates import (
    REJECT_COLUMNS,
    STAGED_COLUMNS,
    CrosswalkError,
    IndicatorCrosswalk,
    load_crosswalk,
    parse_period,
    quality_flags_of,
    stage_aggregates,
)
from barometre_pipeline.sources.manifest import Manifest, ManifestError, load_manifest

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "aggregates"
MANIFEST_PATH = FIXTURE_DIR / "sources" / "fixture_figures.yaml"


def read_text_frame(path: Path, data_dir: Path) -> pd.DataFrame:
    """The file as the raw readers hand it over: every cell as text, plus file and line."""
    frame = pd.read_csv(
        path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8"
    )
    frame["_source_file"] = str(path.relative_to(data_dir))
    frame["_source_line"] = range(2, len(frame) + 2)
    return frame


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest(MANIFEST_PATH)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return read_text_frame(FIXTURE_DIR / "raw" / "figures.tsv", FIXTURE_DIR)


@pytest.fixture(scope="module")
def staged_and_rejects(frame, manifest):
    return stage_aggregates(frame, manifest)


def test_every_input_row_is_staged_or_rejected(frame, staged_and_rejects):
    staged, rejects = staged_and_rejects
    assert len(staged) + len(rejects) == len(frame)
    assert set(staged["_source_line"]).isdisjoint({r["line"] for r in rejects})


def test_good_rows_are_staged_with_canonical_columns(staged_and_rejects):
    staged, _ = staged_and_rejects
    assert list(staged.columns) == STAGED_COLUMNS
    assert sorted(staged["source_indicator_code"]) == [
        "GOOD_COL",
        "GOOD_OWN_CALCULATION",
        "GOOD_SECONDARY",
    ]
    good = staged.set_index("source_indicator_code").loc["GOOD_COL"]
    assert good["indicator_code"] == "CV_ANY"
    assert good["estimate"] == pytest.approx(0.28)
    assert (good["unit"], good["territory"], good["period"]) == ("proportion", "FR", "2021-2022")
    assert (good["sex"], good["level"], good["age_band"]) == ("_T", "COLLEGE", "_T")
    assert good["grade_group"] == "COLLEGE"
    assert good["period_label"] == "2021-2022 (enquête 2022)"
    assert good["comparability_group"] == "CV_ANY_SCHOOLYEAR_FR_DEPP"
    assert good["quality_flags"] == ""
    assert good["_source_file"] == "raw/figures.tsv"
    assert good["_source_line"] == 2


@pytest.mark.parametrize(
    ("line", "field", "reason_part"),
    [
        (3, "estimate", "not a number"),
        (4, "estimate", "outside the range"),
        (5, "sex", "not in the manifest's value map"),
        (6, "ci_low", "does not contain the estimate"),
        (7, "source_indicator_code", "no entry for 'NOT_IN_CROSSWALK'"),
        (8, "indicator_code", "as line 2"),
        (9, "unit", "is an effect size"),
        (10, "period", "no year"),
        (12, "n_unweighted", "whole number"),
    ],
)
def test_malformed_row_is_rejected_with_file_line_field_and_reason(
    staged_and_rejects, line, field, reason_part
):
    _, rejects = staged_and_rejects
    by_line = {r["line"]: r for r in rejects}
    assert line in by_line, f"line {line} was not rejected"
    reject = by_line[line]
    assert set(reject) == set(REJECT_COLUMNS)
    assert reject["source_id"] == "fixture_figures"
    assert reject["file"] == "raw/figures.tsv"
    assert reject["field"] == field
    assert reason_part in reject["reason"]


def test_reject_keeps_the_offending_value(staged_and_rejects):
    _, rejects = staged_and_rejects
    by_line = {r["line"]: r for r in rejects}
    assert by_line[3]["value"] == "abc"
    assert by_line[4]["value"] == "140"
    assert by_line[5]["value"] == "filles et garçons"


def test_secondary_publisher_and_own_calculation_are_flagged(staged_and_rejects):
    staged, _ = staged_and_rejects
    rows = staged.set_index("source_indicator_code")
    assert rows.loc["GOOD_SECONDARY", "quality_flags"] == "SOURCE_SECONDAIRE"
    assert rows.loc["GOOD_OWN_CALCULATION", "quality_flags"] == "CALCUL_PAR_NOS_SOINS"


def test_idem_repeats_the_citation_of_the_row_above(staged_and_rejects, frame):
    staged, _ = staged_and_rejects
    secondary = staged.set_index("source_indicator_code").loc["GOOD_SECONDARY"]
    row_above = frame[frame["_source_line"] == 10].iloc[0]
    assert secondary["title"] == row_above["source_title"]
    assert secondary["url"] == row_above["source_url"]


def test_own_code_kept_when_crosswalk_has_no_catalogue_code(staged_and_rejects):
    staged, _ = staged_and_rejects
    own = staged.set_index("source_indicator_code").loc["GOOD_OWN_CALCULATION"]
    assert own["indicator_code"] == "GOOD_OWN_CALCULATION"
    assert own["territory"] == "FR-OT"
    assert own["n_unweighted"] == 1234
    assert own["estimate"] == pytest.approx(0.075)


@settings(max_examples=30, deadline=None)
@given(value=st.text(max_size=8))
def test_any_value_text_is_staged_in_range_or_rejected(frame, manifest, value):
    one_row = frame[frame["_source_line"] == 2].copy()
    one_row["value"] = value
    staged, rejects = stage_aggregates(one_row, manifest)
    assert len(staged) + len(rejects) == 1
    if len(staged):
        assert 0.0 <= staged["estimate"].iloc[0] <= 1.0
    else:
        assert rejects[0]["field"] == "estimate"


# --- manifest and crosswalk problems ---------------------------------------------------------------


def _manifest(**changes) -> Manifest:
    raw = load_manifest(MANIFEST_PATH).model_dump(exclude={"manifest_path"})
    raw.update(changes)
    return Manifest.model_validate(raw).model_copy(update={"manifest_path": MANIFEST_PATH})


def test_unknown_canonical_field_names_the_manifest_field(frame):
    columns = dict(load_manifest(MANIFEST_PATH).columns)
    columns["prevalence"] = columns["estimate"]
    with pytest.raises(ManifestError, match=r"columns\.prevalence"):
        stage_aggregates(frame, _manifest(columns=columns))


def test_missing_required_column_names_the_field(frame):
    with pytest.raises(ManifestError, match="estimate"):
        stage_aggregates(frame.drop(columns=["value"]), _manifest())


def test_microdata_manifest_is_refused(frame):
    manifest = _manifest(kind="microdata", design={"weight": "poids"})
    with pytest.raises(ValueError, match="microdata"):
        stage_aggregates(frame, manifest)


def test_crosswalk_group_must_be_declared(tmp_path):
    path = tmp_path / "indicator_crosswalk.yaml"
    path.write_text(
        "version: 1\ngroups: {A: a}\nsources:\n  s:\n    X: {comparability_group: B}\n",
        encoding="utf-8",
    )
    with pytest.raises(CrosswalkError, match=r"sources\.s\.X\.comparability_group") as error:
        load_crosswalk(path)
    assert str(path) in str(error.value)


def test_effects_need_exposure_and_outcome_and_accept_decimal_comma():
    columns = {
        "source_indicator_code": "code",
        "territory": {"source": "pays", "values": {"Canada": "CA"}},
        "period": "année",
        "unit": {"source": "mesure", "values": {"RC": "odds_ratio"}},
        "estimate": "valeur",
        "ci_low": "bas",
        "ci_high": "haut",
    }
    manifest = Manifest.model_validate(
        {
            "id": "effects_test",
            "family": "scientific",
            "kind": "effects",
            "provenance": {"publisher": "P", "title": "T", "licence": "citation"},
            "files": "raw/effects.csv",
            "read": {"decimal": ","},
            "columns": columns,
        }
    )
    crosswalk = IndicatorCrosswalk.model_validate(
        {
            "version": 1,
            "groups": {"G": "g"},
            "sources": {
                "effects_test": {
                    "WITH": {
                        "indicator_code": "EFFECT_CV_DEPRESSION_OR",
                        "comparability_group": "G",
                        "exposure": "cybervictimisation",
                        "outcome": "depression",
                        "pilot_counterpart": "WHO5_LOW|CV_ANY",
                    },
                    "WITHOUT": {"comparability_group": "G"},
                }
            },
        }
    )
    frame = pd.DataFrame(
        {
            "code": ["WITH", "WITHOUT"],
            "pays": ["Canada", "Canada"],
            "année": ["2011", "2013"],
            "mesure": ["RC", "RC"],
            "valeur": ["3,31", "2,41"],
            "bas": ["2,16", ""],
            "haut": ["5,07", ""],
            "_source_file": "raw/effects.csv",
            "_source_line": [2, 3],
        }
    )
    staged, rejects = stage_aggregates(frame, manifest, crosswalk)
    assert [r["line"] for r in rejects] == [3]
    assert "exposure and an outcome" in rejects[0]["reason"]
    effect = staged.iloc[0]
    assert effect["estimate"] == pytest.approx(3.31)
    assert (effect["ci_low"], effect["ci_high"]) == (pytest.approx(2.16), pytest.approx(5.07))
    assert (effect["kind"], effect["unit"]) == ("effects", "odds_ratio")
    assert (effect["exposure"], effect["outcome"]) == ("cybervictimisation", "depression")
    assert effect["pilot_counterpart"] == "WHO5_LOW|CV_ANY"
    assert (effect["sex"], effect["level"], effect["age_band"]) == ("_T", "_T", "_T")


# --- small parsers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "period"),
    [
        ("2022", "2022"),
        ("2021-2022 (enquête DEPP collégiens 2022)", "2021-2022"),
        ("2021/2022", "2021-2022"),
        ("≈2013-2014", "2013-2014"),
        ("mai 2024", "2024-05"),
        ("2023 (juin)", "2023-06"),
        ("fin 2023", "2023"),
        ("≤2018", "..2018"),
        ("automne 2017 – été 2019", "2017-2019"),
        ("2022 (probable: enquête DEPP collégiens 2022)", "2022"),
        ("n.d.", None),
        ("", None),
    ],
)
def test_parse_period(label, period):
    assert parse_period(label) == period


@pytest.mark.parametrize(
    ("note", "publisher", "flags"),
    [
        ("SOURCE SECONDAIRE (brève de presse)", "ONVF", ["SOURCE_SECONDAIRE"]),
        ("", "Insee / DEPP / SSMSI (cité par AFP)", ["SOURCE_SECONDAIRE"]),
        ("", "Le Quotidien du Médecin (FMC, citant une étude [5])", ["SOURCE_SECONDAIRE"]),
        ("", "Association e-Enfance (écoutante, via 20 Minutes)", ["SOURCE_SECONDAIRE"]),
        ("", "CDC (micro-données YRBS 2019) – calcul", ["CALCUL_PAR_NOS_SOINS"]),
        (
            "SOURCE SECONDAIRE; CALCUL PAR NOS SOINS",
            "X (via Y)",
            ["SOURCE_SECONDAIRE", "CALCUL_PAR_NOS_SOINS"],
        ),
        ("source primaire = enquêtes DEPP", "Insee / DEPP / SSMSI", []),
        ("", "Institut de la statistique du Québec (communiqué CNW)", []),
    ],
)
def test_quality_flags_of(note, publisher, flags):
    assert quality_flags_of(note, publisher) == flags
