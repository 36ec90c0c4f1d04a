"""One zip per territory for spreadsheet users: ``<export_dir>/csv/barometre_<territory>_v1.zip``.

The CSV follows what French spreadsheets open without an import wizard: UTF-8 with BOM, ``;``
separator, decimal comma, CRLF line ends, booleans as ``oui``/``non``. Text cells that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) are prefixed with
``'`` (CSV injection); numbers are never touched, so negative numbers stay numbers. Zip entries have
a fixed timestamp and order, so a rerun on the same data gives a byte-identical zip.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from barometre_pipeline.publish.atomic import publish_atomically
from barometre_pipeline.publish.contract import CONTRACT_VERSION, KEY_COLUMNS, conform_to_contract
from barometre_pipeline.publish.dictionary import dictionary_files

BUNDLE_DIR = "csv"
CSV_NAME = "indicateurs.csv"
README_NAME = "LISEZMOI.txt"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# 1980-01-01 is the earliest time a zip header can hold; any fixed value makes reruns identical.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
DEFAULT_CITATION = (
    "Consortium STOP Cyberviolences, Baromètre des cyberviolences chez les jeunes — "
    "jeu de données « indicateurs », contrat d'export v{version}, territoire {territory}."
)


def neutralise_formula(text: str) -> str:
    """Prefix a text cell with ``'`` when a spreadsheet would evaluate it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def format_cell(value: object) -> str:
    """A cell as French spreadsheets read it; only text cells go through the formula guard."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "oui" if value else "non"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _format_float(float(value))
    return neutralise_formula(str(value))


def _format_float(value: float) -> str:
    # Shortest round-trip digits, never an exponent (spreadsheets misread "1e-05" in French locales).
    text = repr(value)
    if "e" in text or "n" in text:
        text = np.format_float_positional(value, trim="-")
    elif text.endswith(".0"):
        text = text[:-2]
    return text.replace(".", ",")


def _column_cells(column: pa.ChunkedArray) -> list[str]:
    """Format a whole column at once (per-type, not per-cell dispatch: the CSV of a big table)."""
    values = column.to_pylist()
    kind = column.type
    if pa.types.is_floating(kind):
        return ["" if v is None or v != v else _format_float(v) for v in values]
    if pa.types.is_integer(kind):
        return ["" if v is None else str(v) for v in values]
    if pa.types.is_boolean(kind):
        return ["" if v is None else ("oui" if v else "non") for v in values]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # Text columns repeat a few codes many times: guard each distinct value once.
        guarded: dict[str | None, str] = {None: ""}
        return [guarded[v] if v in guarded else guarded.setdefault(v, neutralise_formula(v)) for v in values]
    return [format_cell(v) for v in values]


def indicators_csv(table: pa.Table) -> bytes:
    """The ``indicateurs.csv`` bytes of a conformed indicators table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(table.column_names)
    writer.writerows(zip(*(_column_cells(table.column(name)) for name in table.column_names), strict=True))
    return (BOM + buffer.getvalue()).encode("utf-8")


def readme_text(territory: str, citation: str, has_pilot: bool) -> str:
    """LISEZMOI.txt: format, citation, licence and caveats, in French."""
    lines = [
        f"Baromètre STOP Cyberviolences — indicateurs du territoire {territory}",
        f"Contrat d'export version {CONTRACT_VERSION}",
        "",
        "CONTENU",
        f"  {CSV_NAME} : une ligne par indicateur × source × période × territoire × cellule de ventilation.",
        "  data_dictionary.md / .html / .json : description de chaque colonne, des codes et fiche de chaque indicateur.",
        "",
        "FORMAT DU FICHIER CSV",
        "  Encodage UTF-8 avec BOM, séparateur point-virgule (;), virgule décimale (0,283), fins de ligne CRLF.",
        "  Les proportions sont exprimées entre 0 et 1 (0,283 = 28,3 %). Booléens : oui / non.",
        "  « _T » dans une colonne de dimension (sexe, niveau…) signifie « ensemble, non ventilé ».",
        "  Une cellule vide dans estimate avec suppressed = oui est une donnée non publiée (effectif insuffisant",
        "  ou règle de confidentialité) ; voir suppression_reason.",
        "  Par sécurité, un texte commençant par = + - @ est précédé d'une apostrophe (') pour qu'aucun tableur",
        "  ne l'exécute comme une formule.",
        "",
        "CITATION",
        f"  {citation}",
        "",
        "LICENCE",
        "  Nos productions (estimations, agrégats, documentation) sont diffusées sous Licence Ouverte 2.0 / Etalab",
        "  (https://www.etalab.gouv.fr/licence-ouverte-open-licence) : réutilisation libre, y compris commerciale,",
        "  sous réserve de mentionner la source. Les chiffres repris de tiers (DEPP, SSMSI, ISQ, articles",
        "  scientifiques…) restent sous la licence de leur éditeur : citez-les d'après la colonne provenance.",
        "",
        "PRÉCAUTIONS",
    ]
    if has_pilot:
        lines += [
            "  * DONNÉES PILOTES SYNTHÉTIQUES : les lignes de famille « pilot » proviennent de données simulées",
            "    (aucune réponse réelle d'élève). Elles servent à tester la chaîne et ne décrivent pas la réalité.",
        ]
    lines += [
        "  * Comparabilité : les définitions et périodes de référence diffèrent entre sources (année scolaire,",
        "    12 derniers mois, 2 derniers mois ; au moins une cyberviolence ou harcèlement répété). Ne comparez",
        "    que des lignes du même comparability_group.",
        "  * reliability = caution ou unreliable : estimation imprécise, à interpréter avec prudence.",
        "  * quality_flags signale les chiffres de source secondaire ou recalculés par nos soins.",
        "",
    ]
    return "\r\n".join(lines)


def _zip_bytes(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def bundle_file_name(territory: str) -> str:
    """``barometre_<territory>_v1.zip`` with the territory code made filename-safe."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", territory)
    return f"barometre_{safe}_v{CONTRACT_VERSION.split('.')[0]}.zip"


def territory_bundle(table: pa.Table, territory: str, dictionary: Mapping, citation: str | None = None) -> bytes:
    """The zip bytes for one territory's rows of a conformed indicators table."""
    subset = table.filter(pc.equal(table.column("territory"), territory))
    has_pilot = "pilot" in set(subset.column("source_family").to_pylist())
    files = {
        CSV_NAME: indicators_csv(subset),
        README_NAME: (BOM + readme_text(territory, citation or DEFAULT_CITATION.format(version=CONTRACT_VERSION, territory=territory), has_pilot)).encode("utf-8"),
        **dictionary_files(dictionary),
    }
    return _zip_bytes(files)


def write_csv_bundles(
    indicators: pd.DataFrame | pa.Table,
    export_dir: Path,
    dictionary: Mapping,
    *,
    citation: str | None = None,
) -> list[Path]:
    """Publish one zip per territory under ``<export_dir>/csv`` atomically; returns the zip paths.

    ``indicators`` is conformed to the contract first (extra columns are dropped), so nothing but
    published aggregates can reach a CSV.
    """
    table = conform_to_contract(indicators, extra_columns="drop")
    table = table.sort_by([(key, "ascending") for key in KEY_COLUMNS])
    territories = sorted(set(table.column("territory").to_pylist()))
    with publish_atomically(Path(export_dir), BUNDLE_DIR) as staging:
        for territory in territories:
            (staging / bundle_file_name(territory)).write_bytes(territory_bundle(table, territory, dictionary, citation))
    return [Path(export_dir) / BUNDLE_DIR / bundle_file_name(t) for t in territories]
