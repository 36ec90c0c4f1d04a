"""Blocking checks stop the exports (issue 5): a good run publishes, then two pilot exports are
broken the way real exports break, and the next run must refuse to publish.

- every frequency answer of the 2025 Orléans-Tours wave shifted to "4 fois ou plus" (a value map
  read backwards): CV_ANY near 100 %, outside the plausibility band -> `gx_plausibility` fails;
- every sampling weight of the 2026 wave zeroed (a broken weight file): every row rejected ->
  `rows_conserved` fails.

Two pipeline runs in one export dir and warehouse; the second must not touch what the first
published.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

from barometre_pipeline_tests.pipeline.conftest import PipelineRun, copy_data, run_pipeline
from barometre_pipeline_tests.waves import failed_waves, wave_metadata

SHIFTED = "pilot_orleans_tours_2025"
ZEROED = "pilot_orleans_tours_2026"
FREQUENCY_PREFIX = "Depuis la rentrée, combien de fois"
WEIGHT_COLUMN = "Poids de tirage"


def _export_state(export_dir: Path) -> dict[str, str]:
    """Every file and link under the export dir: what a reader could see."""
    state = {}
    for directory, dirs, files in os.walk(export_dir):
        for name in sorted(dirs + files):
            path = Path(directory) / name
            key = str(path.relative_to(export_dir))
            if path.is_symlink():
                state[key] = "-> " + os.readlink(path)
            elif path.is_file() and name != ".publish.lock":
                state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def _rewrite_pilot_csv(path: Path, change) -> None:
    table = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    change(table)
    table.to_csv(path, sep=";", index=False, encoding="utf-8-sig")


def _shift_frequencies(table: pd.DataFrame) -> None:
    items = [c for c in table.columns if c.startswith(FREQUENCY_PREFIX)]
    assert len(items) == 10
    for column in items:
        table[column] = table[column].where(table[column] == "", "4 fois ou plus")


def _zero_weights(table: pd.DataFrame) -> None:
    table[WEIGHT_COLUMN] = "0"


class Runs:
    def __init__(self, good: PipelineRun, published: dict[str, str], bad: PipelineRun,
                 after: dict[str, str]) -> None:
        self.good, self.published, self.bad, self.after = good, published, bad, after


@pytest.fixture(scope="module")
def runs(tmp_path_factory, session_monkeypatch) -> Runs:
    data_dir = copy_data(tmp_path_factory.mktemp("blocking") / "data")
    good = run_pipeline(data_dir, session_monkeypatch)
    published = _export_state(good.export_dir)
    pilot = data_dir / "raw" / "pilot" / "orleans_tours"
    _rewrite_pilot_csv(pilot / "2025" / "export_questionnaire_2025.csv", _shift_frequencies)
    _rewrite_pilot_csv(pilot / "2026" / "export_questionnaire_2026.csv", _zero_weights)
    bad = run_pipeline(data_dir, session_monkeypatch)
    return Runs(good, published, bad, _export_state(good.export_dir))


def _evaluation(run: PipelineRun, asset: str, check: str):
    found = [e for e in run.result.get_asset_check_evaluations()
             if e.asset_key.to_user_string() == asset and e.check_name == check]
    assert len(found) == 1, f"{asset}:{check} evaluated {len(found)} times"
    return found[0]


def _materialized(run: PipelineRun) -> set[str]:
    return {e.asset_key.to_user_string() for e in run.result.get_asset_materialization_events()}


def _exports(run: PipelineRun) -> set[str]:
    return {key for key in _materialized(run) if key.startswith("exports/")}


FIGURELESS_EXPORTS = {"exports/data_dictionary", "exports/sources_parquet"}


def _with_figures(files: dict[str, str]) -> dict[str, str]:
    """Published files that carry figures (not the dictionary or the sources catalogue)."""
    return {name: digest for name, digest in files.items()
            if not name.removeprefix(".versions/").startswith(("sources", "data_dictionary"))}


def test_the_good_run_publishes_and_passes_every_check(runs):
    assert runs.good.result.success
    assert _exports(runs.good) >= {"exports/indicators_parquet", "exports/csv_bundles",
                                   "exports/site"}
    evaluations = runs.good.result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    assert any(key.startswith(".versions/indicators/") for key in runs.published)
    assert runs.published["indicators"].startswith("-> ")


def test_shifted_frequency_answers_fail_the_plausibility_check(runs):
    # The pilot waves are partitions of `staging/pilot`: one evaluation for the run's waves.
    evaluation = _evaluation(runs.bad, "staging/pilot", "gx_plausibility")
    assert not evaluation.passed and evaluation.blocking
    assert SHIFTED in failed_waves(evaluation)
    shifted = wave_metadata(evaluation, SHIFTED)
    assert shifted["failed_expectations"] >= 1
    failed = [r for r in shifted["results"] if not r["success"]]
    # The failure case names the observed prevalence, far above the 65 % ceiling.
    prevalence = [r for r in failed if r["kwargs"].get("column") == "cv_any"]
    assert len(prevalence) == 1, failed
    assert prevalence[0]["observed_value"] > 0.95
    # The Québec waves, not broken, passed it in the same evaluation.
    assert wave_metadata(evaluation, "pilot_quebec_2025")["failed_expectations"] == 0
    # The unbroken wave of the previous run passed the same check.
    assert _evaluation(runs.good, "staging/pilot", "gx_plausibility").passed


def test_zeroed_weights_fail_the_row_conservation_check(runs):
    evaluation = _evaluation(runs.bad, "staging/pilot", "rows_conserved")
    assert not evaluation.passed and evaluation.blocking
    assert failed_waves(evaluation) == {ZEROED}
    metadata = wave_metadata(evaluation, ZEROED)
    assert metadata["input_rows"] > 1000
    assert metadata["staged_rows"] == 0
    assert metadata["rejected_rows"] == metadata["input_rows"]
    assert metadata["rejected_share"] == 1.0
    # Failure cases are recorded with file, line, field and reason.
    assert "design weight must be a positive number" in metadata["first_rejects"]
    assert "export_questionnaire_2026.csv" in metadata["first_rejects"]
    assert WEIGHT_COLUMN in metadata["first_rejects"]


def test_a_failed_blocking_check_stops_every_export(runs):
    materialized = _materialized(runs.bad)
    # What carries no figure may still be published: the dictionary (codebook and catalogue) and
    # the sources catalogue, which is where the failure shows (rows rejected, read errors).
    assert _exports(runs.bad) <= FIGURELESS_EXPORTS
    assert "exports/indicators_parquet" not in materialized
    assert "consolidated/indicators" not in materialized
    # The waves ran in one step: a failed wave stops the family's weighting for the run.
    assert "weighting/pilot" not in materialized
    # Sources that were not broken were still read and staged (the Québec waves too).
    assert {"staging/pilot", "staging/public_fr_depp"} <= materialized
    staged = next(e for e in runs.bad.result.get_asset_materialization_events()
                  if e.asset_key.to_user_string() == "staging/pilot")
    assert wave_metadata(staged.materialization, "pilot_quebec_2025")["staged_rows"] > 1000


def test_the_previous_exports_are_untouched(runs):
    assert runs.published, "the good run published nothing"
    assert _with_figures(runs.after) == _with_figures(runs.published)
    table = pd.read_parquet(runs.good.export_dir / "indicators")
    pilot = table[(table["source_id"] == SHIFTED) & (table["indicator_code"] == "CV_ANY")
                  & (table["breakdown"] == "_T")]
    assert pilot["estimate"].iloc[0] < 0.65  # still the good run's figure
