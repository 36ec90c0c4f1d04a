"""Issue 4 acceptance on the shipped two-wave sample: coverage of the generator's truth, planted
risk factor recovered, the consolidated database's required rows, spreadsheet-safe zips."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest

TRUTH_BREAKDOWNS = ["_T", "sex", "level", "sex×level"]


def truth(run) -> pd.DataFrame:
    files = sorted((run.data_dir / "raw" / "pilot").rglob("ground_truth_*.csv"))
    return pd.concat([pd.read_csv(f, dtype={"period": str}) for f in files], ignore_index=True)


def test_true_values_lie_in_the_published_intervals_for_90_percent_of_cells(shipped_run):
    table = shipped_run.indicators()
    pilot = table[(table["source_family"] == "pilot") & ~table["suppressed"]
                  & table["breakdown"].isin(TRUTH_BREAKDOWNS)]
    merged = pilot.merge(truth(shipped_run), on=["indicator_code", "territory", "period", "sex",
                                                 "level"], validate="one_to_one")
    # every truth indicator (CV_ANY, CV_REPEATED and the ten items), both territories and waves
    assert merged["indicator_code"].nunique() == 12
    assert set(zip(merged["territory"], merged["period"], strict=True)) == {
        ("FR-OT", "2025"), ("FR-OT", "2026"), ("CA-QC", "2025"), ("CA-QC", "2026")}
    covered = (merged["ci_low"] <= merged["value"]) & (merged["value"] <= merged["ci_high"])
    assert len(merged) > 500
    assert covered.mean() >= 0.90, f"coverage {covered.mean():.3f} over {len(merged)} cells"


def test_planted_risk_factor_is_recovered_within_its_interval(shipped_run):
    effects = pd.read_parquet(shipped_run.export_dir / "effects")
    rows = effects[(effects["source_family"] == "pilot")
                   & (effects["exposure"] == "SOCIAL_MEDIA_BEFORE_13")
                   & (effects["measure"] == "adjusted_odds_ratio")]
    assert len(rows) == 4
    for row in rows.itertuples():
        folder = "orleans_tours" if row.territory == "FR-OT" else "quebec"
        planted = json.loads(next((shipped_run.data_dir / "raw" / "pilot" / folder / row.period)
                                  .glob("planted_effects_*.json")).read_text(encoding="utf-8"))
        odds_ratio = planted["model"]["cv_any_odds_ratios"]["social_media_before_13"]
        assert row.ci_low <= odds_ratio <= row.ci_high, row


def published(table, code, source_prefix, period, grade_group="_T", sex="_T"):
    return table[(table["indicator_code"] == code) & table["source_id"].str.startswith(source_prefix)
                 & (table["period"] == period) & (table["grade_group"] == grade_group)
                 & (table["sex"] == sex) & (table["age_band"] == "_T")]


def test_consolidated_database_has_the_required_rows(shipped_run):
    table = shipped_run.indicators()
    depp_college = published(table, "CV_ANY", "public_fr_depp", "2021-2022", "COLLEGE")
    depp_lycee = published(table, "CV_ANY", "public_fr_depp", "2022-2023", "LYCEE")
    hbsc = table[table["source_id"].eq("public_int_hbsc") & table["period"].eq("2021-2022")
                 & table["comparability_group"].eq("CYBERBULLIED_HBSC") & table["sex"].eq("_T")]
    assert depp_college["estimate"].tolist() == [pytest.approx(0.28)]
    assert depp_lycee["estimate"].tolist() == [pytest.approx(0.23)]
    assert hbsc["estimate"].tolist() == [pytest.approx(0.15)]
    pilot_totals = table[(table["indicator_code"] == "CV_ANY") & (table["source_family"] == "pilot")
                         & (table["breakdown"] == "_T")]
    assert set(zip(pilot_totals["territory"], pilot_totals["period"], strict=True)) == {
        ("FR-OT", "2025"), ("FR-OT", "2026"), ("CA-QC", "2025"), ("CA-QC", "2026")}
    required = pd.concat([depp_college, depp_lycee, hbsc, pilot_totals])
    assert required["comparability_group"].notna().all()
    for text in required["provenance"]:
        provenance = json.loads(text)
        assert provenance["input_sha256"] and provenance["dagster_run_id"] and provenance["code_version"]


def test_territory_zips_open_in_a_french_spreadsheet(shipped_run):
    zips = sorted((shipped_run.export_dir / "csv").glob("barometre_*.zip"))
    names = {z.name for z in zips}
    assert {"barometre_FR-OT_v1.zip", "barometre_CA-QC_v1.zip"} <= names
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read("indicateurs.csv")
        assert raw.startswith(b"\xef\xbb\xbf")
        text = raw.decode("utf-8-sig")
        header = text.splitlines()[0]
        assert header.count(";") >= 20 and "," not in header
        cells = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
        text_cells = cells.drop(columns=["estimate", "se", "ci_low", "ci_high", "df",
                                         "n_unweighted", "n_effective", "deff"], errors="ignore")
        starts = text_cells.apply(lambda col: col.str[:1]).stack()
        assert not starts.isin(["=", "+", "-", "@"]).any(), path.name


def test_other_datasets_match_their_documented_columns(shipped_run):
    from barometre_pipeline.publish.other_datasets import OTHER_DATASETS

    for name, columns in OTHER_DATASETS.items():
        published = pd.read_parquet(shipped_run.export_dir / name)
        assert list(published.columns) == [c["name"] for c in columns], name
    dictionary = json.loads((shipped_run.export_dir / "data_dictionary.json").read_text("utf-8"))
    assert {"indicators", "effects", "comparisons", "sources"} <= set(dictionary["datasets"])
