"""Sampling frames: the real schools of each pilot territory and their pupils by level and sex.

France uses the DEPP enrolment files of the académie d'Orléans-Tours (rentrée 2022): one row per
UAI with pupils by level and sex. A UAI can appear in several files (a lycée polyvalent has GT and
pro pupils, a lycée professionnel can have 3e prépa-métiers pupils in the collège file); the school
is the UAI, so its pupils are summed over the files.

Québec uses the MEQ list of the 593 public organisations teaching secondary. Their sizes are not
public, so they are simulated (and flagged ``size_simulated``): see :func:`read_quebec_frame`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FRANCE_COLLEGE_FILE = "orleans_tours_college_2022.csv"
FRANCE_LYCEE_GT_FILE = "orleans_tours_lycee_gt_2022.csv"
FRANCE_LYCEE_PRO_FILE = "orleans_tours_lycee_pro_2022.csv"
QUEBEC_FILE = "qc_ecoles_secondaires_publiques_2022.csv"

FRANCE_LEVELS = ("6E", "5E", "4E", "3E", "2NDE", "1RE", "TLE")
QUEBEC_LEVELS = ("SEC1", "SEC2", "SEC3", "SEC4", "SEC5")

# MEQ, effectif observé au secondaire, réseau public, septembre 2021 (population_margins.tsv).
QUEBEC_PUBLIC_SECONDARY_PUPILS = 354_188

# Sampling strata for Québec: the 17 administrative regions grouped into six areas of comparable
# weight, so that every stratum gets enough schools in a pilot-sized sample.
QUEBEC_REGION_STRATA: dict[str, str] = {
    "06": "QC-MTL",  # Montréal
    "13": "QC-CNM", "14": "QC-CNM", "15": "QC-CNM",  # Laval, Lanaudière, Laurentides
    "16": "QC-MRG",  # Montérégie
    "03": "QC-CAP", "12": "QC-CAP",  # Capitale-Nationale, Chaudière-Appalaches
    "04": "QC-CEN", "05": "QC-CEN", "07": "QC-CEN", "17": "QC-CEN",  # Mauricie, Estrie, Outaouais, Centre-du-Québec
    "01": "QC-RES", "02": "QC-RES", "08": "QC-RES", "09": "QC-RES", "10": "QC-RES", "11": "QC-RES",
}

# Simulated Québec school sizes before scaling to the provincial total: (median, log-sd) by kind of
# organisation. Secondary-only schools are large; schools that also teach primary, and schools of
# the special-status boards (Cree, Kativik, Littoral), are small.
_QUEBEC_SIZE_SECONDARY_ONLY = (850.0, 0.5)
_QUEBEC_SIZE_MIXED_ORDER = (130.0, 0.7)
_QUEBEC_SIZE_SPECIAL_STATUS = (70.0, 0.6)
# Share of pupils per secondaire level (fewer in the upper levels: repeaters and dropouts).
_QUEBEC_LEVEL_SHARES = np.array([0.215, 0.210, 0.205, 0.190, 0.180])
_QUEBEC_GIRL_SHARE = 0.49


def is_france(territory: str) -> bool:
    """FR-OT (the académie pilot) and FR (the national scenario) share the French questionnaire."""
    return territory == "FR" or territory.startswith("FR-")


@dataclass(frozen=True)
class SchoolFrame:
    """The schools of one territory and their pupils.

    ``schools``: one row per school — school_id, territory, stratum, departement (France),
    region_qc / region_name (Québec), sector (PU/PR), priority_education (HORS/REP/REP+),
    size_simulated (bool).
    ``enrolment``: one row per school × level × sex (F/M) — school_id, level, sex, pupils.
    """

    territory: str
    schools: pd.DataFrame
    enrolment: pd.DataFrame

    @property
    def levels(self) -> tuple[str, ...]:
        return FRANCE_LEVELS if is_france(self.territory) else QUEBEC_LEVELS

    def school_sizes(self) -> pd.Series:
        """Pupils per school, indexed like ``schools`` rows (by school_id)."""
        sizes = self.enrolment.groupby("school_id", sort=False)["pupils"].sum()
        return sizes.reindex(self.schools["school_id"]).fillna(0).astype(np.int64)


def _normalise_header(name: str) -> str:
    # "Nombre de 6èmes filles", "6èmes filles" and "6emes_filles" all become "6emes_filles".
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9+]+", "_", text).strip("_")
    return re.sub(r"^nombre_d?_?(e_)?", "", text)


def _read_depp_csv(path: Path) -> pd.DataFrame:
    table = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    table.columns = [_normalise_header(c) for c in table.columns]
    return table


def _first_column(table: pd.DataFrame, *candidates: str) -> str:
    for candidate in candidates:
        if candidate in table.columns:
            return candidate
    raise ValueError(f"none of the columns {candidates} in DEPP file (columns: {list(table.columns)[:12]}...)")


def _count(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    if not columns:
        return np.zeros(len(table), dtype=np.int64)
    values = table[columns].apply(pd.to_numeric, errors="coerce").fillna(0)
    return values.to_numpy(dtype=np.int64).sum(axis=1)


def _matching(table: pd.DataFrame, pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return [c for c in table.columns if regex.fullmatch(c)]


def _long_enrolment(school_ids: np.ndarray, counts: dict[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    parts = [
        pd.DataFrame({"school_id": school_ids, "level": level, "sex": sex, "pupils": pupils})
        for (level, sex), pupils in counts.items()
    ]
    return pd.concat(parts, ignore_index=True)


def _france_school_rows(table: pd.DataFrame, uai: str, sector: str, rep: str | None,
                        rep_plus: str | None) -> pd.DataFrame:
    ids = table[uai].str.strip().str.upper()
    priority = np.full(len(table), "HORS", dtype=object)
    if rep is not None:
        priority[table[rep].str.strip() == "1"] = "REP"
    if rep_plus is not None:
        priority[table[rep_plus].str.strip() == "1"] = "REP+"
    return pd.DataFrame({
        "school_id": ids,
        "departement": ids.str[1:3],  # UAI = 0 + département (2 digits) + ...
        "sector": np.where(table[sector].str.upper().str.startswith("PRIV"), "PR", "PU"),
        "priority_education": priority,
    })


def read_orleans_tours_frame(frames_dir: Path) -> SchoolFrame:
    """Every school of the académie d'Orléans-Tours with its pupils by level (6E..TLE) and sex."""
    college = _read_depp_csv(frames_dir / FRANCE_COLLEGE_FILE)
    lycee_gt = _read_depp_csv(frames_dir / FRANCE_LYCEE_GT_FILE)
    lycee_pro = _read_depp_csv(frames_dir / FRANCE_LYCEE_PRO_FILE)

    college_uai = _first_column(college, "numero_du_college", "numero_college", "uai")
    school_rows = [
        _france_school_rows(college, college_uai, _first_column(college, "secteur"),
                            _first_column(college, "rep"), _first_column(college, "rep_+", "rep_plus", "rep+")),
        _france_school_rows(lycee_gt, _first_column(lycee_gt, "numero_lycee", "uai"),
                            _first_column(lycee_gt, "secteur"), None, None),
        _france_school_rows(lycee_pro, _first_column(lycee_pro, "numero_lycee", "uai"),
                            _first_column(lycee_pro, "secteur"), None, None),
    ]
    enrolment_parts = []
    college_ids = school_rows[0]["school_id"].to_numpy()
    college_counts = {}
    for level, stem in zip(("6E", "5E", "4E", "3E"), ("6emes", "5emes", "4emes", "3emes"), strict=True):
        college_counts[(level, "F")] = _count(college, [_first_column(college, f"{stem}_filles")])
        college_counts[(level, "M")] = _count(college, [_first_column(college, f"{stem}_garcons")])
    enrolment_parts.append(_long_enrolment(college_ids, college_counts))

    # Lycée levels by sex: general + technological tracks (GT file), bac pro track (pro file).
    # CAP and the STHR/TMD/BT pupils (no sex split) are left out, as in population_margins.tsv.
    for table, rows, track in ((lycee_gt, school_rows[1], r"(g|gt|sti2d|stl|stmg|st2s|std2a|sthr|s2tmd)"),
                               (lycee_pro, school_rows[2], r"pro")):
        counts = {}
        for level, stem in (("2NDE", "2ndes"), ("1RE", "1eres"), ("TLE", "terminales")):
            counts[(level, "F")] = _count(table, _matching(table, rf"{stem}_{track}_filles"))
            counts[(level, "M")] = _count(table, _matching(table, rf"{stem}_{track}_garcons"))
        enrolment_parts.append(_long_enrolment(rows["school_id"].to_numpy(), counts))

    enrolment = (pd.concat(enrolment_parts, ignore_index=True)
                 .groupby(["school_id", "level", "sex"], as_index=False, sort=True)["pupils"].sum())
    enrolment = enrolment[enrolment["pupils"] > 0].reset_index(drop=True)

    # The collège file comes first, so a UAI present in several files keeps its REP status.
    schools = pd.concat(school_rows, ignore_index=True).drop_duplicates("school_id", keep="first")
    schools = schools[schools["school_id"].isin(enrolment["school_id"])]
    schools = schools.sort_values("school_id").reset_index(drop=True)
    schools.insert(1, "territory", "FR-OT")
    schools.insert(2, "stratum", "FR-D" + schools["departement"])
    schools["region_qc"] = None
    schools["region_name"] = None
    schools["size_simulated"] = False
    return SchoolFrame("FR-OT", schools, enrolment)


