"""The consolidated `indicators` table: every source's rows, in export contract v1.

Pilot (and other microdata) estimates go through the publication policy here, once, so that no
estimate leaves the warehouse without it; published figures from public and scientific sources are
third-party aggregates and keep their values, with `reliability = not_assessed`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from barometre_pipeline.indicators.catalogue import Catalogue
from barometre_pipeline.publish.contract import DIMENSION_COLUMNS
from barometre_pipeline.staging.codebook import Codebook
from barometre_pipeline.stats.publication import (
    DimensionHierarchy,
    IndicatorLinks,
    PublicationPolicy,
    apply_publication_policy,
)

CONTRACT_DIMENSIONS = DIMENSION_COLUMNS
TOTAL = "_T"
GRADE_GROUPS = ("COLLEGE", "LYCEE")


@dataclass(frozen=True)
class SourceInfo:
    source_id: str
    family: str
    quality_flags: tuple[str, ...]
    provenance: str  # JSON, from publish.contract.build_provenance


def breakdown_labels(table: pd.DataFrame) -> list[str]:
    """`sex×level`-style label of the dimensions a row is broken down by (`_T`: none)."""
    return [
        "×".join(d for d in CONTRACT_DIMENSIONS if row[d] != TOTAL) or TOTAL
        for row in table[list(CONTRACT_DIMENSIONS)].to_dict("records")
    ]


def policy_from_catalogue(catalogue: Catalogue) -> PublicationPolicy:
    """The publication policy from the catalogue's `publication:` section (defaults documented there)."""
    rules = dict(catalogue.publication)
    # Reliability thresholds are flat keys (other readers use them); confidentiality is a block.
    reliability = {k: v for k, v in rules.items() if not isinstance(v, dict)}
    confidentiality = dict(rules.get("confidentiality") or {})
    defaults = PublicationPolicy()
    return PublicationPolicy(
        min_n_unweighted=int(reliability.get("min_n_unweighted", defaults.min_n_unweighted)),
        min_n_effective=float(reliability.get("min_n_effective", defaults.min_n_effective)),
        min_psu=int(reliability.get("min_psu", defaults.min_psu)),
        sensitive_min_n_unweighted=int(reliability.get("sensitive_min_n_unweighted",
                                                       defaults.sensitive_min_n_unweighted)),
        sensitive_min_events=int(reliability.get("sensitive_min_events", defaults.sensitive_min_events)),
        narrow_ci_width=float(reliability.get("narrow_ci_width", defaults.narrow_ci_width)),
        max_ci_width=float(reliability.get("max_ci_width", defaults.max_ci_width)),
        max_relative_ci_width=float(reliability.get("max_relative_ci_width", defaults.max_relative_ci_width)),
        min_df=int(reliability.get("min_df", defaults.min_df)),
        min_respondents=int(confidentiality.get("min_respondents", defaults.min_respondents)),
        min_schools=int(confidentiality.get("min_schools", defaults.min_schools)),
        public_size_dimensions=(tuple(confidentiality["public_size_dimensions"])
                                if confidentiality.get("public_size_dimensions") is not None else None),
        sensitive_indicators=frozenset(i.code for i in catalogue.indicators if i.sensitive),
    )


def indicator_links(catalogue: Catalogue) -> IndicatorLinks:
    """Conditional populations and mixtures between catalogue indicators (for disclosure control)."""
    return IndicatorLinks.from_definitions(
        {i.code: (i.numerator, i.denominator) for i in catalogue.indicators})


def level_hierarchy(codebook: Codebook) -> DimensionHierarchy:
    """Levels add up to their grade group, so both breakdowns are protected together."""
    return DimensionHierarchy("level", "grade_group", codebook.level_attribute("grade_group"))


def publish_microdata_rows(
    estimates: pd.DataFrame, catalogue: Catalogue, codebook: Codebook, info: SourceInfo
) -> pd.DataFrame:
    """Labels, comparability and publication rules for one microdata source's estimates."""
    if estimates.empty:
        return estimates
    table = estimates.copy()
    for column in CONTRACT_DIMENSIONS:
        if column not in table:
            table[column] = TOTAL
    table["breakdown"] = breakdown_labels(table)
    by_code = catalogue.by_code()
    table = apply_publication_policy(
        table.reset_index(drop=True),
        policy_from_catalogue(catalogue),
        table_keys=["source_id", "territory", "period"],
        dimensions=list(CONTRACT_DIMENSIONS),
        hierarchies=[level_hierarchy(codebook)],
        links=indicator_links(catalogue),
    )
    table["indicator_label_fr"] = table["indicator_code"].map(lambda c: by_code[c].label_fr)
    table["indicator_label_en"] = table["indicator_code"].map(lambda c: by_code[c].label_en)
    table["unit"] = table["indicator_code"].map(lambda c: by_code[c].unit)
    table["comparability_group"] = [
        by_code[c].comparability_group(t) for c, t in zip(table["indicator_code"], table["territory"],
                                                          strict=True)
    ]
    table["source_id"] = info.source_id
    table["source_family"] = info.family
    table["quality_flags"] = "|".join(info.quality_flags) or None
    table["provenance"] = info.provenance
    return table


def published_figure_rows(staged: pd.DataFrame, info: SourceInfo) -> pd.DataFrame:
    """Third-party aggregates / effects as contract rows: values kept, reliability not assessed.
    Their quality flags come from staging, where the manifest's flags and those read in each
    row's notes ("SOURCE SECONDAIRE", "CALCUL PAR NOS SOINS") are already merged."""
    if staged.empty:
        return staged
    table = staged.copy()
    for column in CONTRACT_DIMENSIONS:
        if column not in table:
            table[column] = TOTAL
        table[column] = table[column].fillna(TOTAL).astype(str)
    # Publishers report "collège" / "lycée" as a level; in the contract those are grade groups
    # (the `level` column holds single levels), so pilot and published rows line up on grade_group.
    grade_group_as_level = table["level"].isin(GRADE_GROUPS)
    table.loc[grade_group_as_level, "grade_group"] = table.loc[grade_group_as_level, "level"]
    table.loc[grade_group_as_level, "level"] = TOTAL
    table["breakdown"] = breakdown_labels(table)
    table["source_id"] = info.source_id
    table["source_family"] = info.family
    table["reliability"] = "not_assessed"
    table["suppressed"] = False
    table["suppression_reason"] = None
    has_interval = table.get("ci_low", pd.Series(index=table.index, dtype=float)).notna()
    table["ci_method"] = has_interval.map({True: "published", False: None})
    table["provenance"] = info.provenance
    return table


def consolidate(parts: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    frames = [p.reindex(columns=list(columns)) for p in parts if not p.empty]
    if not frames:
        return pd.DataFrame(columns=list(columns))
    return pd.concat(frames, ignore_index=True)

