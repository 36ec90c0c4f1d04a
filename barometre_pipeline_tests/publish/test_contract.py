"""Export contract v1: snapshot compatibility and conformance of indicator tables."""

from __future__ import annotations

import copy

import pandas as pd
import pyarrow as pa
import pytest

from barometre_pipeline.publish.contract import (
    CONTRACT_VERSION,
    INDICATORS_COLUMNS,
    ContractViolation,
    build_provenance,
    compatibility_problems,
    conform_to_contract,
    contract_snapshot,
    schema_fingerprint,
)


def test_contract_is_compatible_with_the_committed_v1_snapshot(contract_snapshot_v1):
    assert compatibility_problems(contract_snapshot_v1) == []


def test_committed_snapshot_fingerprint_matches_its_columns(contract_snapshot_v1):
    fields = [pa.field(c["name"], c["type"]) for c in contract_snapshot_v1["columns"]]
    assert schema_fingerprint(pa.schema(fields)) == contract_snapshot_v1["schema_fingerprint"]


def _current() -> dict:
    return copy.deepcopy(contract_snapshot())


def test_renamed_column_is_a_breaking_change(contract_snapshot_v1):
    current = _current()
    current["columns"][5]["name"] = "territoire"
    problems = compatibility_problems(contract_snapshot_v1, current)
    assert any("'territory'" in p and "'territoire'" in p for p in problems)


def test_dropped_column_is_a_breaking_change(contract_snapshot_v1):
    current = _current()
    del current["columns"][-1]
    assert any("'provenance'" in p and "dropped" in p for p in compatibility_problems(contract_snapshot_v1, current))


def test_retyped_column_is_a_breaking_change(contract_snapshot_v1):
    current = _current()
    next(c for c in current["columns"] if c["name"] == "n_unweighted")["type"] = "double"
    assert any("n_unweighted" in p and "int64" in p for p in compatibility_problems(contract_snapshot_v1, current))


def test_appending_a_column_needs_a_minor_bump_only(contract_snapshot_v1):
    current = _current()
    current["columns"].append({"name": "weighting_scheme", "type": "string"})
    assert any("minor version" in p for p in compatibility_problems(contract_snapshot_v1, current))
    current["contract_version"] = "1.1.0"
    assert compatibility_problems(contract_snapshot_v1, current) == []


def test_fingerprint_follows_names_and_types_not_descriptions():
    base = pa.schema([pa.field("a", pa.string()), pa.field("b", pa.int64())])
    assert schema_fingerprint(base) != schema_fingerprint(pa.schema([pa.field("a", pa.string()), pa.field("b", pa.float64())]))
    assert schema_fingerprint(base) != schema_fingerprint(pa.schema([pa.field("b", pa.int64()), pa.field("a", pa.string())]))
    assert schema_fingerprint(base) == schema_fingerprint(base.with_metadata({"x": "y"}))


def _minimal() -> pd.DataFrame:
    return pd.DataFrame({
        "indicator_code": ["CV_ANY", "CV_ANY", "CV_ANY"],
        "indicator_label_fr": ["Victime"] * 3,
        "source_id": ["pilot_ot_2025"] * 3,
        "source_family": ["pilot"] * 3,
        "territory": ["FR-OT"] * 3,
        "period": ["2025"] * 3,
        "sex": ["_T", "F", "F"],
        "level": ["_T", "_T", "6E"],
        "estimate": [0.3, 0.35, None],
        "n_unweighted": [1000, 500, 12],
        "unit": ["proportion"] * 3,
        "suppressed": [False, False, True],
        "provenance": [build_provenance("pilot_ot_2025", "sources/p.yaml", {"b.csv": "2", "a.csv": "1"}, "0.1.0", "run-1")] * 3,
    })


def test_conform_orders_columns_fills_totals_and_derives_the_breakdown():
    table = conform_to_contract(_minimal())
    assert table.column_names == [c.name for c in INDICATORS_COLUMNS]
    assert [f.type for f in table.schema] == [c.type for c in INDICATORS_COLUMNS]
    assert table.column("age_band").to_pylist() == ["_T"] * 3
    assert table.column("departement").to_pylist() == ["_T"] * 3
    assert table.column("breakdown").to_pylist() == ["_T", "sex", "sex×level"]
    assert table.column("se").null_count == 3
    assert table.schema.metadata[b"barometre.contract_version"] == CONTRACT_VERSION.encode()


def test_conform_keeps_an_explicit_breakdown_and_casts_integer_codes():
    frame = _minimal().assign(breakdown=["_T", "sex", "sex×level"], departement=[18, 28, 36])
    table = conform_to_contract(frame)
    assert table.column("departement").to_pylist() == ["18", "28", "36"]


def test_missing_required_columns_are_all_listed():
    with pytest.raises(ContractViolation) as error:
        conform_to_contract(_minimal().drop(columns=["provenance", "unit"]))
    assert "missing required columns: unit, provenance" in str(error.value)


def test_uncastable_values_are_reported_with_their_rows():
    frame = _minimal().astype({"n_unweighted": object})
    frame.loc[1, "n_unweighted"] = "cinq cents"
    with pytest.raises(ContractViolation) as error:
        conform_to_contract(frame)
    assert "'n_unweighted'" in str(error.value) and "row 1: 'cinq cents'" in str(error.value)


def test_columns_outside_the_contract_are_refused_unless_dropped():
    frame = _minimal().assign(respondent_id=["r1", "r2", "r3"])
    with pytest.raises(ContractViolation, match="respondent_id"):
        conform_to_contract(frame)
    assert "respondent_id" not in conform_to_contract(frame, extra_columns="drop").column_names


def test_a_suppressed_row_must_not_carry_an_estimate():
    frame = _minimal()
    frame.loc[2, "estimate"] = 0.5
    with pytest.raises(ContractViolation, match="must be null on suppressed rows.*rows 2"):
        conform_to_contract(frame)


def test_percentages_are_refused_for_proportions():
    frame = _minimal()
    frame.loc[0, "estimate"] = 30.0
    with pytest.raises(ContractViolation, match="0..1"):
        conform_to_contract(frame)


def test_unknown_codes_and_duplicate_keys_are_refused():
    bad_sex = _minimal()
    bad_sex.loc[1, "sex"] = "Fille"
    with pytest.raises(ContractViolation, match="'sex' has codes outside"):
        conform_to_contract(bad_sex)
    duplicated = pd.concat([_minimal(), _minimal().iloc[[0]]])
    with pytest.raises(ContractViolation, match="more than once"):
        conform_to_contract(duplicated)


def test_null_in_a_present_dimension_column_is_an_error_not_a_total():
    frame = _minimal()
    frame.loc[1, "sex"] = None
    with pytest.raises(ContractViolation, match="'sex' has nulls"):
        conform_to_contract(frame)


def test_fixture_table_conforms(indicators_frame):
    assert conform_to_contract(indicators_frame).num_rows == len(indicators_frame)


def test_provenance_is_canonical_json():
    a = build_provenance("s", "m.yaml", {"b": "2", "a": "1"}, "v", None)
    b = build_provenance("s", "m.yaml", {"a": "1", "b": "2"}, "v", None)
    assert a == b and a.index('"a"') < a.index('"b"')
