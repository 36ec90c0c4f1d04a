"""Incremental runs of `barometre materialize` (issue 9): a second run with nothing changed runs
nothing and leaves every export byte and mtime as it was; changing one public source's file re-runs
that source's lineage and the consolidated tables and exports, and nothing of the other sources."""

from __future__ import annotations

from barometre_pipeline_tests.graph.conftest import CHANGED_SOURCE

# What a change to one public (aggregates) source may re-run besides its own raw/staging assets:
# the tables and files built from every source.
SHARED_GROUPS = {"consolidated", "exports", "report"}


def _source_of(key: str) -> str | None:
    """The source an asset key belongs to (`raw/status/x` -> x), None for shared assets."""
    parts = key.split("/")
    if parts[0] in {"raw", "staging", "weighting", "indicators", "quarantine", "source_files"}:
        return parts[-1]
    return None


# The pilot waves shipped in data/sources: territory × wave partitions of the pilot family.
PILOT_WAVES = {"CA-QC|2025", "CA-QC|2026", "FR-OT|2025", "FR-OT|2026"}
PILOT_FAMILY = ["raw/pilot", "raw/status/pilot", "raw/files/pilot", "quarantine/read_rejects/pilot",
                "staging/pilot", "quarantine/rejects/pilot", "quarantine/row_counts/pilot",
                "weighting/pilot", "indicators/pilot"]


def test_the_first_run_materialises_everything(incremental_runs):
    assert incremental_runs.first_status == 0
    keys = incremental_runs.first_keys
    assert "exports/indicators_parquet" in keys and "consolidated/effects" in keys
    assert f"quarantine/rejects/{CHANGED_SOURCE}" in keys
    # 17 public and scientific sources with assets of their own, and the pilot family...
    sources = {_source_of(k) for k in keys if _source_of(k)}
    assert len(sources) == 18 and "pilot" in sources
    # ...materialised on every wave, in the same run.
    assert incremental_runs.first_partitions == {key: PILOT_WAVES for key in PILOT_FAMILY}


def test_a_run_with_nothing_changed_launches_no_run(incremental_runs):
    assert incremental_runs.second_status == 0
    assert incremental_runs.runs_after_second == incremental_runs.runs_before_second


def test_a_run_with_nothing_changed_rewrites_no_export(incremental_runs):
    before, after = incremental_runs.snapshot_before_second, incremental_runs.snapshot_after_second
    assert before, "the first run published nothing"
    assert before.keys() == after.keys(), "files appeared or disappeared under the export dir"
    for name, (mtime, content) in before.items():
        assert after[name][1] == content, f"{name} changed"
        assert after[name][0] == mtime, f"{name} was rewritten"


def test_one_changed_public_file_reruns_its_lineage_and_the_shared_assets_only(incremental_runs):
    assert incremental_runs.third_status == 0
    keys = incremental_runs.third_keys
    for own in (f"raw/{CHANGED_SOURCE}", f"raw/status/{CHANGED_SOURCE}",
                f"staging/{CHANGED_SOURCE}", f"quarantine/row_counts/{CHANGED_SOURCE}"):
        assert own in keys, own
    assert "consolidated/indicators" in keys and "exports/indicators_parquet" in keys
    others = [k for k in keys if _source_of(k) not in (None, CHANGED_SOURCE)]
    assert not others, f"assets of unchanged sources re-ran: {others}"
    shared = [k for k in keys if _source_of(k) is None]
    assert all(k.split("/")[0] in SHARED_GROUPS for k in shared), shared
    # The restricted funnel reads the pilots only: a public figure does not touch it.
    assert "restricted/school_funnel" not in keys
    assert len(keys) < len(incremental_runs.first_keys) / 2


def test_one_changed_pilot_export_reruns_its_wave_partition_only(incremental_runs):
    # The fourth run follows the re-encoding of the FR-OT 2025 export (test_failure_isolation).
    assert incremental_runs.fourth_status == 0
    assert incremental_runs.fourth_partitions == {key: {"FR-OT|2025"} for key in PILOT_FAMILY}
    keys = incremental_runs.fourth_keys
    assert not [k for k in keys if _source_of(k) not in (None, "pilot")]
    assert "consolidated/indicators" in keys and "restricted/school_funnel" in keys


def test_the_batch_staleness_rule_agrees_with_dagsters_resolver(incremental_runs):
    # Dagster's resolver calls stale the assets whose own inputs changed; a run must also redo
    # everything downstream of them, which the batch rule includes.
    assert incremental_runs.stale_by_resolver, "the changed file made nothing stale"
    assert set(incremental_runs.stale_by_resolver) <= set(incremental_runs.stale_by_batch)
    assert incremental_runs.stale_by_batch == incremental_runs.resolver_with_downstream
