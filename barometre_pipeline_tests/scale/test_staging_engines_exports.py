"""Exports at scale are the same, byte for byte, whether staging runs set-based in DuckDB (the
fast path) or through the reference pandas path it replaces: the whole pipeline, twice, on about
50,000 synthetic respondents of the national scenario (all of France's collèges and lycées GT plus
Québec), same folders, same run id. Slow (two full runs): run once."""

from __future__ import annotations

import shutil

import dagster as dg

from barometre_pipeline.benchmarks.end_to_end import prepare_data
from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.staging.microdata_sql import ENGINE_VARIABLE
from barometre_pipeline_tests.scale.published import all_published

RESPONDENTS = 50_000
RUN_ID = "5ca1e000-0000-4000-8000-000000050000"


def _run(monkeypatch, engine: str) -> dg.ExecuteInProcessResult:
    monkeypatch.setenv(ENGINE_VARIABLE, engine)
    from barometre_pipeline.definitions import build_definitions
    from barometre_pipeline.defs.partitions import every_wave_tags
    from barometre_pipeline.settings import load_settings
    from barometre_pipeline.sources.manifest import load_manifests

    defs = build_definitions()
    tags = every_wave_tags(load_manifests(load_settings().data_dir))
    job = defs.resolve_job_def("nightly_refresh")
    # Everything the staging feeds, up to every export; the analytical report (group `report`,
    # rendered from these exports) is left out: its pages are tested by its own suite.
    selection = (dg.AssetSelection.all() - dg.AssetSelection.groups("report")).resolve(
        defs.resolve_asset_graph())
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_id=RUN_ID,
                                        asset_selection=list(selection), tags=tags)
    failed = [e.step_key for e in result.all_events if e.is_step_failure]
    assert result.success, f"{engine} staging: steps failed {failed}"
    return result


def test_exports_identical_with_sql_and_reference_staging(tmp_path, monkeypatch):
    data = prepare_data(tmp_path / "data", RESPONDENTS, PROJECT_ROOT / "data" / "frames", seed=12)
    exports, restricted = tmp_path / "exports", tmp_path / "restricted"
    warehouse = tmp_path / "warehouse"
    for name, value in {"BAROMETRE_DATA_DIR": data, "BAROMETRE_EXPORT_DIR": exports,
                        "BAROMETRE_RESTRICTED_DIR": restricted,
                        "BAROMETRE_WAREHOUSE": warehouse / "barometre.duckdb"}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("BAROMETRE_MODE", "dev")
    monkeypatch.setenv("BAROMETRE_EXECUTOR", "in_process")
    monkeypatch.delenv("BAROMETRE_PSEUDONYM_KEY", raising=False)

    reference_run = _run(monkeypatch, "reference")
    reference = all_published(exports, restricted)
    staged_reference = _staged_rows(reference_run)
    for folder in (exports, restricted, warehouse):
        shutil.rmtree(folder)

    sql_run = _run(monkeypatch, "sql")
    fast = all_published(exports, restricted)

    assert sum(staged_reference.values()) >= 0.99 * RESPONDENTS  # (a few rejects at most)
    assert _staged_rows(sql_run) == staged_reference
    assert {"indicators", "effects", "comparisons"} <= {k.split("/")[0] for k in reference}
    assert sorted(fast) == sorted(reference)
    differing = [name for name in reference if reference[name] != fast[name]]
    assert not differing, f"exports differ between staging paths: {differing}"


def _staged_rows(result: dg.ExecuteInProcessResult) -> dict[str, int]:
    """Staged rows per pilot wave (the waves of `staging/pilot`, one run for all of them)."""
    rows = {}
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == "staging/pilot":
            for source_id, metadata in event.materialization.metadata["waves"].value.items():
                rows[source_id] = int(metadata["staged_rows"])
    return rows
