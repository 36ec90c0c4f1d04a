"""The graph tells the truth (issue 9): every warehouse table an asset's code reads belongs to an
asset it declares upstream (or to itself), every table it writes is one of its own, and every
warehouse asset it declares upstream is read.

The first run of `incremental_runs` records each SQL statement with the asset or check that ran it
(BAROMETRE_SQL_TRACE, see defs.resources.WarehouseResource); the statements are compared with
the asset graph of the same definitions.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import dagster as dg
import pytest

from barometre_pipeline.defs.keys import key_of, table_of
from barometre_pipeline.warehouse import LAYER_SCHEMAS

# `schema.table`, either part possibly quoted (`"staging"."pilot_x"`).
_NAME = r'"?(' + "|".join(LAYER_SCHEMAS) + r')"?\."?([a-z0-9_]+)"?'
TABLE = re.compile(r'(?<![\w.])' + _NAME, re.IGNORECASE)
WRITE = re.compile(r'^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?TABLE|INSERT\s+INTO|DELETE\s+FROM|'
                   r'DROP\s+TABLE(?:\s+IF\s+EXISTS)?)\s+' + _NAME, re.IGNORECASE)


def _tables(sql: str) -> set[str]:
    return {f"{s.lower()}.{t}" for s, t in TABLE.findall(sql)}


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


def _step_scope(graph, record: dict) -> tuple[set[str], set[str]]:
    """(tables the step owns, tables it may read) for a traced statement's step."""
    own_keys = {dg.AssetKey.from_user_string(k) for k in record["assets"]}
    checked = {dg.AssetKey.from_user_string(c.split(":")[0]) for c in record["checks"]}
    # A check may read what it checks, the other outputs of the same step and their upstream.
    subjects = own_keys | {k for c in checked for k in graph.get(c).assets_def.keys}
    upstream = {d for k in subjects for d in graph.get(k).parent_keys}
    own = {table_of(k) for k in own_keys if _is_warehouse_key(k)}
    readable = {table_of(k) for k in subjects | upstream if _is_warehouse_key(k)}
    return own, readable


def test_every_table_read_belongs_to_an_upstream_asset(trace, graph):
    assert trace, "no SQL was traced"
    problems = []
    for record in trace:
        if not record["assets"] and not record["checks"]:
            continue
        own, readable = _step_scope(graph, record)
        written = {f"{s.lower()}.{t}" for s, t in WRITE.findall(record["sql"])}
        for table in written - own:
            problems.append(f"{record['assets'] or record['checks']} writes {table}, "
                            "which is not one of its assets")
        for table in _tables(record["sql"]) - written - readable:
            problems.append(f"{record['assets'] or record['checks']} reads {table} "
                            f"({key_of(table).to_user_string()}) without declaring it upstream")
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_warehouse_asset_writes_its_own_table(trace, graph):
    written = defaultdict(set)
    for record in trace:
        for schema, table in WRITE.findall(record["sql"]):
            written[f"{schema.lower()}.{table}"].update(record["assets"])
    materialisable = [k for k in graph.materializable_asset_keys if _is_warehouse_key(k)]
    assert materialisable
    missing = [k.to_user_string() for k in materialisable
               if k.to_user_string() not in written.get(table_of(k), set())]
    assert not missing, f"assets that never wrote their table: {missing}"


def test_every_declared_warehouse_dependency_is_read(trace, graph):
    reads = defaultdict(set)
    for record in trace:
        for asset in record["assets"]:
            reads[asset] |= _tables(record["sql"])
    unread = []
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        siblings = node.assets_def.keys
        declared = {table_of(p) for p in node.parent_keys
                    if _is_warehouse_key(p) and p not in siblings}
        read = set().union(*(reads[k.to_user_string()] for k in siblings))
        unread += [f"{key.to_user_string()} declares {t} but never reads it"
                   for t in declared - read]
    assert not unread, "\n".join(sorted(set(unread)))


def test_the_table_pattern_reads_quoted_and_unquoted_names():
    assert _tables('SELECT * FROM "staging"."pilot_x" JOIN weighting.pilot_x USING (id)') == {
        "staging.pilot_x", "weighting.pilot_x"}
    assert WRITE.findall('CREATE OR REPLACE TABLE "staging"."pilot_x" AS SELECT 1') == [
        ("staging", "pilot_x")]
    assert not _tables("CREATE SCHEMA IF NOT EXISTS raw")
