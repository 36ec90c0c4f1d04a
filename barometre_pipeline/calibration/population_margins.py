"""Population margins for raking pilot weights, from data/reference/population_margins.tsv.

Orléans-Tours: real DEPP enrolment, rentrée 2022, by département × level × sex. Québec: only the
province total of public secondary pupils is known (354,188 in 2021), so the level × sex split is an
assumption (equal levels, equal sexes) and every margin built from it is flagged `estimated`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# Pilot level codes -> the margins file's level labels (2nde/1re/Terminale = GT + pro tracks).
FR_LEVELS = {"6E": "6e", "5E": "5e", "4E": "4e", "3E": "3e", "2NDE": "2nde", "1RE": "1re", "TLE": "Terminale"}
QC_LEVELS = ("SEC1", "SEC2", "SEC3", "SEC4", "SEC5")
QC_PUBLIC_SECONDARY_PUPILS_2021 = 354188
QUEBEC_ESTIMATED_MARGINS = "population_margins_qc_estimated.tsv"  # written by barometre-simulate
# National France, académie × level × sex (written by `barometre-simulate --scenario national`
# from the DEPP national files).
NATIONAL_MARGINS = "population_margins_fr_national.tsv"


@dataclass(frozen=True)
class Margins:
    """variable -> category -> population total; `estimated` when not an observed count."""

    territory: str
    totals: dict[str, dict[str, float]]
    estimated: bool
    source: str

    @property
    def population(self) -> float:
        first = next(iter(self.totals.values()))
        return float(sum(first.values()))


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, encoding="utf-8")


def orleans_tours_margins(path: Path) -> Margins:
    table = _read(path)
    table = table[table["territory"] == "FR"]
    table["pupils"] = table["pupils"].astype(float)
    academie = table[table["geography_code"] == "FR-ACA-18"]
    by_level_sex = academie[academie["level"].isin(FR_LEVELS.values()) & academie["sex"].isin(["F", "M"])]
    label_to_code = {v: k for k, v in FR_LEVELS.items()}
    level = (
        by_level_sex.groupby("level")["pupils"].sum().rename(index=label_to_code).to_dict()
    )
    sex = by_level_sex.groupby("sex")["pupils"].sum().to_dict()
    departements = table[table["geography_code"].str.startswith("FR-DEP-")
                         & table["level"].isin(FR_LEVELS.values()) & table["sex"].isin(["F", "M"])]
    departement = (
        departements.assign(dep=departements["geography_code"].str.removeprefix("FR-DEP-"))
        .groupby("dep")["pupils"].sum().to_dict()
    )
    return Margins(
        territory="FR-OT",
        totals={"level": level, "sex": sex, "departement": departement},
        estimated=False,
        source=f"{path.name}: DEPP rentrée 2022, académie d'Orléans-Tours (F + M by level; départements)",
    )


def quebec_margins(total: float = QC_PUBLIC_SECONDARY_PUPILS_2021) -> Margins:
    per_level = total / len(QC_LEVELS)
    return Margins(
        territory="CA-QC",
        totals={"level": dict.fromkeys(QC_LEVELS, per_level), "sex": {"F": total / 2, "M": total / 2}},
        estimated=True,
        source="MEQ total of public secondary pupils 2021 (354,188); level × sex split ESTIMATED (equal shares)",
    )


def quebec_estimated_margins(path: Path) -> Margins:
    """Level × sex margins of the simulated Québec frame (scaled to the official total)."""
    table = _read(path)
    table["pupils"] = table["pupils"].astype(float)
    return Margins(
        territory="CA-QC",
        totals={
            "level": table.groupby("level")["pupils"].sum().to_dict(),
            "sex": table.groupby("sex")["pupils"].sum().to_dict(),
        },
        estimated=True,
        source=f"{path.name}: level × sex ESTIMATED from simulated school sizes, scaled to the "
        "MEQ total of 354,188 public secondary pupils (2021)",
    )


def national_france_margins(path: Path) -> Margins:
    """Académie × level × sex enrolment of France, raked on its three one-way margins.

    The staged `stratum` of the national scenario is the académie code, so the académie margin is
    keyed by stratum."""
    table = _read(path)
    table = table[table["sex"].isin(["F", "M"])]
    table["pupils"] = table["pupils"].astype(float)
    return Margins(
        territory="FR",
        totals={
            "level": table.groupby("level")["pupils"].sum().to_dict(),
            "sex": table.groupby("sex")["pupils"].sum().to_dict(),
            "stratum": table.groupby("stratum")["pupils"].sum().to_dict(),
        },
        estimated=False,
        source=f"{path.name}: DEPP, every collège (rentrée 2022) and lycée GT (rentrée 2021), "
        "by académie × level × sex; lycées professionnels not included",
    )


def margins_for(territory: str, reference_dir: Path) -> Margins | None:
    if territory == "FR" and (reference_dir / NATIONAL_MARGINS).exists():
        return national_france_margins(reference_dir / NATIONAL_MARGINS)
    if territory == "FR-OT" and (reference_dir / "population_margins.tsv").exists():
        return orleans_tours_margins(reference_dir / "population_margins.tsv")
    if territory == "CA-QC":
        estimated = reference_dir / QUEBEC_ESTIMATED_MARGINS
        return quebec_estimated_margins(estimated) if estimated.exists() else quebec_margins()
    return None
