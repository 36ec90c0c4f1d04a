"""Source manifests (data/sources/pilot_<territory>_<wave>.yaml) for the synthetic exports.

Built from the same question lists as the exports, so every mapped header and answer text exists
in the file. Derived variables (cv_any, cv_repeated, cv_count, grade_group, age_band,
smartphone_before_11, screen_time_high, who5_low) are left to the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from barometre_pipeline.simulate.frames import is_france
from barometre_pipeline.simulate.questionnaire import (
    FRANCE_FREE_TEXT,
    FRANCE_IDENTIFIERS,
    FREQUENCY_FR,
    FREQUENCY_QC,
    NO,
    QUEBEC_FREE_TEXT,
    QUEBEC_IDENTIFIERS,
    YES,
    questions_for,
    region_label,
)
from barometre_pipeline.simulate.questionnaire_export import QUEBEC_HEADER_ROW, QUEBEC_SHEET
from barometre_pipeline.vocabulary import TERRITORY_SLUGS

PUBLISHER = "Consortium STOP Cyberviolences (données SYNTHÉTIQUES)"
LICENCE = "Licence Ouverte 2.0 (données synthétiques générées par le projet)"


def export_relative_path(territory: str, wave: str) -> str:
    """Path of a wave's export relative to the data dir."""
    slug = TERRITORY_SLUGS[territory]
    suffix = "csv" if is_france(territory) else "xlsx"
    return f"raw/pilot/{slug}/{wave}/export_questionnaire_{wave}.{suffix}"


def manifest_id(territory: str, wave: str) -> str:
    return f"pilot_{TERRITORY_SLUGS[territory]}_{wave}"


def _column_map(question, schools: pd.DataFrame, territory: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"source": question.header}
    if question.kind == "frequency":
        frequency = FREQUENCY_FR if is_france(territory) else FREQUENCY_QC
        entry["values"] = {text: code for code, text in frequency.items()}
    elif question.kind == "yes_no":
        entry["values"] = {YES: True, NO: False}
    elif question.canonical == "region_qc":
        regions = schools[["region_qc", "region_name"]].drop_duplicates().sort_values("region_qc")
        entry["values"] = {region_label(c, n): c for c, n in regions.itertuples(index=False)}
    elif question.kind == "category" and question.answers is not None:
        entry["values"] = {text: code for code, text in question.answers.items()}
    return entry


def pilot_manifest(territory: str, wave: str, schools: pd.DataFrame, notes: str) -> dict[str, Any]:
    """The manifest of one synthetic export, as a plain mapping ready for YAML."""
    france = is_france(territory)
    questions = questions_for(territory)
    columns: dict[str, Any] = {}
    for question in questions:
        if question.canonical is not None:
            columns[question.canonical] = _column_map(question, schools, territory)
    if territory == "FR":
        # The codebook's `departement` lists the académie d'Orléans-Tours only; nationally the
        # stratum (académie) carries the geography, so the département answer is not mapped.
        columns.pop("departement", None)
    school_column = columns["school_id"]["source"]
    columns["psu"] = {"source": school_column}
    weight, strata, fpc, fpc2 = (columns[k]["source"] for k in ("design_weight", "stratum", "fpc", "fpc2"))
    constants: dict[str, Any] = {"territory": territory, "period": wave}
    if not france:
        constants["sector"] = "PU"  # the Québec frame has public schools only
    read: dict[str, Any]
    if france:
        read = {"format": "csv", "encoding": "utf-8-sig", "delimiter": ";", "decimal": ","}
    else:
        read = {"format": "xlsx", "sheet": QUEBEC_SHEET, "header_row": QUEBEC_HEADER_ROW}
    return {
        "id": manifest_id(territory, wave),
        "family": "pilot",
        "kind": "microdata",
        "provenance": {
            "publisher": PUBLISHER,
            "title": {"FR-OT": "Baromètre STOP Cyberviolences, pilote académie d'Orléans-Tours",
                      "FR": "Baromètre STOP Cyberviolences, scénario national France"}.get(
                          territory, "Baromètre STOP Cyberviolences, pilote Québec")
                     + f", vague {wave} (export SYNTHÉTIQUE de l'outil de questionnaire)",
            "licence": LICENCE,
            "period": wave,
            "territory": territory,
            "synthetic": True,
            "quality_flags": ["SYNTHETIQUE"],
            "notes": notes,
        },
        "files": export_relative_path(territory, wave),
        "read": read,
        "design": {"weight": weight, "strata": strata, "psu": school_column, "fpc": fpc, "fpc2": fpc2},
        "respondent_id": "ID réponse" if france else "Numéro de fiche",
        "identifiers": list(FRANCE_IDENTIFIERS if france else QUEBEC_IDENTIFIERS),
        "free_text": [FRANCE_FREE_TEXT if france else QUEBEC_FREE_TEXT],
        "constants": constants,
        "columns": columns,
    }


def write_manifest(manifest: dict[str, Any], sources_dir: Path) -> Path:
    sources_dir.mkdir(parents=True, exist_ok=True)
    path = sources_dir / f"{manifest['id']}.yaml"
    header = ("# Generated by `barometre-simulate` (barometre_pipeline/simulate): do not edit by hand,\n"
              "# regenerate. SYNTHETIC pilot data: no real pupil is described here.\n")
    path.write_text(header + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=110),
                    encoding="utf-8")
    return path
