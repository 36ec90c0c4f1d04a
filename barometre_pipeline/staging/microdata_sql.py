"""Stage a microdata source inside DuckDB, set-based: the fast path of `staging.microdata`.

Same rules, same output as :func:`barometre_pipeline.staging.microdata.stage_microdata` (the
reference implementation, kept and compared cell for cell in the tests), but the respondent rows
never leave the warehouse:

1. Every rule that looks at one answer (missing codes, value maps, numbers, ranges, codes,
   identifier patterns, masking) is applied by the reference code to the DISTINCT texts of each
   column only. A questionnaire column has a handful of distinct answers however many pupils
   answered, so this costs almost nothing; the results become small lookup tables.
2. The row-level work is SQL over the raw table: one join per column against its lookup table,
   the keyed-hash pseudonym (HMAC-SHA256 written in SQL, equal to Python's `hmac`), duplicate ids
   (window function), contradictory answers, the rejects (one row per failing field, ordered as
   the reference orders them) and the derived variables, into `staging.<source>` in one
   transaction.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from itertools import count

import duckdb
import pandas as pd

from barometre_pipeline.sources.manifest import ColumnMap, Manifest
from barometre_pipeline.sources.readers import parse_number, resolve_columns
from barometre_pipeline.staging.codebook import Codebook
from barometre_pipeline.staging.contradictions import INCIDENT_FOLLOW_UPS
from barometre_pipeline.staging.derive import (
    CV_ITEMS,
    EARLY_SMARTPHONE_BEFORE,
    HIGH_SCREEN_TIME_HOURS,
    LOW_WELLBEING_BELOW,
)
from barometre_pipeline.staging.microdata import (
    DESIGN_COLUMNS,
    REJECT_COLUMNS,
    _coerce,
    _map_values,
    _missing_mask,
)
from barometre_pipeline.staging.pii import mask_identifiers
from barometre_pipeline.staging.pseudonymise import PSEUDONYM_HEX_LENGTH

# Python's str.strip() removes every Unicode whitespace character; SQL trim() must do the same.
_PY_WHITESPACE = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())
_NULL_KEY = "\x00<null>"  # join key standing for a NULL cell (no answer text contains NUL)


ENGINE_VARIABLE = "BAROMETRE_STAGING_ENGINE"
ENGINES = ("sql", "reference")


def staging_engine() -> str:
    """`sql` (default, this module) or `reference` (the pandas path, for comparison runs)."""
    engine = (os.environ.get(ENGINE_VARIABLE) or "sql").strip().lower()
    if engine not in ENGINES:
        raise ValueError(f"{ENGINE_VARIABLE} must be one of {ENGINES}, got {engine!r}")
    return engine


@dataclass
class SqlStagedSource:
    """What the fast path leaves: the staged table (in the warehouse) and the rejects."""

    table: str
    staged_rows: int
    rejects: pd.DataFrame
    input_rows: int


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value}::BIGINT"
    if isinstance(value, float):
        return f"{value!r}::DOUBLE"
    return "'" + str(value).replace("'", "''") + "'"


class _DistinctFailures:
    """Collects the reference rules' failures on distinct texts, in the order they are raised."""

    def __init__(self, sequence: count, keys: pd.Series) -> None:
        self._sequence = sequence
        self._keys = keys
        self.calls: list[tuple[int, str, pd.DataFrame]] = []

    def add(self, mask: pd.Series, field: str, values: pd.Series, reason: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        failed = pd.DataFrame({
            "k": self._keys[mask].to_numpy(),
            "value": mask_identifiers(values[mask].astype("string")).to_numpy(),
            "reason": (reason[mask] if isinstance(reason, pd.Series)
                       else pd.Series(reason, index=mask.index)[mask]).astype("string").to_numpy(),
        })
        self.calls.append((next(self._sequence), field, failed))


class _Stager:
    def __init__(self, con: duckdb.DuckDBPyConnection, raw_table: str, manifest: Manifest,
                 codebook: Codebook, decimal: str, thousands: str | None) -> None:
        self.con = con
        self.raw = raw_table
        self.manifest = manifest
        self.codebook = codebook
        self.decimal = decimal
        self.thousands = thousands
        self.sequence = count()
        self.registered: list[str] = []
        # (sequence, raw column joined on, lookup view, field) for per-value failures.
        self.value_failures: list[tuple[int, str, str, str]] = []
        self.joins: list[str] = []
        self.selects: list[str] = []  # expressions of _rows, "expr AS name"

    def register(self, frame: pd.DataFrame) -> str:
        name = f"_stage_lookup_{len(self.registered)}"
        self.con.register(name, frame)
        self.registered.append(name)
        return name

    def distinct_texts(self, column: str) -> pd.Series:
        values = [row[0] for row in self.con.execute(
            f"SELECT DISTINCT {_q(column)} FROM {self.raw}").fetchall()]
        return pd.Series(values, dtype="object").astype("string")

    def lookup(self, column: str, texts: pd.Series, values: pd.Series,
               failures: _DistinctFailures, masked: bool = False) -> str:
        """Register the per-text results of one column and join them; returns the join alias."""
        keys = texts.fillna(_NULL_KEY)
        frame = pd.DataFrame({"k": keys.to_numpy(dtype=object)})
        frame["v"] = values.reset_index(drop=True)
        if masked:
            frame["m"] = mask_identifiers(texts).reset_index(drop=True)
        view = self.register(frame)
        alias = f"l{len(self.joins)}"
        self.joins.append(f"LEFT JOIN {view} AS {alias} ON coalesce(r.{_q(column)}, "
                          f"{_literal(_NULL_KEY)}) = {alias}.k")
        for sequence, field, failed in failures.calls:
            failed = failed.assign(k=failed["k"].fillna(_NULL_KEY))
            self.value_failures.append((sequence, column, self.register(failed), field))
        return alias


def _hmac_sql(message_sql: str, key: bytes) -> str:
    """HMAC-SHA256 of a VARCHAR expression (UTF-8) in DuckDB SQL, hex, truncated like
    `pseudonymise`; NULL stays NULL."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    inner = "'\\x" + "\\x".join(f"{b ^ 0x36:02x}" for b in block) + "'::BLOB"
    outer = "'\\x" + "\\x".join(f"{b ^ 0x5c:02x}" for b in block) + "'::BLOB"
    return (f"substr(sha256({outer} || unhex(sha256({inner} || encode({message_sql})))), "
            f"1, {PSEUDONYM_HEX_LENGTH})")


def stage_microdata_sql(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    manifest: Manifest,
    codebook: Codebook,
    *,
    pseudonym_key: bytes,
    target: str,
    decimal: str = ".",
    thousands: str | None = None,
) -> SqlStagedSource:
    """Stage `raw_table` (every column VARCHAR, plus `_source_file`, `_source_line`) into
    `target`, a table name such as ``staging.<source>``; see the module docstring."""
    assert manifest.design is not None
    columns = [row[0] for row in con.execute(f"DESCRIBE {raw_table}").fetchall()]
    files = sorted(str(r[0]) for r in con.execute(
        f"SELECT DISTINCT _source_file FROM {raw_table}").fetchall())
    file_label = ", ".join(files) or str(manifest.files)
    unknown = [name for name in manifest.columns if name not in codebook]
    if unknown:
        raise ValueError(
            f"source manifest {manifest.manifest_path}: field `columns` maps unknown canonical "
            f"variable(s) {unknown}; see data/codebook.yaml"
        )
    column_maps: dict[str, ColumnMap] = dict(manifest.columns)
    for role, canonical in DESIGN_COLUMNS.items():
        source_column = getattr(manifest.design, role)
        if source_column is not None:
            column_maps[f"__design_{canonical}"] = ColumnMap(source=source_column)
    if manifest.respondent_id:
        column_maps["__respondent_id"] = ColumnMap(source=manifest.respondent_id)
    found = resolve_columns(columns, column_maps, file_label)

    stager = _Stager(con, raw_table, manifest, codebook, decimal, thousands)
    try:
        return _stage(stager, found, pseudonym_key, target)
    finally:
        for view in stager.registered:
            con.unregister(view)
        con.execute("DROP TABLE IF EXISTS _stage_rows")
        con.execute("DROP TABLE IF EXISTS _stage_failures")


def _stage(stager: _Stager, found: dict[str, str], key: bytes, target: str) -> SqlStagedSource:
    con, manifest, codebook = stager.con, stager.manifest, stager.codebook
    order: list[str] = []  # staged column order, as the reference builds it
    expressions: dict[str, str] = {}
    masked_text: dict[str, str] = {}  # canonical follow-up -> its masked raw text expression

    for canonical, column_map in manifest.columns.items():
        if canonical not in found:
            continue
        variable = codebook[canonical]
        source_column = found[canonical]
        texts = stager.distinct_texts(source_column)
        failures = _DistinctFailures(stager.sequence, texts)
        missing = _missing_mask(texts, codebook)
        values: pd.Series = texts.where(~missing)
        if column_map.values:
            values = _map_values(texts, column_map.values, canonical, failures, source_column,
                                 missing)
        coerced = _coerce(values, variable, column_map, failures, source_column, texts,
                          stager.decimal, stager.thousands)
        alias = stager.lookup(source_column, texts, coerced, failures,
                              masked=canonical in INCIDENT_FOLLOW_UPS)
        order.append(canonical)
        expressions[canonical] = f"{alias}.v"
        if canonical in INCIDENT_FOLLOW_UPS:
            masked_text[canonical] = f"{alias}.m"

    for role, canonical in DESIGN_COLUMNS.items():
        design_key = f"__design_{canonical}"
        if design_key not in found:
            continue
        texts = stager.distinct_texts(found[design_key])
        failures = _DistinctFailures(stager.sequence, texts)
        if canonical in {"design_weight", "fpc", "fpc2"}:
            number = parse_number(texts, stager.decimal, stager.thousands).astype("float64")
            failures.add(number.isna() | (number <= 0), found[design_key], texts,
                         f"design {role} must be a positive number (manifest design.{role})")
            result = number
        else:
            empty = texts.fillna("").str.strip() == ""
            failures.add(empty, found[design_key], texts,
                         f"design {role} is empty (manifest design.{role})")
            result = texts.str.strip()
        alias = stager.lookup(found[design_key], texts, result, failures)
        if canonical not in expressions:
            order.append(canonical)
        expressions[canonical] = f"{alias}.v"

    # Row-level table: every canonical value of every raw row, joined from the lookups.
    row_columns = ["r.rowid AS _row", "r._source_file AS _source_file",
                   "r._source_line AS _source_line"]
    row_columns += [f"{expr} AS {_q(name)}" for name, expr in expressions.items()]
    row_columns += [f"{expr} AS {_q('__m_' + name)}" for name, expr in masked_text.items()]
    id_column = found.get("__respondent_id")
    if id_column:
        trimmed = f"trim(r.{_q(id_column)}, {_literal(_PY_WHITESPACE)})"
        row_columns.append(f"{trimmed} AS __id")
        pid = _hmac_sql(f"{_literal(manifest.id + ':')} || {trimmed}", key)
    else:
        pid = _hmac_sql(f"{_literal(manifest.id + ':')} || r._source_file || ':' || "
                        "CAST(r._source_line AS VARCHAR)", key)
    row_columns.append(f"{pid} AS respondent_pid")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _stage_rows AS SELECT {', '.join(row_columns)} "
                f"FROM {stager.raw} AS r {' '.join(stager.joins)}")

    failure_parts: list[str] = []
    for sequence, column, view, field in stager.value_failures:
        failure_parts.append(
            f"SELECT {sequence} AS seq, r.rowid AS _row, r._source_file AS file, "
            f"r._source_line AS line, {_literal(field)} AS field, f.value, f.reason "
            f"FROM {stager.raw} AS r JOIN {view} AS f "
            f"ON coalesce(r.{_q(column)}, {_literal(_NULL_KEY)}) = f.k")

    # Follow-up answers from a pupil who reported no incident (same rule as `contradictions`).
    items = [c for c in CV_ITEMS if c in expressions]
    never_parts = []
    if items:
        answered = " AND ".join(f"{_q(i)} IS NOT NULL" for i in items)
        zero = " AND ".join(f"{_q(i)} = 0" for i in items)
        never_parts.append(f"coalesce(({answered}) AND ({zero}), FALSE)")
    if "cv_any" in expressions:
        never_parts.append('coalesce("cv_any" = FALSE, FALSE)')
    if never_parts:
        never = " OR ".join(never_parts)
        for field in (f for f in INCIDENT_FOLLOW_UPS if f in expressions):
            reason = (f"contradictory answers: `{field}` is yes although no cyberviolence was "
                      "reported (every item answered never); follow-up questions only apply to "
                      "an incident")
            failure_parts.append(
                f"SELECT {next(stager.sequence)} AS seq, _row, _source_file AS file, "
                f"_source_line AS line, {_literal(found.get(field, field))} AS field, "
                f"{_q('__m_' + field)} AS value, {_literal(reason)} AS reason FROM _stage_rows "
                f"WHERE ({never}) AND coalesce(CAST({_q(field)} AS BOOLEAN) = TRUE, FALSE)")

    # Constants, defaults (the reference's order and types), as expressions over _stage_rows.
    expressions = {name: _q(name) for name in expressions}
    for canonical, value in manifest.constants.items():
        if canonical not in expressions:
            order.append(canonical)
        expressions[canonical] = _literal(value)
    if "territory" not in expressions:
        order.append("territory")
        expressions["territory"] = _literal(manifest.provenance.territory or "_T")
    if "period" not in expressions:
        order.append("period")
        expressions["period"] = _literal(manifest.provenance.period or "_T")
    expressions["period"] = f"CAST({expressions['period']} AS VARCHAR)"
    if "stratum" not in expressions:
        order.append("stratum")
        expressions["stratum"] = "'_single'"
    if "psu" not in expressions:
        order.append("psu")
        expressions["psu"] = "CAST(_source_line AS VARCHAR)"

    if id_column:
        failure_parts.append(
            f"SELECT {next(stager.sequence)} AS seq, _row, _source_file AS file, "
            f"_source_line AS line, {_literal(id_column)} AS field, "
            f"CAST(__id AS VARCHAR) AS value, 'respondent id is empty' AS reason "
            f"FROM _stage_rows WHERE __id IS NULL OR __id = ''")
        duplicate_seq = next(stager.sequence)
    else:
        duplicate_seq = None
    if duplicate_seq is not None:
        failure_parts.append(
            f"SELECT {duplicate_seq} AS seq, _row, _source_file AS file, _source_line AS line, "
            f"{_literal(id_column)} AS field, '<id pseudonymisé>' AS value, "
            "'duplicated respondent id (first occurrence kept)' AS reason FROM ("
            "SELECT _row, _source_file, _source_line, respondent_pid, row_number() OVER "
            "(PARTITION BY respondent_pid ORDER BY _row) AS nth FROM _stage_rows "
            "WHERE respondent_pid IS NOT NULL) WHERE nth > 1")

    empty_failures = ("SELECT NULL::BIGINT AS seq, NULL::BIGINT AS _row, NULL::VARCHAR AS file, "
                      "NULL::BIGINT AS line, NULL::VARCHAR AS field, NULL::VARCHAR AS value, "
                      "NULL::VARCHAR AS reason WHERE FALSE")
    con.execute("CREATE OR REPLACE TEMP TABLE _stage_failures AS "
                + " UNION ALL ".join([empty_failures, *failure_parts]))

    staged_select = [f"{expressions[name]} AS {_q(name)}" for name in order]
    staged_select += ["respondent_pid", f"{_literal(manifest.id)} AS source_id",
                      "CAST(_source_file AS VARCHAR) AS _source_file",
                      "CAST(_source_line AS BIGINT) AS _source_line"]
    staged_names = [*order, "respondent_pid", "source_id", "_source_file", "_source_line"]
    derived = _derived_sql(staged_names, codebook)
    schema, table = target.split(".", 1)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {_q(schema)}.{_q(table)} AS "
            f"WITH kept AS (SELECT {', '.join(staged_select)}, _row FROM _stage_rows "
            "WHERE _row NOT IN (SELECT _row FROM _stage_failures)) "
            f"SELECT * EXCLUDE (_row){''.join(', ' + d for d in derived)} FROM kept ORDER BY _row")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    rejects = con.execute(
        f"SELECT {_literal(manifest.id)} AS source_id, file, line, field, value, reason "
        "FROM _stage_failures ORDER BY seq, _row").df()
    rejects = rejects.astype({"file": "string", "line": "int64", "field": "object",
                              "value": "string", "reason": "object"})[list(REJECT_COLUMNS)]
    staged_rows = con.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(table)}").fetchall()[0][0]
    input_rows = con.execute(f"SELECT count(*) FROM {stager.raw}").fetchall()[0][0]
    return SqlStagedSource(table=target, staged_rows=int(staged_rows), rejects=rejects,
                           input_rows=int(input_rows))


def _at_least(items: list[str], threshold: int) -> str:
    reached = " OR ".join(f"coalesce(CAST({_q(i)} AS DOUBLE) >= {threshold}, FALSE)" for i in items)
    complete = " AND ".join(f"{_q(i)} IS NOT NULL" for i in items)
    return f"(CASE WHEN {reached} THEN TRUE WHEN {complete} THEN FALSE ELSE NULL END)"


def _derived_sql(present: list[str], codebook: Codebook) -> list[str]:
    """`add_derived_variables` in SQL, in its order, for variables the source did not map."""
    out: list[str] = []
    have = set(present)
    items = [c for c in CV_ITEMS if c in have]
    if items and "cv_any" not in have:
        out.append(f"{_at_least(items, 1)} AS cv_any")
    if items and "cv_repeated" not in have:
        repeated = _at_least(items, 2)
        if "cv_harassment" in have:
            repeated = f"({repeated} OR (CAST(cv_harassment AS DOUBLE) >= 1))"
        out.append(f"{repeated} AS cv_repeated")
    if items and "cv_count" not in have:
        counted = " + ".join(f"CAST(coalesce(CAST({_q(i)} AS DOUBLE) >= 1, FALSE) AS BIGINT)"
                             for i in items)
        out.append(f"CAST({counted} AS BIGINT) AS cv_count")
    if "level" in have and "grade_group" not in have:
        groups = {k: v for k, v in codebook.level_attribute("grade_group").items() if v is not None}
        cases = " ".join(f"WHEN {_literal(k)} THEN {_literal(str(v))}" for k, v in groups.items())
        out.append(f"CAST(CASE level {cases} ELSE NULL END AS VARCHAR) AS grade_group"
                   if cases else "CAST(NULL AS VARCHAR) AS grade_group")
    if "age" in have and "age_band" not in have:
        age = "CAST(age AS DOUBLE)"
        out.append(f"CASE WHEN {age} > -1 AND {age} <= 12 THEN '11-12' "
                   f"WHEN {age} > 12 AND {age} <= 14 THEN '13-14' "
                   f"WHEN {age} > 14 AND {age} <= 16 THEN '15-16' "
                   f"WHEN {age} > 16 AND {age} <= 99 THEN '17+' END AS age_band")
    if "first_smartphone_age" in have and "smartphone_before_11" not in have:
        out.append(f"(CAST(first_smartphone_age AS DOUBLE) < {EARLY_SMARTPHONE_BEFORE}) "
                   "AS smartphone_before_11")
    if "screen_time_hours" in have and "screen_time_high" not in have:
        out.append(f"(CAST(screen_time_hours AS DOUBLE) >= {HIGH_SCREEN_TIME_HOURS}) "
                   "AS screen_time_high")
    if "who5_score" in have and "who5_low" not in have:
        out.append(f"(CAST(who5_score AS DOUBLE) < {LOW_WELLBEING_BELOW}) AS who5_low")
    return out
