"""The shipped public and scientific sources (data/sources/public_*.yaml, scientific_*.yaml and their
files under data/raw/) stage completely, and the figures the barometer relies on come out mapped.

Expected values are the published figures themselves (DEPP collège 2022: 28 %, ...): domain facts
that the code must recover from the raw files."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import yaml

from barometre_pipeline.sources.aggregates import (
    UNITS,
    load_crosswalk,
    stage_aggregates,
)
from barometre_pipeline.sources.manifest import load_manifest, source_files

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MANIFEST_PATHS = sorted(
    [*DATA_DIR.glob("sources/public_*.yaml"), *DATA_DIR.glob("sources/scientific_*.yaml")]
)
# The 155 data rows of public_facts.tsv were split between data/raw/public and data/raw/scientific.
PUBLISHED_FIGURES = 155


def read_text_frame(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8"
    )
    frame["_source_file"] = str(path.relative_to(DATA_DIR))
    frame["_source_line"] = range(2, len(frame) + 2)
    return frame


@pytest.fixture(scope="module")
def raw_rows() -> pd.DataFrame:
    frames = []
    for path in MANIFEST_PATHS:
        manifest = load_manifest(path)
        for file in source_files(manifest, DATA_DIR):
            frame = read_text_frame(file)
            frame["source_id"] = manifest.id
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def staging() -> tuple[pd.DataFrame, list[dict], int]:
    crosswalk = load_crosswalk(DATA_DIR / "reference" / "indicator_crosswalk.yaml")
    staged, rejects, input_rows = [], [], 0
    for path in MANIFEST_PATHS:
        manifest = load_manifest(path)
        for file in source_files(manifest, DATA_DIR):
            frame = read_text_frame(file)
            input_rows += len(frame)
            rows, rejected = stage_aggregates(frame, manifest, crosswalk)
            staged.append(rows)
            rejects.extend(rejected)
    return pd.concat(staged, ignore_index=True), rejects, input_rows


@pytest.fixture(scope="module")
def by_code(staging) -> pd.DataFrame:
    staged, _, _ = staging
    assert staged["source_indicator_code"].is_unique
    return staged.set_index("source_indicator_code")


@pytest.mark.parametrize("path", MANIFEST_PATHS, ids=lambda p: p.stem)
def test_manifest_loads_and_matches_its_files(path):
    manifest = load_manifest(path)
    assert manifest.id == path.stem
    assert manifest.family == path.stem.split("_")[0]
    assert manifest.kind in {"aggregates", "effects"}
    assert manifest.provenance.licence and manifest.provenance.retrieved is not None
    assert source_files(manifest, DATA_DIR)


def test_there_are_public_and_scientific_manifests_of_both_kinds():
    manifests = [load_manifest(p) for p in MANIFEST_PATHS]
    assert {m.family for m in manifests} == {"public", "scientific"}
    assert {m.kind for m in manifests} == {"aggregates", "effects"}


def test_every_published_figure_is_staged(staging):
    staged, rejects, input_rows = staging
    assert rejects == []
    assert input_rows == PUBLISHED_FIGURES
    assert len(staged) == input_rows


@pytest.mark.parametrize(
    ("code", "indicator", "territory", "period", "sex", "level", "estimate", "group"),
    [
        # DEPP collège 2022 and lycée 2023 (Insee Références 2025), with their sex splits
        ("FR_DEPP_CYBERVIOL_ANY_COL", "CV_ANY", "FR", "2021-2022", "_T", "COLLEGE", 0.28, "CV_ANY_SCHOOLYEAR_FR_DEPP"),
        ("FR_DEPP_CYBERVIOL_ANY_LYC", "CV_ANY", "FR", "2022-2023", "_T", "LYCEE", 0.23, "CV_ANY_SCHOOLYEAR_FR_DEPP"),
        ("FR_DEPP_CYBERVIOL_ANY_COL_F", "CV_ANY", "FR", "2021-2022", "F", "COLLEGE", 0.31, "CV_ANY_SCHOOLYEAR_FR_DEPP"),
        ("FR_DEPP_CYBERVIOL_ANY_COL_M", "CV_ANY", "FR", "2021-2022", "M", "COLLEGE", 0.26, "CV_ANY_SCHOOLYEAR_FR_DEPP"),
        ("FR_DEPP_CYBERVIOL_ANY_LYC_F", "CV_ANY", "FR", "2022-2023", "F", "LYCEE", 0.25, "CV_ANY_SCHOOLYEAR_FR_DEPP"),
        ("FR_DEPP_CYBERVIOL_ANY_LYC_M", "CV_ANY", "FR", "2022-2023", "M", "LYCEE", 0.20, "CV_ANY_SCHOOLYEAR_FR_DEPP"),
        # WHO Europe HBSC 2021/2022: cyberbullied at least once
        ("INT_HBSC_CYBERVICT_2022", "CV_ANY", "INT", "2021-2022", "_T", "_T", 0.15, "CYBERBULLIED_HBSC"),
        ("INT_HBSC_CYBERVICT_2022_F", "CV_ANY", "INT", "2021-2022", "F", "_T", 0.16, "CYBERBULLIED_HBSC"),
        ("INT_HBSC_CYBERVICT_2022_M", "CV_ANY", "INT", "2021-2022", "M", "_T", 0.15, "CYBERBULLIED_HBSC"),
        # Statistics Canada CHSCY 2019, Québec
        ("CA_CHSCY_CYBERVICT_QC_2019", "CV_ANY", "CA-QC", "2019", "_T", "_T", 0.20, "CV_ANY_12M_QC"),
        # ISQ EQSJS 2010-2011
        ("QC_EQSJS_CYBERINTIM_F_2011", "CV_ANY", "CA-QC", "2010-2011", "F", "_T", 0.07, "CV_ANY_SCHOOLYEAR_QC_EQSJS"),
        ("QC_EQSJS_CYBERINTIM_M_2011", "CV_ANY", "CA-QC", "2010-2011", "M", "_T", 0.04, "CV_ANY_SCHOOLYEAR_QC_EQSJS"),
    ],
)  # fmt: skip
def test_required_figure_is_mapped(
    by_code, code, indicator, territory, period, sex, level, estimate, group
):
    row = by_code.loc[code]
    assert row["indicator_code"] == indicator
    assert (row["territory"], row["period"], row["sex"], row["level"]) == (
        territory,
        period,
        sex,
        level,
    )
    assert row["estimate"] == pytest.approx(estimate, abs=1e-12)
    assert row["unit"] == "proportion"
    assert row["comparability_group"] == group
    assert row["kind"] == "aggregates"


def test_pilot_comparability_groups_match_the_catalogue(by_code):
    catalogue = yaml.safe_load((DATA_DIR / "indicators.yaml").read_text(encoding="utf-8"))
    cv_any = next(i for i in catalogue["indicators"] if i["code"] == "CV_ANY")
    groups = by_code["comparability_group"]
    assert cv_any["comparability_group"]["FR-OT"] == groups["FR_DEPP_CYBERVIOL_ANY_COL"]
    assert cv_any["comparability_group"]["CA-QC"] == groups["CA_CHSCY_CYBERVICT_QC_2019"]


def test_mapped_codes_exist_in_the_catalogue(staging):
    staged, _, _ = staging
    catalogue = yaml.safe_load((DATA_DIR / "indicators.yaml").read_text(encoding="utf-8"))
    codes = {i["code"] for i in catalogue["indicators"]}
    aggregates = staged[staged["kind"] == "aggregates"]
    mapped = aggregates[aggregates["indicator_code"] != aggregates["source_indicator_code"]]
    assert len(mapped) > 0
    assert set(mapped["indicator_code"]) <= codes
    effects = staged[staged["kind"] == "effects"]
    assert effects["indicator_code"].str.startswith("EFFECT_").all()
    for counterpart in effects["pilot_counterpart"][effects["pilot_counterpart"] != ""]:
        outcome, exposure = counterpart.split("|")
        assert outcome in codes
        assert exposure.startswith("sex=") or set(exposure.split("&")) <= codes


def test_every_crosswalk_entry_matches_a_shipped_figure(staging):
    staged, _, _ = staging
    crosswalk = load_crosswalk(DATA_DIR / "reference" / "indicator_crosswalk.yaml")
    declared = {(s, code) for s, entries in crosswalk.sources.items() for code in entries}
    shipped = set(zip(staged["source_id"], staged["source_indicator_code"], strict=True))
    assert declared == shipped
    assert set(staged["comparability_group"]) <= set(crosswalk.groups)


def test_weak_figures_carry_their_flags(staging, raw_rows):
    staged, _, _ = staging
    flags = staged.set_index(["source_id", "source_indicator_code"])["quality_flags"]
    secondary = raw_rows[raw_rows["note"].str.contains("SOURCE SECONDAIRE", regex=False)]
    own = raw_rows[raw_rows["note"].str.contains("CALCUL PAR NOS SOINS", regex=False)]
    assert len(secondary) > 0 and len(own) > 0
    for source_id, code in zip(secondary["source_id"], secondary["indicator_code"], strict=True):
        assert "SOURCE_SECONDAIRE" in flags[(source_id, code)].split("|"), code
    for source_id, code in zip(own["source_id"], own["indicator_code"], strict=True):
        assert "CALCUL_PAR_NOS_SOINS" in flags[(source_id, code)].split("|"), code


def test_publisher_citations_are_flagged_and_primary_figures_are_not(by_code):
    assert (
        by_code.loc["FR_DEPP_CYBERVIOL_ANY_LYC_F", "quality_flags"] == "SOURCE_SECONDAIRE"
    )  # cité par AFP
    assert "SOURCE_SECONDAIRE" in by_code.loc["QC_EQSJS_CYBERINTIM_F_2011", "quality_flags"]
    assert "CALCUL_PAR_NOS_SOINS" in by_code.loc["US_YRBS_EBULLIED_2019", "quality_flags"]
    assert by_code.loc["FR_DEPP_CYBERVIOL_ANY_COL", "quality_flags"] == ""
    assert by_code.loc["CA_CHSCY_CYBERVICT_QC_2019", "quality_flags"] == ""


def test_codes_values_and_intervals_are_consistent(staging):
    staged, _, _ = staging
    codebook = yaml.safe_load((DATA_DIR / "codebook.yaml").read_text(encoding="utf-8"))
    levels = set(codebook["variables"]["level"]["values"]) | set(
        codebook["variables"]["grade_group"]["values"]
    )
    assert set(staged["sex"]) <= {"F", "M", "X", "_T"}
    assert set(staged["level"]) <= levels | {"_T"}
    assert set(staged["unit"]) <= set(UNITS)
    proportions = staged[staged["unit"] == "proportion"]["estimate"]
    assert proportions.between(0, 1).all()
    with_ci = staged.dropna(subset=["ci_low", "ci_high"])
    assert len(with_ci) > 0
    assert (
        (with_ci["ci_low"] <= with_ci["estimate"]) & (with_ci["estimate"] <= with_ci["ci_high"])
    ).all()
    assert not staged["period"].str.contains(r"[()]").any()
    key = [
        "source_id",
        "indicator_code",
        "territory",
        "period",
        "sex",
        "level",
        "age_band",
        "title",
    ]
    assert not staged.duplicated(subset=key).any()


@pytest.mark.parametrize(
    ("code", "indicator", "unit", "estimate", "ci", "exposure", "outcome", "counterpart"),
    [
        ("SCI_LI2022_CBONLY_DEPRESS", "EFFECT_CV_DEPRESSION_OR", "odds_ratio", 3.38, (2.57, 4.46),
         "cybervictimisation_only", "depression", "WHO5_LOW|CV_ANY"),
        ("SCI_LI2022_CBONLY_SELFHARM", "EFFECT_CV_SELF_HARM_OR", "odds_ratio", 3.57, (3.20, 3.98),
         "cybervictimisation_only", "self_harm", "SELF_HARM_IDEATION|CV_ANY"),
        ("SCI_MOLERO2022_DEP", "EFFECT_CV_DEPRESSION_R", "correlation", 0.28, None,
         "cybervictimisation", "depression", "WHO5_LOW|CV_ANY"),
        ("SCI_OSDUHS2013_CB_DISTRESS", "EFFECT_CV_DISTRESS_AOR", "adjusted_odds_ratio", 2.41, (1.90, 3.06),
         "cybervictimisation", "psychological_distress", "WHO5_LOW|CV_ANY"),
    ],
)  # fmt: skip
def test_effect_sizes_are_staged_as_effects(
    by_code, code, indicator, unit, estimate, ci, exposure, outcome, counterpart
):
    row = by_code.loc[code]
    assert (row["kind"], row["source_family"]) == ("effects", "scientific")
    assert (row["indicator_code"], row["unit"]) == (indicator, unit)
    assert row["estimate"] == pytest.approx(estimate)
    if ci is None:
        assert pd.isna(row["ci_low"]) and pd.isna(row["ci_high"])
    else:
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(ci[0]), pytest.approx(ci[1]))
    assert (row["exposure"], row["outcome"], row["pilot_counterpart"]) == (
        exposure,
        outcome,
        counterpart,
    )


def test_scientific_prevalence_is_an_aggregate(by_code):
    hamm = by_code.loc["SCI_HAMM2015_MEDIAN_PREV"]
    assert (hamm["kind"], hamm["source_family"], hamm["unit"]) == (
        "aggregates",
        "scientific",
        "proportion",
    )
    assert hamm["estimate"] == pytest.approx(0.23)
    assert pd.isna(hamm["ci_low"])  # the interquartile range is not a confidence interval


def test_idem_citations_are_resolved(by_code):
    first, second = by_code.loc["SCI_HEERDE2019_CB_DSH"], by_code.loc["SCI_HEERDE2019_BOTH_DSH"]
    assert second["title"] == first["title"]
    assert "Heerde" in second["title"]
    assert not by_code["title"].str.fullmatch("(?i)idem").any()
    assert not by_code["url"].str.fullmatch("(?i)idem").any()


def test_grade_group_follows_the_level(by_code):
    groups = by_code["grade_group"]
    assert groups["FR_DEPP_CYBERVIOL_ANY_COL"] == "COLLEGE"
    assert groups["FR_DEPP_CYBERVIOL_ANY_LYC_F"] == "LYCEE"
    assert groups["FR_DEPP_CYBERVIOL_COL_2013_6E"] == "COLLEGE"  # level 6E, via the codebook
    assert by_code.loc["FR_DEPP_CYBERVIOL_COL_2013_6E", "level"] == "6E"
    assert groups["INT_HBSC_CYBERVICT_2022"] == "_T"
