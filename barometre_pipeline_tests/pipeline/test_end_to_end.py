"""The whole pipeline on freshly generated synthetic pilot data plus the shipped public sources:
every asset materialises, the export follows contract v1, and the published CV_ANY estimates
recover the generator's finite-population ground truth."""

from __future__ import annotations

import pandas as pd
import pytest

from barometre_pipeline.publish.contract import INDICATORS_COLUMNS
from barometre_pipeline.simulate.cli import main as simulate
from barometre_pipeline_tests.pipeline.conftest import copy_data, run_pipeline


@pytest.fixture(scope="module")
def run(tmp_path_factory, session_monkeypatch):
    data_dir = copy_data(tmp_path_factory.mktemp("e2e") / "data")
    for old in (data_dir / "raw" / "pilot").rglob("*"):
        if old.is_file():
            old.unlink()
    for manifest in (data_dir / "sources").glob("pilot_*.yaml"):
        manifest.unlink()
    # A different seed from the shipped sample: the test checks the generator-to-export chain.
    assert simulate(["--seed", "7", "--out", str(data_dir)]) == 0
    return run_pipeline(data_dir, session_monkeypatch)


def test_every_asset_and_check_succeeds(run):
    assert run.result.success
    failed_checks = [
        (str(e.asset_key), e.check_name)
        for e in run.result.get_asset_check_evaluations() if not e.passed
    ]
    assert failed_checks == []


def test_export_has_every_contract_column_and_every_family(run):
    table = run.indicators()
    assert list(table.columns) == [c.name for c in INDICATORS_COLUMNS]
    assert set(table["source_family"]) == {"pilot", "public", "scientific"}
    assert (table.loc[table["suppressed"], "estimate"].isna()).all()
    proportions = table[table["unit"] == "proportion"]["estimate"].dropna()
    assert proportions.between(0, 1).all()


def test_every_row_carries_provenance_with_file_hashes(run):
    table = run.indicators()
    pilot = table[table["source_family"] == "pilot"]
    assert pilot["provenance"].str.contains('"input_sha256":{"raw/pilot/').all()
    assert pilot["provenance"].str.contains(run.result.run_id).all()


def _truth(run) -> pd.DataFrame:
    files = sorted((run.data_dir / "raw" / "pilot").rglob("ground_truth_*.csv"))
    assert files, "the generator wrote no ground truth"
    return pd.concat([pd.read_csv(f, dtype={"period": str}) for f in files], ignore_index=True)


def test_cv_any_estimates_recover_the_ground_truth(run):
    table = run.indicators()
    pilot = table[(table["source_family"] == "pilot") & (table["indicator_code"] == "CV_ANY")
                  & table["breakdown"].isin(["_T", "sex", "level", "sex×level"])
                  & ~table["suppressed"]]
    truth = _truth(run)
    truth = truth[truth["indicator_code"] == "CV_ANY"]
    merged = pilot.merge(truth, on=["territory", "period", "sex", "level"], validate="one_to_one")
    assert len(merged) >= 40
    # 95 % intervals miss 1 time in 20 by design: most cells must cover the truth, and no
    # territory × wave total may be further than 3 standard errors from it (a bias would be).
    covered = (merged["ci_low"] <= merged["value"]) & (merged["value"] <= merged["ci_high"])
    assert covered.mean() >= 0.85, merged.loc[~covered, ["territory", "period", "sex", "level",
                                                         "estimate", "ci_low", "ci_high", "value"]]
    totals = merged[merged["breakdown"] == "_T"]
    assert len(totals) == 4
    z = (totals["estimate"] - totals["value"]).abs() / totals["se"]
    assert (z < 3).all(), totals[["territory", "period", "estimate", "se", "value"]]
