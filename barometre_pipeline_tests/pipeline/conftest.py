"""Run the real pipeline (every asset and check, in process) on a copy of the data folder."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from barometre_pipeline.settings import PROJECT_ROOT

SHIPPED_DATA = PROJECT_ROOT / "data"
GENERATED = {"warehouse", "exports", "restricted"}


@dataclass
class PipelineRun:
    data_dir: Path
    export_dir: Path
    warehouse: Path
    result: dg.ExecuteInProcessResult

    def indicators(self) -> pd.DataFrame:
        return pd.read_parquet(self.export_dir / "indicators")

    def per_source(self, schema: str, kind: str, where: str = "") -> pd.DataFrame:
        """All sources' ``schema.<kind>__<source>`` tables (e.g. quarantine rejects) in one."""
        return per_source_table(self.warehouse, schema, kind, where)


def per_source_table(warehouse: Path, schema: str, kind: str, where: str = "") -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name LIKE ? ORDER BY table_name", [schema, f"{kind}__%"]).fetchall()]
        parts = [con.execute(f'SELECT * FROM {schema}."{name}" {where}').df() for name in names]
    return pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else pd.DataFrame()


def copy_data(target: Path) -> Path:
    shutil.copytree(SHIPPED_DATA, target, ignore=lambda d, names: [
        n for n in names if Path(d) == SHIPPED_DATA and n in GENERATED])
    return target


def run_pipeline(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> PipelineRun:
    export_dir = data_dir / "exports"
    warehouse = data_dir / "warehouse" / "barometre.duckdb"
    monkeypatch.setenv("BAROMETRE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("BAROMETRE_EXPORT_DIR", str(export_dir))
    monkeypatch.setenv("BAROMETRE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("BAROMETRE_MODE", "dev")
    monkeypatch.delenv("BAROMETRE_PSEUDONYM_KEY", raising=False)
    from barometre_pipeline.definitions import build_definitions
    from barometre_pipeline.defs.partitions import every_wave_tags
    from barometre_pipeline.sources.manifest import load_manifests

    defs = build_definitions()
    job = defs.resolve_job_def("nightly_refresh")
    with dg.DagsterInstance.ephemeral() as instance:
        # Every pilot territory × wave partition in the one run, as the nightly job does.
        result = job.execute_in_process(instance=instance, raise_on_error=False,
                                        tags=every_wave_tags(load_manifests(data_dir)))
    return PipelineRun(data_dir, export_dir, warehouse, result)


@pytest.fixture(scope="session")
def session_monkeypatch():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


NEW_SOURCE_FIXTURE = Path(__file__).parent.parent / "fixtures" / "new_source"
NEW_SOURCE_ID = "public_enquete_test_2024"


@pytest.fixture(scope="session")
def shipped_run(tmp_path_factory, session_monkeypatch) -> PipelineRun:
    """One run on a copy of the shipped data/ to which a new public microdata source was added
    (a manifest and its CSV, no code): shared by the tests that need the shipped sample."""
    data_dir = copy_data(tmp_path_factory.mktemp("shipped") / "data")
    shutil.copy(NEW_SOURCE_FIXTURE / f"{NEW_SOURCE_ID}.yaml", data_dir / "sources")
    (data_dir / "raw" / "public_test").mkdir(parents=True)
    shutil.copy(NEW_SOURCE_FIXTURE / "enquete_publique_2024.csv", data_dir / "raw" / "public_test")
    return run_pipeline(data_dir, session_monkeypatch)