def read_quebec_frame(frames_dir: Path, rng: np.random.Generator,
                      total_pupils: int = QUEBEC_PUBLIC_SECONDARY_PUPILS) -> SchoolFrame:
    """The 593 public secondary organisations of Québec with SIMULATED pupils by level and sex.

    Sizes are lognormal by kind of organisation (secondary-only schools: median 850 before scaling),
    then scaled so that the province adds up to ``total_pupils`` (MEQ, September 2021).
    """
    table = pd.read_csv(frames_dir / QUEBEC_FILE, dtype=str, keep_default_na=False)
    table = table.sort_values("CD_ORGNS").reset_index(drop=True)
    special_status = (table["TYPE_CS"] == "Statut").to_numpy()
    secondary_only = (table["ORDRE_ENS"] == "Secondaire").to_numpy() & ~special_status
    median = np.where(special_status, _QUEBEC_SIZE_SPECIAL_STATUS[0],
                      np.where(secondary_only, _QUEBEC_SIZE_SECONDARY_ONLY[0], _QUEBEC_SIZE_MIXED_ORDER[0]))
    spread = np.where(special_status, _QUEBEC_SIZE_SPECIAL_STATUS[1],
                      np.where(secondary_only, _QUEBEC_SIZE_SECONDARY_ONLY[1], _QUEBEC_SIZE_MIXED_ORDER[1]))
    buildings = pd.to_numeric(table["n_immeubles_sec"], errors="coerce").fillna(1).to_numpy()
    # Organisations spread over several buildings are bigger.
    raw = median * (1.0 + 0.25 * (buildings - 1.0)) * np.exp(rng.normal(0.0, spread))
    sizes = np.maximum(np.round(raw * total_pupils / raw.sum()), 10).astype(np.int64)
    sizes[np.argmax(sizes)] += total_pupils - sizes.sum()  # rounding remainder: totals add up exactly

    by_level = rng.multinomial(sizes, _QUEBEC_LEVEL_SHARES)
    girls = rng.binomial(by_level, _QUEBEC_GIRL_SHARE)
    ids = table["CD_ORGNS"].str.strip().to_numpy()
    counts = {}
    for index, level in enumerate(QUEBEC_LEVELS):
        counts[(level, "F")] = girls[:, index]
        counts[(level, "M")] = by_level[:, index] - girls[:, index]
    enrolment = _long_enrolment(ids, counts).sort_values(["school_id", "level", "sex"])
    enrolment = enrolment[enrolment["pupils"] > 0].reset_index(drop=True)

    region = table["regadm_code"].str.strip().str.zfill(2)
    schools = pd.DataFrame({
        "school_id": ids,
        "territory": "CA-QC",
        "stratum": region.map(QUEBEC_REGION_STRATA).fillna("QC-RES").to_numpy(),
        "departement": None,
        "sector": "PU",
        "priority_education": "HORS",
        "region_qc": region.to_numpy(),
        "region_name": table["regadm_nom"].to_numpy(),
        "size_simulated": True,
    })
    return SchoolFrame("CA-QC", schools, enrolment)


def tile_frame(frame: SchoolFrame, copies: int) -> SchoolFrame:
    """``copies`` renamed copies of a frame (for scale benchmarks only; not a real territory)."""
    schools = []
    enrolment = []
    for copy in range(copies):
        suffix = f"-{copy:03d}"
        schools.append(frame.schools.assign(school_id=frame.schools["school_id"] + suffix))
        enrolment.append(frame.enrolment.assign(school_id=frame.enrolment["school_id"] + suffix))
    return SchoolFrame(frame.territory, pd.concat(schools, ignore_index=True),
                       pd.concat(enrolment, ignore_index=True))
