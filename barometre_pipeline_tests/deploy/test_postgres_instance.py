"""The deployment's Dagster instance (barometre_pipeline/deploy/dagster.yaml) on a real PostgreSQL:
a materialisation of real assets is recorded there and read back by a fresh instance.

Needs Debian's `postgresql` server binaries (.ci/run installs them). Without them the test FAILS
with a message naming the package: the PostgreSQL instance is a feature, not an option.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline_tests.deploy.local_postgres import (
    MISSING_BINARIES,
    PostgresUnavailable,
    local_postgres,
    server_binaries,
)

DEPLOY_DIR = PROJECT_ROOT / "barometre_pipeline" / "deploy"
SHIPPED_DATA = PROJECT_ROOT / "data"
# A small public source: its raw and staging assets (and their checks) run in seconds.
SELECTION = [dg.AssetKey(["raw", "public_fr_depp"]), dg.AssetKey(["staging", "public_fr_depp"])]


@pytest.fixture(scope="module")
def postgres():
    try:
        server_binaries()
    except PostgresUnavailable:
        pytest.fail(MISSING_BINARIES, pytrace=False)
    try:
        with local_postgres() as server:
            yield server
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)


def _data_copy(target: Path) -> Path:
    shutil.copytree(SHIPPED_DATA, target, ignore=lambda d, names: [
        n for n in names if Path(d) == SHIPPED_DATA and n in {"warehouse", "exports", "restricted"}])
    return target


@pytest.fixture()
def deployed_environment(tmp_path, monkeypatch, postgres):
    """The environment docker-compose.yaml gives the code location, on local folders."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY_DIR / "dagster.yaml", home / "dagster.yaml")
    env = {
        **postgres.environment(),
        "DAGSTER_HOME": str(home),
        "DAGSTER_COMPUTE_LOG_DIR": str(tmp_path / "logs"),
        "BAROMETRE_DATA_DIR": str(_data_copy(tmp_path / "data")),
        "BAROMETRE_WAREHOUSE": str(tmp_path / "shared_volume" / "barometre.duckdb"),
        "BAROMETRE_EXPORT_DIR": str(tmp_path / "bucket" / "exports"),
        "BAROMETRE_RESTRICTED_DIR": str(tmp_path / "restricted"),
        "BAROMETRE_MODE": "production",
        "BAROMETRE_PSEUDONYM_KEY": "test-key-for-the-deployment-test",
        "BAROMETRE_EXECUTOR": "in_process",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_missing_binaries_message_names_the_debian_package():
    assert "`postgresql`" in MISSING_BINARIES and "apt-get install postgresql" in MISSING_BINARIES


def test_run_recorded_in_postgres_and_read_back_by_a_fresh_instance(deployed_environment,
                                                                     postgres):
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    from barometre_pipeline.definitions import build_definitions

    home = deployed_environment["DAGSTER_HOME"]
    defs = build_definitions()
    job = defs.resolve_job_def("nightly_refresh")
    # Raw and staging are multi-assets (side tables are their own outputs): select them whole.
    selection = dg.AssetSelection.assets(*SELECTION).required_multi_asset_neighbors().resolve(
        defs.resolve_asset_graph())
    with dg.DagsterInstance.from_config(home) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        result = job.execute_in_process(instance=instance, asset_selection=list(selection))
        assert result.success
        run_id = result.run_id

    # A fresh instance (another process would do the same) reads the run back from PostgreSQL.
    with dg.DagsterInstance.from_config(home) as fresh:
        run = fresh.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.job_name == "nightly_refresh"
        for key in SELECTION:
            event = fresh.get_latest_materialization_event(key)
            assert event is not None and event.run_id == run_id
        staged = fresh.get_latest_materialization_event(SELECTION[1])
        assert staged.asset_materialization.metadata["staged_rows"].value > 0
        checks = fresh.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
        assert checks, "the staging checks ran and were recorded"
        # The schedule storage is PostgreSQL too: the running-by-default schedule can be stored.
        assert fresh.schedule_storage.all_instigator_state() is not None

    # And the rows are really in the server, not in a local SQLite file.
    with psycopg2.connect(host=postgres.host, port=postgres.port, user=postgres.user,
                          dbname=postgres.database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT status FROM runs WHERE run_id = %s", [run_id])
        assert cursor.fetchone() == ("SUCCESS",)
        cursor.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", [run_id])
        assert cursor.fetchone()[0] > 10
    assert not list(Path(home).rglob("*.db")), "no SQLite storage beside the PostgreSQL instance"
    # The run wrote to the configured shared-volume warehouse, nowhere in the repository.
    assert Path(deployed_environment["BAROMETRE_WAREHOUSE"]).exists()
