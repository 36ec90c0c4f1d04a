"""Publication rules on both sides of every boundary, the privacy check failing where it must,
a held-out public microdata source against R, and the shipped data's acceptance figures.

Boundary fixtures use a design effect below 1 where n and effective n must disagree; each
threshold is tested at the limit and one step beyond, so turning any ``>=`` into ``>`` (or
``<=`` into ``<``) in the rules makes a test here fail.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.indicators.consolidate import (
    CONTRACT_DIMENSIONS,
    SourceInfo,
    indicator_links,
    level_hierarchy,
    policy_from_catalogue,
    publish_microdata_rows,
)
from barometre_pipeline.indicators.microdata_indicators import estimate_source_indicators
from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.sources.ingest import read_raw_source
from barometre_pipeline.sources.manifest import load_manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.staging.pseudonymise import pseudonymise
from barometre_pipeline.stats.disclosure import IndicatorLinks
from barometre_pipeline.stats.publication import PublicationPolicy, apply_publication_policy
from barometre_pipeline.validation.privacy import (
    design_counts_from_warehouse,
    privacy_violations,
)

DATA = PROJECT_ROOT / "data"
DOMAINS = Path(__file__).resolve().parents[1] / "fixtures" / "survey_domains"
DIMENSIONS = list(CONTRACT_DIMENSIONS)


def _row(**values) -> dict:
    row = {"indicator_code": "CV_ANY", "source_id": "s", "territory": "FR-OT", "period": "2025",
           "source_family": "pilot", "estimate": 0.4, "ci_low": 0.38, "ci_high": 0.42, "se": 0.01,
           "n_unweighted": 400, "deff": 0.8, "n_effective": 500.0, "df": 40, "n_psu": 20}
    row.update(values)
    row["n_effective"] = row["n_unweighted"] / row["deff"] if row["deff"] else np.nan
    return row


def _assess(rows: list[dict], policy: PublicationPolicy | None = None) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    table["cell"] = [f"c{i}" for i in range(len(table))]
    policy = policy or PublicationPolicy()
    return apply_publication_policy(table, policy, ["indicator_code"], ["cell"]).set_index("cell")


def _reasons(out: pd.DataFrame, cell: str) -> list[str]:
    return (out.loc[cell, "suppression_reason"] or "").split(";")


# --- reliability boundaries ------------------------------------------------------------------


def test_29_respondents_withheld_and_30_published_even_when_deff_below_one():
    # deff 0.8: n / deff = 36 and 37.5 — the effective-n rule alone would publish both.
    out = _assess([_row(n_unweighted=29), _row(n_unweighted=30)])
    assert out.loc["c0", "n_effective"] != out.loc["c0", "n_unweighted"] or out.loc["c0", "suppressed"]
    assert out.loc["c0", "suppressed"] and "reliability:n<30" in _reasons(out, "c0")
    assert not out.loc["c1", "suppressed"]


def test_effective_n_of_exactly_30_is_published_and_below_is_withheld():
    # deff 1.5: 45 / 1.5 = 30 exactly; 44 / 1.5 = 29.3.
    out = _assess([_row(n_unweighted=45, deff=1.5), _row(n_unweighted=44, deff=1.5)])
    assert not out.loc["c0", "suppressed"]
    assert _reasons(out, "c1") == ["reliability:effective_n<30"]


def test_design_effect_below_one_never_lifts_the_effective_n():
    # n = 29 with deff 0.5: n / deff = 58, but NCHS floors the design effect at 1.
    out = _assess([_row(n_unweighted=29, deff=0.5)], PublicationPolicy(min_n_unweighted=20))
    assert _reasons(out, "c0") == ["reliability:effective_n<30"]


def test_ci_width_of_exactly_030_is_withheld():
    assert 0.5 - 0.2 == 0.3
    out = _assess([_row(estimate=0.5, ci_low=0.2, ci_high=0.5), _row(estimate=0.5, ci_low=0.2, ci_high=0.49)])
    assert _reasons(out, "c0") == ["reliability:ci_width>=0.3"]
    assert not out.loc["c1", "suppressed"]  # relative width 58 %


def test_ci_width_of_exactly_005_skips_the_relative_rule():
    assert 0.05 - 0.0 == 0.05
    # p = 0.03: relative width 167 %, yet a 5-point interval is narrow enough to publish.
    out = _assess([_row(estimate=0.03, ci_low=0.0, ci_high=0.05),
                   _row(estimate=0.03, ci_low=0.0, ci_high=0.0501)])
    assert not out.loc["c0", "suppressed"]
    assert _reasons(out, "c1") == ["reliability:relative_ci_width>130%"]


def test_relative_width_of_exactly_130_percent_is_published():
    assert (0.225 - 0.0625) / 0.125 == 1.3
    out = _assess([_row(estimate=0.125, ci_low=0.0625, ci_high=0.225),
                   _row(estimate=0.125, ci_low=0.0625, ci_high=0.2251)])
    assert not out.loc["c0", "suppressed"]
    assert _reasons(out, "c1") == ["reliability:relative_ci_width>130%"]


def test_eight_degrees_of_freedom_are_reliable_and_seven_flagged():
    out = _assess([_row(df=8), _row(df=7), _row(df=0, n_psu=2)], PublicationPolicy(min_schools=1))
    assert out.loc["c0", "reliability"] == "reliable"
    assert out.loc["c1", "reliability"] == "unreliable" and not out.loc["c1", "suppressed"]
    assert _reasons(out, "c2") == ["reliability:df<1"]  # two PSUs in two strata: no interval


def test_a_domain_in_one_psu_is_withheld_and_two_psus_are_not():
    out = _assess([_row(n_psu=1, df=0, se=0.0), _row(n_psu=2, df=1)], PublicationPolicy(min_schools=1))
    assert _reasons(out, "c0") == ["reliability:psu<2"]
    assert not out.loc["c1", "suppressed"]


def test_sensitive_cell_with_fewer_than_5_no_answers_is_withheld():
    policy = PublicationPolicy(sensitive_indicators=frozenset({"CV_ANY"}))
    rows = [_row(n_unweighted=100, n_events=95, estimate=0.95, ci_low=0.9, ci_high=0.98),
            _row(n_unweighted=100, n_events=96, estimate=0.96, ci_low=0.9, ci_high=0.98),
            _row(n_unweighted=100, n_events=5, estimate=0.05, ci_low=0.03, ci_high=0.08),
            _row(n_unweighted=100, n_events=4, estimate=0.04, ci_low=0.02, ci_high=0.09),
            _row(n_unweighted=99, n_events=50, estimate=0.5, ci_low=0.4, ci_high=0.6)]
    out = _assess(rows, policy)
    assert not out.loc["c0", "suppressed"]  # exactly 5 "no"
    assert _reasons(out, "c1") == ["reliability:sensitive_events<5"]  # 4 "no"
    assert not out.loc["c2", "suppressed"]  # exactly 5 "yes"
    assert _reasons(out, "c3") == ["reliability:sensitive_events<5"]
    assert _reasons(out, "c4") == ["reliability:sensitive_n<100"]


# --- confidentiality boundaries --------------------------------------------------------------


def test_five_respondents_are_not_confidential_and_four_are():
    policy = PublicationPolicy(min_n_unweighted=1, min_n_effective=0, apply_nchs_width_rules=False)
    out = _assess([_row(n_unweighted=5, deff=1.0), _row(n_unweighted=4, deff=1.0)], policy)
    assert not out.loc["c0", "suppressed"]
    assert _reasons(out, "c1") == ["confidentiality:n<5"]


def test_three_schools_are_not_confidential_and_two_are():
    out = _assess([_row(n_psu=3, df=2), _row(n_psu=2, df=1)])
    assert not out.loc["c0", "suppressed"]
    assert _reasons(out, "c1") == ["confidentiality:schools<3"]


def test_thresholds_come_from_the_catalogue():
    policy = policy_from_catalogue(load_catalogue(DATA / "indicators.yaml"))
    assert (policy.min_n_unweighted, policy.min_n_effective, policy.min_respondents, policy.min_schools) == (30, 30, 5, 3)
    assert (policy.max_ci_width, policy.narrow_ci_width, policy.max_relative_ci_width, policy.min_df) == (0.3, 0.05, 1.3, 8)


# --- complementary suppression: the third sex option never hides girls' or boys' cells --------


def _sex_level_table(x_counts: dict[str, int]) -> pd.DataFrame:
    rows = []
    levels = list(x_counts)
    for sex in ("_T", "F", "M", "X"):
        for level in ["_T", *levels]:
            if sex == "X":
                n = sum(x_counts.values()) if level == "_T" else x_counts[level]
            else:
                n = (300 if sex != "_T" else 600 + x_counts.get(level, 0)) * (len(levels) if level == "_T" else 1)
            rows.append(_row(sex=sex, level=level, n_unweighted=n, deff=1.2, estimate=0.3, ci_low=0.28, ci_high=0.32))
    table = pd.DataFrame(rows)
    for column in DIMENSIONS:
        table[column] = table[column].fillna("_T") if column in table else "_T"
    return table


def test_a_confidential_third_sex_cell_is_protected_without_hiding_girls_or_boys():
    table = _sex_level_table({"6E": 3, "5E": 9, "4E": 8})
    out = apply_publication_policy(table, PublicationPolicy(), ["source_id", "territory", "period"], DIMENSIONS)
    hidden = out[out["suppressed"]]
    assert set(hidden.loc[hidden["suppression_reason"].str.contains("confidentiality"), "level"]) == {"6E"}
    complements = hidden[hidden["suppression_reason"].str.startswith("complementary:")]
    assert len(complements) and not complements["sex"].isin(["F", "M"]).any()
    assert (~out.loc[out["sex"].isin(["F", "M"]), "suppressed"]).all()
    violations = privacy_violations(out, dimensions=DIMENSIONS, links=IndicatorLinks(), policy=PublicationPolicy())
    assert all(v.empty for v in violations.values())


# --- the privacy check fails on crafted inputs ------------------------------------------------


LINKS = IndicatorLinks.from_definitions({
    "CV_ANY": ("cv_any", "TRUE"), "PREVENTION_SESSION": ("prevention_session", "TRUE"),
    "CV_ANY_PREVENTED": ("cv_any", "prevention_session"),
    "CV_ANY_NOT_PREVENTED": ("cv_any", "NOT prevention_session"),
})


def _contract(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows)
    for column in DIMENSIONS:
        table[column] = table[column].fillna("_T") if column in table else "_T"
    table["suppressed"] = [s is True for s in table.get("suppressed", pd.Series(False, index=table.index))]
    table["reliability"] = np.where(table["suppressed"], "suppressed", "reliable")
    for column in ("estimate", "se", "ci_low", "ci_high", "deff", "n_effective"):
        table[column] = table[column].where(~table["suppressed"])
    return table


def _violations(table: pd.DataFrame, **kwargs) -> dict[str, pd.DataFrame]:
    return privacy_violations(table, dimensions=DIMENSIONS, links=kwargs.pop("links", LINKS),
                              policy=PublicationPolicy(), **kwargs)


def test_check_fails_on_a_published_29_respondent_cell():
    table = _contract([_row(), _row(sex="F", n_unweighted=29), _row(sex="M", n_unweighted=371)])
    found = _violations(table)["published_under_min_n"]
    assert list(found["sex"]) == ["F"]


def test_check_fails_on_a_lone_withheld_sibling_under_a_published_total():
    rows = [_row(n_unweighted=407), _row(sex="F", n_unweighted=200), _row(sex="M", n_unweighted=203),
            _row(sex="X", n_unweighted=4, suppressed=True)]
    found = _violations(_contract(rows))["recoverable_confidential"]
    assert list(found["sex"]) == ["X"]
    rows[2]["suppressed"] = True  # a second withheld cell in the line protects it
    assert _violations(_contract(rows))["recoverable_confidential"].empty


def test_check_fails_on_a_linked_indicator_recovery():
    # CV_ANY = CV_ANY_PREVENTED + CV_ANY_NOT_PREVENTED (counts), their populations given by
    # PREVENTION_SESSION: the withheld confidential cell follows from three published ones.
    rows = [_row(indicator_code="CV_ANY", sex="X", n_unweighted=40, estimate=0.35),
            _row(indicator_code="PREVENTION_SESSION", sex="X", n_unweighted=40, estimate=0.1),
            _row(indicator_code="CV_ANY_NOT_PREVENTED", sex="X", n_unweighted=36, estimate=0.3),
            _row(indicator_code="CV_ANY_PREVENTED", sex="X", n_unweighted=4, suppressed=True)]
    found = _violations(_contract(rows))["recoverable_confidential"]
    assert list(found["indicator_code"]) == ["CV_ANY_PREVENTED"]
    # Without the links the single tables look safe: the linked algebra is what catches it.
    assert _violations(_contract(rows), links=IndicatorLinks())["recoverable_confidential"].empty
    rows[1]["suppressed"] = True
    assert _violations(_contract(rows))["recoverable_confidential"].empty


def test_check_fails_on_a_public_microdata_source_too():
    table = _contract([_row(source_family="public", source_id="public_x", n_unweighted=3),
                       _row(source_family="public", source_id="public_x", sex="F", n_unweighted=60, n_psu=2)])
    found = _violations(table)
    assert list(found["published_under_min_n"]["n_unweighted"]) == [3]
    assert list(found["published_confidential"]["sex"]) == ["_T", "F"]


def test_check_fails_when_a_withheld_row_shows_a_design_effect():
    table = _contract([_row(), _row(sex="F", n_unweighted=3, suppressed=True)])
    table.loc[1, "deff"] = 1.0  # "p = 0 or 1" leaks through an empty or a unit design effect
    assert len(_violations(table)["unmasked_withheld"]) == 1


def test_check_passes_on_what_the_policy_publishes():
    rows = [_row(indicator_code=code, sex=sex, n_unweighted=n, estimate=p)
            for code, p in (("CV_ANY", 0.35), ("PREVENTION_SESSION", 0.1), ("CV_ANY_NOT_PREVENTED", 0.3),
                            ("CV_ANY_PREVENTED", 0.4))
            for sex, n in (("_T", 400), ("F", 196), ("M", 200), ("X", 4))]
    table = pd.DataFrame(rows)
    for column in DIMENSIONS:
        table[column] = table[column].fillna("_T") if column in table else "_T"
    out = apply_publication_policy(table, PublicationPolicy(), ["source_id", "territory", "period"],
                                   DIMENSIONS, links=LINKS)
    assert out["suppression_reason"].fillna("").str.contains("confidentiality").sum() == 4
    assert all(v.empty for v in _violations(out).values())


# --- pseudonyms ---------------------------------------------------------------------------------


def test_pseudonyms_are_keyed_per_source_and_ignore_surrounding_spaces():
    key = b"barometre-dev-key-not-secret"
    ids = pd.Series([" R1 ", "R1"])
    first = pseudonymise(ids, key=key, source_id="pilot_orleans_tours_2025")
    second_wave = pseudonymise(ids, key=key, source_id="pilot_orleans_tours_2026")
    expected = hmac.new(key, b"pilot_orleans_tours_2025:R1", hashlib.sha256).hexdigest()[:20]
    assert list(first) == [expected, expected]
    assert second_wave[0] != first[0]
    assert pseudonymise(ids, key=b"another key", source_id="pilot_orleans_tours_2025")[0] != expected


# --- a held-out public microdata source, declared by a manifest only ------------------------


def test_held_out_public_microdata_source_publishes_what_r_survey_gives(tmp_path):
    manifest = load_manifest(DOMAINS / "public_nhanes_subsample.yaml")
    (tmp_path / "nhanes_subsample.csv").write_bytes((DOMAINS / "nhanes_subsample.csv").read_bytes())
    codebook = load_codebook(DATA / "codebook.yaml")
    catalogue = load_catalogue(DATA / "indicators.yaml")
    raw = read_raw_source(manifest, tmp_path)
    from barometre_pipeline.staging.microdata import stage_microdata

    staged = stage_microdata(raw.frame, manifest, codebook, pseudonym_key=b"k").staged
    assert len(staged) == 1200
    con = duckdb.connect()
    con.register("staged", staged.assign(final_weight=staged["design_weight"]))
    estimates = estimate_source_indicators(con, "staged", catalogue).assign(source_id=manifest.id)
    published = publish_microdata_rows(estimates, catalogue, codebook,
                                       SourceInfo(manifest.id, "public", (), "{}"))
    cv = published[published["indicator_code"] == "CV_ANY"].copy()
    reference = pd.read_csv(DOMAINS / "nhanes_subsample_r_reference.csv", dtype=str)
    sex = {"1": "M", "2": "F", "_T": "_T"}
    race = {"1": "18", "2": "28", "3": "36", "4": "37", "_T": "_T"}
    age = {"(0,19]": "6E", "(19,39]": "5E", "(39,59]": "4E", "(59,Inf]": "3E", "_T": "_T"}
    compared = withheld = 0
    for row in reference.itertuples():
        ours = cv[(cv["sex"] == sex[row.sex]) & (cv["departement"] == race[row.race])
                  & (cv["level"] == age[row.agecat]) & (cv["grade_group"] == "_T")]
        assert len(ours) == 1, row
        ours = ours.iloc[0]
        assert ours["n_unweighted"] == int(row.n) and ours["df"] == int(row.df)
        if ours["suppressed"]:
            withheld += 1
            assert ours["suppression_reason"].startswith(("reliability:", "confidentiality:", "complementary:"))
            continue
        compared += 1
        assert ours["estimate"] == pytest.approx(float(row.estimate), rel=1e-10)
        assert ours["se"] == pytest.approx(float(row.se), rel=1e-7)
        assert ours["ci_low"] == pytest.approx(float(row.ci_low), rel=1e-6)
        assert ours["ci_high"] == pytest.approx(float(row.ci_high), rel=1e-6)
    # The youngest class has ~0.5 % high cholesterol: its interval fails the NCHS relative width.
    assert compared >= 12 and withheld >= 1


# --- the shipped data ----------------------------------------------------------------------


def test_shipped_data_meet_the_publication_acceptance(shipped_run):
    check = [e for e in shipped_run.result.get_asset_check_evaluations()
             if e.check_name == "privacy_guarantees"]
    assert len(check) == 1 and check[0].passed
    table = shipped_run.indicators()
    with duckdb.connect(str(shipped_run.warehouse), read_only=True) as con:
        counts = design_counts_from_warehouse(con, DIMENSIONS)
    catalogue = load_catalogue(shipped_run.data_dir / "indicators.yaml")
    codebook = load_codebook(shipped_run.data_dir / "codebook.yaml")
    violations = privacy_violations(table, dimensions=DIMENSIONS, links=indicator_links(catalogue),
                                    policy=policy_from_catalogue(catalogue),
                                    hierarchies=[level_hierarchy(codebook)], design_counts=counts)
    assert {name: len(rows) for name, rows in violations.items()} == dict.fromkeys(violations, 0)
    pilot = table[table["source_family"] == "pilot"]
    # No published cell from fewer than 3 schools (school counts from the estimation tables).
    from barometre_pipeline.validation.privacy import attach_design_counts

    with_schools = attach_design_counts(pilot, counts, DIMENSIONS)
    published = with_schools[~with_schools["suppressed"]]
    assert published["n_psu"].notna().all() and (published["n_psu"] >= 3).all()
    # No girl/boy sex × level cell with n >= 100 withheld only as a complement.
    girls_boys = pilot[(pilot["breakdown"] == "sex×level") & pilot["sex"].isin(["F", "M"])]
    only_complement = girls_boys["suppression_reason"].fillna("").map(
        lambda r: bool(r) and all(p.startswith("complementary:") for p in r.split(";")))
    assert not (only_complement & (girls_boys["n_unweighted"] >= 100)).any()
    # Withheld rows say why, and show nothing.
    withheld = pilot[pilot["suppressed"]]
    assert withheld["suppression_reason"].str.match(r"^(reliability|confidentiality|complementary):").all()
    assert withheld[["estimate", "se", "ci_low", "ci_high", "deff", "n_effective"]].isna().all().all()


# --- privacy end to end: planted identifiers never reach an exported byte -------------------

PLANTED_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "privacy_planted"
DEV_KEY = b"barometre-dev-key-not-secret"  # the documented, public dev-mode key (README)


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory, session_monkeypatch):
    import shutil

    from barometre_pipeline_tests.pipeline.conftest import copy_data, run_pipeline

    data_dir = copy_data(tmp_path_factory.mktemp("planted") / "data")
    for manifest in PLANTED_FIXTURE.glob("privacy_planted_*.yaml"):
        shutil.copy(manifest, data_dir / "sources")
    shutil.copytree(PLANTED_FIXTURE / "raw", data_dir / "raw" / "privacy_planted")
    return run_pipeline(data_dir, session_monkeypatch)


def _exported_bytes(export_dir: Path) -> dict[str, bytes]:
    import io
    import zipfile

    found = {}
    for path in sorted(p for p in export_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                data += b"".join(archive.read(name) for name in archive.namelist())
        if path.suffix == ".parquet":
            # Compressed columns hide text from a byte search: search the decoded values too.
            data += pd.read_parquet(path).to_csv(index=False).encode()
        found[str(path.relative_to(export_dir))] = data
    return found


def test_planted_addresses_and_emails_never_reach_an_exported_byte(planted_run):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_planted", PLANTED_FIXTURE / "make_planted.py")
    planted = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(planted)
    inputs = b"".join(p.read_bytes() for p in (PLANTED_FIXTURE / "raw").glob("*.csv"))
    values = list(planted.PLANTED.values())
    assert all(v.encode() in inputs for v in values)  # really planted
    exported = _exported_bytes(planted_run.export_dir)
    # The planted source is published (else the search proves nothing).
    published = planted_run.indicators()
    mine = published[published["source_id"].str.startswith("privacy_planted")]
    assert (~mine["suppressed"]).sum() >= 2
    assert any(b"privacy_planted_2024" in data for name, data in exported.items() if name.endswith(".parquet"))
    for name, data in exported.items():
        for value in values:
            assert value.encode() not in data, f"{value} published in {name}"
        assert b"2001:db8" not in data and b"example.org" not in data, name


def test_pseudonyms_differ_across_waves_and_ignore_spaces(planted_run):
    with duckdb.connect(str(planted_run.warehouse), read_only=True) as con:
        first = set(con.execute("SELECT respondent_pid FROM staging.privacy_planted_2024").df()["respondent_pid"])
        second = set(con.execute("SELECT respondent_pid FROM staging.privacy_planted_2025").df()["respondent_pid"])
    rejects = planted_run.per_source("quarantine", "rejects", "WHERE source_id LIKE 'privacy_planted%'")
    expected_2024 = hmac.new(DEV_KEY, b"privacy_planted_2024:R1", hashlib.sha256).hexdigest()[:20]
    expected_2025 = hmac.new(DEV_KEY, b"privacy_planted_2025:R1", hashlib.sha256).hexdigest()[:20]
    assert expected_2024 in first and expected_2025 in second
    assert not first & second  # the same raw ids give unrelated pseudonyms in another wave
    # " R1 " is R1 once trimmed: a duplicate id in the first wave, rejected.
    duplicated = rejects[rejects["reason"].str.contains("duplicated respondent id")]
    assert list(duplicated["source_id"]) == ["privacy_planted_2024"]
    # The e-mail and the IPv6 address planted in the mapped `sexe` column reject their rows.
    mapped = rejects[rejects["field"] == "sexe"]
    assert sorted(mapped["source_id"]) == ["privacy_planted_2024", "privacy_planted_2025"]


def test_every_reason_the_rules_write_has_a_french_explanation():
    from barometre_pipeline.stats.publication import explain_reason_fr

    codes = ["reliability:n<30", "reliability:effective_n<30", "reliability:psu<2", "reliability:df<1",
             "reliability:ci_width>=0.3", "reliability:relative_ci_width>130%",
             "reliability:sensitive_n<100", "reliability:sensitive_events<5", "reliability:no_estimate",
             "confidentiality:n<5", "confidentiality:schools<3", "complementary:CV_ANY|sex=X|level=TLE"]
    for code in codes:
        text = explain_reason_fr(code)
        assert text and code.split("<")[0] not in text and (text.startswith("fiabilité") or
                                                             text.startswith("secret statistique"))
    assert explain_reason_fr("reliability:n<30;complementary:CV_ANY|sex=X").count(" ; ") == 1
    assert "CV_ANY|sex=X" in explain_reason_fr("complementary:CV_ANY|sex=X")
