"""The documented deployment (barometre_pipeline/deploy/) is consistent and the code location
loads under its configuration: the environment docker-compose gives the code location container,
with its container paths mapped onto temporary folders."""

from __future__ import annotations

import re
import shutil

import dagster as dg
import pytest
import yaml

from barometre_pipeline.settings import PROJECT_ROOT

DEPLOY_DIR = PROJECT_ROOT / "barometre_pipeline" / "deploy"
COMPOSE = yaml.safe_load((DEPLOY_DIR / "docker-compose.yaml").read_text(encoding="utf-8"))
INSTANCE_TEXT = (DEPLOY_DIR / "dagster.yaml").read_text(encoding="utf-8")
WORKSPACE = yaml.safe_load((DEPLOY_DIR / "workspace.yaml").read_text(encoding="utf-8"))
DOCKERFILE = (DEPLOY_DIR / "Dockerfile").read_text(encoding="utf-8")
SECRETS = {"DAGSTER_POSTGRES_PASSWORD": "pw", "BAROMETRE_PSEUDONYM_KEY": "deploy-test-key"}


def _interpolate(value: str, env: dict[str, str]) -> str:
    """docker compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution."""
    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise KeyError(f"{name}: {argument}")
        return argument or ""
    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", substitute, value)


def code_location_environment(env: dict[str, str]) -> dict[str, str]:
    raw = COMPOSE["services"]["barometre_code"]["environment"]
    return {name: _interpolate(str(value), env) for name, value in raw.items()}


def test_every_instance_variable_is_given_to_every_dagster_service():
    needed = set(re.findall(r"\{env: (\w+)\}", INSTANCE_TEXT))
    assert {"DAGSTER_POSTGRES_HOST", "DAGSTER_POSTGRES_PASSWORD"} <= needed
    for service in ("barometre_code", "webserver", "daemon"):
        given = set(COMPOSE["services"][service]["environment"])
        assert needed <= given, f"{service} lacks {needed - given}"
        assert COMPOSE["services"][service]["environment"]["DAGSTER_POSTGRES_HOST"] == "postgres"


def test_instance_storages_are_postgres():
    instance = yaml.safe_load(INSTANCE_TEXT)
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        assert instance[storage]["module"].startswith("dagster_postgres"), storage
    assert instance["concurrency"]["pools"]["default_limit"] == 1  # one DuckDB writer


def test_workspace_points_at_the_code_location_service():
    server = WORKSPACE["load_from"][0]["grpc_server"]
    assert server["host"] in COMPOSE["services"]
    assert f'"-p", "{server["port"]}"' in DOCKERFILE
    assert "barometre_pipeline.definitions" in DOCKERFILE


def test_secrets_are_required_not_defaulted():
    with pytest.raises(KeyError, match="BAROMETRE_PSEUDONYM_KEY"):
        code_location_environment({"DAGSTER_POSTGRES_PASSWORD": "pw"})
    assert code_location_environment(SECRETS)["BAROMETRE_MODE"] == "production"


@pytest.mark.parametrize("warehouse", [None, "md:barometre"])
def test_definitions_load_under_the_deployment_environment(tmp_path, monkeypatch, warehouse):
    env = code_location_environment({**SECRETS, **({"BAROMETRE_WAREHOUSE": warehouse}
                                                   if warehouse else {})})
    # The container's /srv/barometre is a temporary folder here; the data volume a data copy.
    srv = tmp_path / "srv" / "barometre"
    shutil.copytree(PROJECT_ROOT / "data" / "sources", srv / "data" / "sources")
    for name in ("codebook.yaml", "indicators.yaml"):
        shutil.copy(PROJECT_ROOT / "data" / name, srv / "data" / name)
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("/srv/barometre", str(srv)))
    from barometre_pipeline.definitions import build_definitions

    defs = build_definitions()
    dg.Definitions.validate_loadable(defs)
    resources = defs.resources
    assert defs.resolve_job_def("nightly_refresh") is not None
    expected_warehouse = warehouse or str(srv / "warehouse" / "barometre.duckdb")
    assert resources["warehouse"].database == expected_warehouse
    assert resources["paths"].export_dir == str(srv / "exports")
