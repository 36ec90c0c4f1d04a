"""A failing source never stops the others (issue 9).

One pilot export is replaced by a copy re-saved in cp1252 with `,` delimiters (the manifest still
declares UTF-8 with BOM and `;`): that source fails its `readable` check with a message naming the
file, the encoding and the delimiter the file appears to use; in the same run the three other
pilots' indicators, effects and exports are published, the school funnel is drawn for them, and
the `sources` export marks the broken one "non mis à jour".
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from barometre_pipeline_tests.graph.conftest import latest_run_id, make_workspace
from barometre_pipeline_tests.waves import failed_waves, wave_metadata

BROKEN = "pilot_orleans_tours_2025"
BROKEN_FILE = "raw/pilot/orleans_tours/2025/export_questionnaire_2025.csv"
OTHERS = ["pilot_orleans_tours_2026", "pilot_quebec_2025", "pilot_quebec_2026"]


def resave_as_cp1252_commas(path) -> None:
    """What a spreadsheet does on "Enregistrer sous… CSV (séparateur: virgule)" on Windows."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""),
                           delimiter=";"))
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=",", lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode("cp1252"))


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    try:
        workspace = make_workspace(tmp_path_factory.mktemp("isolation"), patch)
        resave_as_cp1252_commas(workspace.data_dir / BROKEN_FILE)
        status = workspace.materialize()
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            run_id = latest_run_id()
            checks = {
                (e.asset_key.to_user_string(), e.check_name): e
                for e in (r.event_log_entry.dagster_event.event_specific_data for r in
                          instance.get_records_for_run(
                              run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records)
            }
            failed_steps = [r.event_log_entry.step_key for r in instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records]
        yield workspace, status, checks, failed_steps
    finally:
        patch.undo()


def test_the_broken_export_fails_its_source_naming_file_encoding_and_delimiter(broken_run):
    _, _, checks, _ = broken_run
    # The pilot waves are partitions of `raw/status/pilot`: one evaluation for the run's waves.
    readable = checks[("raw/status/pilot", "readable")]
    assert not readable.passed and not readable.blocking
    assert failed_waves(readable) == {BROKEN}
    error = wave_metadata(readable, BROKEN)["error"]
    assert BROKEN_FILE in error
    assert "cp1252" in error and "comma" in error and "','" in error
    assert "/tmp/" not in error and "/work/" not in error, "a local path in a published message"
    assert all(wave_metadata(readable, s)["error"] == "" for s in OTHERS)


def test_the_run_completes_and_every_other_step_succeeds(broken_run):
    _, status, _, failed_steps = broken_run
    assert failed_steps == []
    assert status == 0


def test_the_three_other_pilots_are_published_in_the_same_run(broken_run):
    workspace = broken_run[0]
    indicators = pd.read_parquet(workspace.export_dir / "indicators")
    published = indicators[~indicators["suppressed"]]
    assert set(OTHERS) <= set(published["source_id"])
    assert BROKEN not in set(indicators["source_id"])
    effects = pd.read_parquet(workspace.export_dir / "effects")
    for source in OTHERS:
        assert (effects["source_id"] == source).sum() > 10, source
    assert BROKEN not in set(effects["source_id"])
    assert (workspace.root / "restricted" / "school_funnel").exists()


def test_the_sources_export_marks_the_broken_source_not_updated(broken_run):
    sources = pd.read_parquet(broken_run[0].export_dir / "sources").set_index("source_id")
    assert sources.loc[BROKEN, "update_status"] == "not_updated"
    assert sources.loc[BROKEN, "update_status_fr"] == "non mis à jour"
    assert not sources.loc[BROKEN, "readable"]
    assert "cp1252" in sources.loc[BROKEN, "read_error"]
    assert (sources.drop(index=BROKEN)["update_status"] == "updated").all()


def test_a_source_that_could_be_read_before_keeps_its_figures_marked_not_updated(
        incremental_runs):
    """After a good run, the same pilot export re-saved in cp1252 with commas: the source's
    check fails, its last good figures stay published with the NON MIS À JOUR flag."""
    assert incremental_runs.fourth_status == 0
    export_dir = incremental_runs.workspace.export_dir
    sources = pd.read_parquet(export_dir / "sources").set_index("source_id")
    assert sources.loc[BROKEN, "update_status_fr"] == "non mis à jour"
    assert "cp1252" in sources.loc[BROKEN, "read_error"]
    assert sources.loc[BROKEN, "input_files"] != "[]", "the files of the last good read"
    indicators = pd.read_parquet(export_dir / "indicators")
    kept = indicators[indicators["source_id"] == BROKEN]
    assert len(kept) and kept["quality_flags"].str.contains("NON MIS À JOUR").all()
    others = indicators[indicators["source_id"].isin(OTHERS)]
    assert not others["quality_flags"].fillna("").str.contains("NON MIS À JOUR").any()
