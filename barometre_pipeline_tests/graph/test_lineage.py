"""The graph tells the truth (issue 9): every warehouse table an asset's code reads belongs to an
asset it declares upstream (or to itself), every table it writes is one of its own, and every
warehouse asset it declares upstream is read.

The first run of `incremental_runs` records each SQL statement with the asset or check that ran it
(BAROMETRE_SQL_TRACE, see defs.resources.WarehouseResource); the statements are compared with
the asset graph of the same definitions. Tables are compared as asset keys (``keys.key_of``): a
pilot wave's table (`staging.pilot_quebec_2026`) is its partition of the family key
(`staging/pilot`).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import dagster as dg
import pytest

from barometre_pipeline.defs.keys import is_partitioned, key_of
from barometre_pipeline.sources.manifest import load_manifests
from barometre_pipeline.warehouse import LAYER_SCHEMAS

# `schema.table`, either part possibly quoted (`"staging"."pilot_x"`).
_NAME = r'"?(' + "|".join(LAYER_SCHEMAS) + r')"?\."?([a-z0-9_]+)"?'
TABLE = re.compile(r'(?<![\w.])' + _NAME, re.IGNORECASE)
WRITE = re.compile(r'^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?TABLE|INSERT\s+INTO|DELETE\s+FROM|'
                   r'DROP\s+TABLE(?:\s+IF\s+EXISTS)?)\s+' + _NAME, re.IGNORECASE)


def _tables(sql: str) -> set[str]:
    return {f"{s.lower()}.{t}" for s, t in TABLE.findall(sql)}


@pytest.fixture(scope="module")
def waves(incremental_runs) -> list[str]:
    """Source ids of the pilot waves (partitions of the pilot family)."""
    return [m.id for m in load_manifests(incremental_runs.workspace.data_dir) if is_partitioned(m)]


@pytest.fixture(scope="module")
def trace(incremental_runs) -> list[dict]:
    lines = incremental_runs.workspace.trace.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def graph(incremental_runs, monkeypatch_module):
    for name, value in {"BAROMETRE_DATA_DIR": incremental_runs.workspace.data_dir}.items():
        monkeypatch_module.setenv(name, str(value))
    from barometre_pipeline.definitions import build_definitions

    return build_definitions().resolve_asset_graph()


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def _is_warehouse_key(key: dg.AssetKey) -> bool:
    return key.path[0] in LAYER_SCHEMAS


def _step_scope(graph, record: dict) -> tuple[set[dg.AssetKey], set[dg.AssetKey]]:
    """(assets the step owns, assets it may read) for a traced statement's step."""
    own_keys = {dg.AssetKey.from_user_string(k) for k in record["assets"]}
    checked = {dg.AssetKey.from_user_string(c.split(":")[0]) for c in record["checks"]}
    # A check may read what it checks, the other outputs of the same step and their upstream.
    subjects = own_keys | {k for c in checked for k in graph.get(c).assets_def.keys}
    upstream = {d for k in subjects for d in graph.get(k).parent_keys}
    own = {k for k in own_keys if _is_warehouse_key(k)}
    readable = {k for k in subjects | upstream if _is_warehouse_key(k)}
    return own, readable


def test_every_table_read_belongs_to_an_upstream_asset(trace, graph, waves):
    assert trace, "no SQL was traced"
    problems = []
    for record in trace:
        if not record["assets"] and not record["checks"]:
            continue
        own, readable = _step_scope(graph, record)
        written = {f"{s.lower()}.{t}" for s, t in WRITE.findall(record["sql"])}
        for table in written:
            if key_of(table, waves) not in own:
                problems.append(f"{record['assets'] or record['checks']} writes {table}, "
                                "which is not one of its assets")
        for table in _tables(record["sql"]) - written:
            if key_of(table, waves) not in readable:
                problems.append(f"{record['assets'] or record['checks']} reads {table} "
                                f"({key_of(table, waves).to_user_string()}) without declaring "
                                "it upstream")
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_warehouse_asset_writes_its_own_table(trace, graph, waves):
    written = defaultdict(set)
    for record in trace:
        for schema, table in WRITE.findall(record["sql"]):
            written[key_of(f"{schema.lower()}.{table}", waves)].update(record["assets"])
    materialisable = [k for k in graph.materializable_asset_keys if _is_warehouse_key(k)]
    assert materialisable
    missing = [k.to_user_string() for k in materialisable
               if k.to_user_string() not in written.get(k, set())]
    assert not missing, f"assets that never wrote their table: {missing}"


def test_every_pilot_wave_writes_its_own_tables(trace, graph, waves):
    """Each partition of the pilot family has its tables, named after its wave's manifest."""
    assert len(waves) == 4
    written = {f"{s.lower()}.{t}" for record in trace for s, t in WRITE.findall(record["sql"])}
    family = [k for k in graph.materializable_asset_keys if graph.get(k).partitions_def]
    assert {k.to_user_string() for k in family} >= {"raw/pilot", "staging/pilot",
                                                    "weighting/pilot", "indicators/pilot"}
    for key in family:
        schema, *name = key.path
        for wave in waves:
            assert f"{schema}.{'__'.join([*name[:-1], wave])}" in written, (key, wave)


def test_every_declared_warehouse_dependency_is_read(trace, graph, waves):
    reads = defaultdict(set)
    for record in trace:
        for asset in record["assets"]:
            reads[asset] |= {key_of(t, waves) for t in _tables(record["sql"])}
    unread = []
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        siblings = node.assets_def.keys
        declared = {p for p in node.parent_keys if _is_warehouse_key(p) and p not in siblings}
        read = set().union(*(reads[k.to_user_string()] for k in siblings))
        unread += [f"{key.to_user_string()} declares {p.to_user_string()} but never reads it"
                   for p in declared - read]
    assert not unread, "\n".join(sorted(set(unread)))


def test_the_table_pattern_reads_quoted_and_unquoted_names():
    assert _tables('SELECT * FROM "staging"."pilot_x" JOIN weighting.pilot_x USING (id)') == {
        "staging.pilot_x", "weighting.pilot_x"}
    assert WRITE.findall('CREATE OR REPLACE TABLE "staging"."pilot_x" AS SELECT 1') == [
        ("staging", "pilot_x")]
    assert not _tables("CREATE SCHEMA IF NOT EXISTS raw")
