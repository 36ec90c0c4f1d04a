"""pandera schemas for the staging, weighting and indicator tables.

The published tables' schemas are generated from their description in `barometre_pipeline.metadata`
(the same description that makes the export contract and the dictionary).

Schemas are built from the codebook, so a new canonical variable is validated as soon as it is
declared. Each schema is run lazily (all failures collected) by :func:`validate`, whose failure
cases become asset-check metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from barometre_pipeline.metadata import INDICATORS, RowRule, TableDescription
from barometre_pipeline.staging.codebook import Codebook
from barometre_pipeline.vocabulary import FAMILY_PILOT, PUBLISHED_SEX_CODES

DESIGN_CHECKS = {
    "design_weight": [pa.Check.gt(0)],
    "respondent_pid": [pa.Check.str_length(min_value=8)],
}


@dataclass
class SchemaOutcome:
    passed: bool
    failure_count: int
    failure_cases: pd.DataFrame


def _variable_checks(codebook: Codebook, name: str) -> list[pa.Check]:
    variable = codebook[name]
    checks: list[pa.Check] = []
    if variable.type == "category" and variable.values:
        checks.append(pa.Check.isin(sorted(variable.allowed_codes)))
    if variable.type == "ordinal" and variable.values:
        checks.append(pa.Check.isin(sorted(int(k) for k in variable.values)))
    if variable.value_range is not None:
        checks.append(pa.Check.in_range(*variable.value_range))
    if variable.type == "bool":
        checks.append(pa.Check.isin([True, False]))
    return checks


def staging_microdata_schema(codebook: Codebook, columns: list[str]) -> pa.DataFrameSchema:
    schema_columns = {
        "respondent_pid": pa.Column(nullable=False, unique=True, checks=DESIGN_CHECKS["respondent_pid"]),
        "source_id": pa.Column(str, nullable=False),
        "design_weight": pa.Column(float, nullable=False, checks=DESIGN_CHECKS["design_weight"]),
        "stratum": pa.Column(nullable=False),
        "psu": pa.Column(nullable=False),
    }
    for name in columns:
        if name in codebook and name not in schema_columns and name not in {"design_weight"}:
            schema_columns[name] = pa.Column(nullable=True, checks=_variable_checks(codebook, name),
                                             required=False)
    return pa.DataFrameSchema(schema_columns, name="staging_microdata", strict=False, coerce=False)


def weights_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "respondent_pid": pa.Column(nullable=False, unique=True),
            "design_weight": pa.Column(float, nullable=False, checks=pa.Check.gt(0)),
            "final_weight": pa.Column(float, nullable=False, checks=[
                pa.Check.gt(0), pa.Check(lambda s: s.abs() < float("inf"), name="finite")]),
        },
        name="weights",
    )


def aggregates_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "indicator_code": pa.Column(str, nullable=False),
            "territory": pa.Column(str, nullable=False),
            "period": pa.Column(str, nullable=False),
            "estimate": pa.Column(float, nullable=True),
            "unit": pa.Column(str, nullable=False),
            "sex": pa.Column(str, nullable=False, checks=pa.Check.isin(list(PUBLISHED_SEX_CODES))),
        },
        checks=[
            pa.Check(
                lambda df: ~(df["unit"] == "proportion") | df["estimate"].isna()
                | df["estimate"].between(0, 1),
                name="proportions_in_0_1",
                error="a proportion outside 0..1 (percent not converted?)",
            ),
        ],
        name="staging_aggregates",
        strict=False,
    )


def source_indicators_schema() -> pa.DataFrameSchema:
    """One microdata source's estimates, before the publication rules."""
    return pa.DataFrameSchema(
        {
            "indicator_code": pa.Column(str, nullable=False),
            "estimate": pa.Column(float, nullable=False, checks=pa.Check.in_range(0, 1)),
            "se": pa.Column(float, nullable=True, checks=pa.Check.ge(0)),
            # A domain held by a single PSU per stratum has no degrees of freedom (df = 0): its
            # estimate exists but cannot be published; the publication rules withhold it.
            "df": pa.Column(nullable=False, checks=pa.Check.ge(0)),
            "n_unweighted": pa.Column(nullable=False, checks=pa.Check.gt(0)),
        },
        checks=[
            pa.Check(lambda df: df["ci_low"].isna() | (df["ci_low"] <= df["estimate"] + 1e-12),
                     name="ci_low_below_estimate"),
            pa.Check(lambda df: df["ci_high"].isna() | (df["ci_high"] >= df["estimate"] - 1e-12),
                     name="ci_high_above_estimate"),
            pa.Check(lambda df: (df["ci_low"] < df["ci_high"]) | df["ci_low"].isna(),
                     name="interval_not_degenerate",
                     error="an interval of zero width (p = 0 or 1 must get an exact interval)"),
        ],
        name="source_indicators",
        strict=False,
    )


def table_schema(table: TableDescription, extra_rules: tuple[RowRule, ...] = ()
                 ) -> pa.DataFrameSchema:
    """The pandera schema of a published table, generated from its one description: every column
    present, nullability, allowed codes, ranges, and the table's row rules (plus ``extra_rules``
    that depend on run-time settings, such as the publication threshold)."""
    columns = {}
    for column in table.columns:
        checks = []
        if column.allowed:
            checks.append(pa.Check.isin(list(column.allowed)))
        if column.value_range:
            checks.append(pa.Check.in_range(*column.value_range))
        columns[column.name] = pa.Column(nullable=column.nullable, checks=checks,
                                         required=True)
    rules = [pa.Check(lambda df, rule=rule: rule.holds(df), name=rule.name)
             for rule in (*table.rules, *extra_rules)]
    return pa.DataFrameSchema(columns, checks=rules, name=table.name, strict=False, coerce=False)


def published_pilot_cells_have_min_n(min_n_unweighted: int) -> RowRule:
    return RowRule(
        f"published_pilot_cells_have_n_at_least_{min_n_unweighted}",
        f"a published pilot cell has at least {min_n_unweighted} respondents",
        lambda df: df["suppressed"].fillna(False).astype(bool)
        | (df["source_family"] != FAMILY_PILOT) | (df["n_unweighted"] >= min_n_unweighted))


def consolidated_indicators_schema(min_n_unweighted: int) -> pa.DataFrameSchema:
    """`consolidated.indicators`: the indicators table's description plus the minimum n."""
    return table_schema(INDICATORS, (published_pilot_cells_have_min_n(min_n_unweighted),))


def validate(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> SchemaOutcome:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        return SchemaOutcome(False, len(cases), cases)
    return SchemaOutcome(True, 0, pd.DataFrame())
