"""The report's only inputs: the published Parquet exports and the reference files beside the data
(codebook, indicator catalogue, help lines, population margins). Nothing is read from the warehouse.

Other code changes these tables over time, so columns the report can do without are added as
nulls when absent (e.g. ``q_value`` before the publication-rules change lands).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from barometre_pipeline.calibration.population_margins import Margins, margins_for

OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "indicators": ("reliability", "suppression_reason", "quality_flags", "df"),
    "effects": ("q_value", "significant", "suppressed", "p_value", "n_unweighted", "cell",
                "interpretation_fr", "counterpart", "quality_flags", "reference_group"),
    "comparisons": ("q_value", "reference_uncertainty", "p_value", "reason", "verdict_fr",
                    "test", "territory_relation", "ci_low_reference", "ci_high_reference"),
    "sources": ("url", "licence", "quality_flags", "period", "territory", "title", "publisher"),
}


class ReportInputError(RuntimeError):
    """A published table the report needs is missing or unreadable."""


@dataclass(frozen=True)
class PublishedTables:
    indicators: pd.DataFrame
    effects: pd.DataFrame
    comparisons: pd.DataFrame
    sources: pd.DataFrame
    catalogue: dict
    codebook: dict
    help_resources: pd.DataFrame
    margins: dict[str, Margins]
    data_dir: Path

    @property
    def publication_rules(self) -> dict:
        return self.catalogue.get("publication", {})

    def indicator_definition(self, code: str) -> dict:
        for entry in self.catalogue.get("indicators", []):
            if entry.get("code") == code:
                return entry
        return {}


def _read_dataset(export_dir: Path, name: str) -> pd.DataFrame:
    path = export_dir / name
    if not path.exists():
        raise ReportInputError(f"report: the published dataset {path} does not exist "
                               "(run the export assets first)")
    table = pd.read_parquet(path)
    for column in OPTIONAL_COLUMNS.get(name, ()):
        if column not in table.columns:
            table[column] = None
    return table


def load_published_tables(export_dir: Path, data_dir: Path) -> PublishedTables:
    export_dir, data_dir = Path(export_dir), Path(data_dir)
    reference = data_dir / "reference"
    help_path = reference / "help_resources.tsv"
    if not help_path.exists():
        raise ReportInputError(f"report: {help_path} is missing: help lines must be shown "
                               "next to victimisation figures")
    margins = {t: m for t in ("FR-OT", "CA-QC") if (m := margins_for(t, reference)) is not None}
    return PublishedTables(
        indicators=_read_dataset(export_dir, "indicators"),
        effects=_read_dataset(export_dir, "effects"),
        comparisons=_read_dataset(export_dir, "comparisons"),
        sources=_read_dataset(export_dir, "sources"),
        catalogue=yaml.safe_load((data_dir / "indicators.yaml").read_text(encoding="utf-8")),
        codebook=yaml.safe_load((data_dir / "codebook.yaml").read_text(encoding="utf-8")),
        help_resources=pd.read_csv(help_path, sep="\t", dtype=str, keep_default_na=False),
        margins=margins,
        data_dir=data_dir,
    )
