"""The multiprocess executor (a process per step, the `duckdb_warehouse` pool limited to one slot)
publishes exactly the bytes the in-process executor publishes, on the shipped data.

Both runs use the same folders and the same run id (the run id is part of each row's provenance),
one after the other; only the executor differs. Slow (a process per step): run once."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.api import execute_run

from barometre_pipeline.defs.partitions import every_wave_tags
from barometre_pipeline.settings import PROJECT_ROOT, load_settings
from barometre_pipeline.sources.manifest import load_manifests
from barometre_pipeline_tests.scale.nightly_job import nightly_refresh_job
from barometre_pipeline_tests.scale.published import all_published

SHIPPED_DATA = PROJECT_ROOT / "data"
INSTANCE_TEMPLATE = PROJECT_ROOT / "barometre_pipeline" / "instance" / "dagster.yaml"


def _run(executor: str, root: Path, run_id: str, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterRun:
    monkeypatch.setenv("BAROMETRE_EXECUTOR", executor)
    home = root / f"dagster_home_{executor}"
    home.mkdir()
    shutil.copyfile(INSTANCE_TEMPLATE, home / "dagster.yaml")  # pool duckdb_warehouse: 1 slot
    recon = dg.reconstructable(nightly_refresh_job)
    job = nightly_refresh_job()
    assert job.executor_def.name == executor
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.create_run_for_job(
            job, run_id=run_id, job_code_origin=recon.get_python_origin(),
            tags=every_wave_tags(load_manifests(load_settings().data_dir)))
        result = execute_run(recon, run, instance)
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        assert result.success, f"{executor} run failed at {failed}"
        return instance.get_run_by_id(run_id)


def test_multiprocess_exports_are_byte_identical_to_in_process(tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(SHIPPED_DATA, data, ignore=lambda d, names: [
        n for n in names if Path(d) == SHIPPED_DATA and n in {"warehouse", "exports", "restricted"}])
    exports, restricted = tmp_path / "exports", tmp_path / "restricted"
    for name, value in {"BAROMETRE_DATA_DIR": data, "BAROMETRE_EXPORT_DIR": exports,
                        "BAROMETRE_RESTRICTED_DIR": restricted,
                        "BAROMETRE_WAREHOUSE": tmp_path / "warehouse" / "barometre.duckdb"}.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("BAROMETRE_MODE", "dev")
    monkeypatch.delenv("BAROMETRE_PSEUDONYM_KEY", raising=False)
    run_id = str(uuid.uuid4())

    _run("in_process", tmp_path, run_id, monkeypatch)
    in_process = all_published(exports, restricted)
    for folder in (exports, restricted, tmp_path / "warehouse"):
        shutil.rmtree(folder)

    _run("multiprocess", tmp_path, run_id, monkeypatch)
    multiprocess = all_published(exports, restricted)

    assert len(in_process) >= 15 and "indicators" in {k.split("/")[0] for k in in_process}
    assert sorted(multiprocess) == sorted(in_process)
    differing = [name for name in in_process if in_process[name] != multiprocess[name]]
    hint = ""
    if differing and all(name.endswith(".pdf") for name in differing):
        # Measured: typst.compile without `timestamp=` stamps each PDF with its creation time, so
        # two runs never give the same PDF bytes whatever the executor.
        hint = (" (only PDFs: the report's typst.compile needs a fixed `timestamp=` for "
                "reproducible bytes)")
    assert not differing, f"exports differ between executors: {differing}{hint}"
