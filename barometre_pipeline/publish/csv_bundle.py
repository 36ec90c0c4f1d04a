"""One zip per territory for spreadsheet users: ``<export_dir>/csv/barometre_<territory>_v1.zip``.

Inside: ``indicateurs.csv`` (every published cell of the territory), ``comparaisons.csv`` (the
pilot against the historical series), ``effets.csv`` (associations, wave changes, odds ratios),
``provenance.csv`` (one row per source: publisher, licence, URL, file checksums, code version),
``LISEZMOI.txt`` and the data dictionary.

The CSVs are what French spreadsheets open without an import wizard: UTF-8 with BOM, ``;``
separator, decimal comma, CRLF line ends, French column headers, labels instead of codes where a
reader needs them (``Ensemble`` for ``_T``, ``Filles`` for ``F``), percentages in 0–100 rounded to
0.1 and differences in percentage points. Text cells that a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@``, tab, CR first) are prefixed with ``'`` (CSV injection); numbers are
never touched, so negative numbers stay numbers. Zip entries have a fixed timestamp and order, so
a rerun on the same data gives a byte-identical zip.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from barometre_pipeline import vocabulary as voc
from barometre_pipeline.publish.atomic import publish_atomically
from barometre_pipeline.publish.contract import CONTRACT_VERSION, KEY_COLUMNS, conform_to_contract
from barometre_pipeline.publish.dictionary import dictionary_files
from barometre_pipeline.publish.site.labels import comparison_reason, withheld_reason

BUNDLE_DIR = "csv"
CSV_NAME = "indicateurs.csv"
COMPARISONS_NAME = "comparaisons.csv"
EFFECTS_NAME = "effets.csv"
PROVENANCE_NAME = "provenance.csv"
README_NAME = "LISEZMOI.txt"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# 1980-01-01 is the earliest time a zip header can hold; any fixed value makes reruns identical.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
DEFAULT_CITATION = (
    "Consortium STOP Cyberviolences, Baromètre des cyberviolences chez les jeunes — "
    "jeu de données « indicateurs », contrat d'export v{version}, territoire {territory}."
)
PROPORTION = "proportion"
UNIT_LABELS = {
    PROPORTION: "pourcentage", "odds_ratio": "rapport de cotes", "adjusted_odds_ratio": "rapport de cotes ajusté",
    "correlation": "corrélation", "count": "effectif", "count_per_year": "effectif par an",
    "count_per_day": "effectif par jour",
}
RELIABILITY_LABELS = {
    "reliable": "fiable", "caution": "à interpréter avec prudence", "unreliable": "peu fiable (ordre de grandeur)",
    "suppressed": "non publiée", "not_assessed": "non évaluable (chiffre publié par un tiers)",
}
MEASURE_LABELS = {
    "difference": "écart (points de %)", "difference_in_differences": "différence de différences (points de %)",
    "adjusted_odds_ratio": "rapport de cotes ajusté", "odds_ratio": "rapport de cotes", "correlation": "corrélation",
}
VERDICT_LABELS = {
    "higher": "pilote plus élevé", "lower": "pilote plus bas", "not_different": "pas de différence démontrée",
    "not_comparable": "non comparable", "indicative": "indicatif : incertitude de la référence inconnue",
}
DIMENSION_NAMES_FR = {
    "sex": "Sexe", "level": "Niveau", "age_band": "Tranche d'âge", "grade_group": "Cycle",
    "departement": "Département", "sector": "Secteur", "priority_education": "Éducation prioritaire",
}
FLAG_LABELS = {
    "SOURCE_SECONDAIRE": "source secondaire", "CALCUL_PAR_NOS_SOINS": "calculé par nos soins",
    "SYNTHETIQUE": "données synthétiques",
}


def neutralise_formula(text: str) -> str:
    """Prefix a text cell with ``'`` when a spreadsheet would evaluate it as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _format_float(value: float) -> str:
    # Shortest round-trip digits, never an exponent (spreadsheets misread "1e-05" in French locales).
    text = repr(value)
    if "e" in text or "n" in text:
        text = np.format_float_positional(value, trim="-")
    elif text.endswith(".0"):
        text = text[:-2]
    return text.replace(".", ",")


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


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def rounded(value: object, decimals: int) -> float | None:
    """Half away from zero (what readers expect), not Python's round-half-even."""
    if _missing(value):
        return None
    scaled = abs(float(value)) * 10 ** decimals
    result = math.floor(scaled + 0.5 + 1e-9) / 10 ** decimals
    return math.copysign(result, float(value)) if result else 0.0


def significant(value: object, digits: int = 3) -> float | None:
    """A p- or q-value to 3 significant digits (rounding 0.00001 to 0 would read as certainty)."""
    return None if _missing(value) else float(f"{float(value):.{digits}g}")


def percent(value: object) -> float | None:
    """A proportion in 0–1 as a percentage rounded to 0.1."""
    return None if _missing(value) else rounded(100 * float(value), 1)


def _value_for_unit(value: object, unit: str | None) -> float | None:
    if unit == PROPORTION:
        return percent(value)
    return None if _missing(value) else rounded(value, 2)


def _label_of(mapping: Mapping[str, Mapping[str, str]]) -> Callable[[object], str]:
    def label(code: object) -> str:
        if _missing(code):
            return ""
        return voc.label(mapping, str(code), "fr")
    return label


def _dimension_labels(codebook: Mapping | None) -> dict[str, Callable[[object], str]]:
    values = (codebook or {}).get("variables") or {}

    def from_codebook(name: str) -> Callable[[object], str]:
        entries = (values.get(name) or {}).get("values") or {}

        def label(code: object) -> str:
            code = "" if _missing(code) else str(code)
            if code == voc.TOTAL:
                return "Ensemble"
            entry = entries.get(code)
            return str(entry.get("fr", code)) if entry else code
        return label

    def sex(code: object) -> str:
        return _label_of(voc.SEX_LABELS)(code)

    def departement(code: object) -> str:
        code = "" if _missing(code) else str(code)
        if code == voc.TOTAL:
            return "Ensemble"
        return f"{voc.DEPARTEMENT_LABELS[code]} ({code})" if code in voc.DEPARTEMENT_LABELS else code

    return {"sex": sex, "level": from_codebook("level"), "age_band": from_codebook("age_band"),
            "grade_group": from_codebook("grade_group"), "departement": departement,
            "sector": from_codebook("sector"), "priority_education": from_codebook("priority_education")}


def _breakdown_label(breakdown: object) -> str:
    """``sex×level`` -> ``Sexe × Niveau``; ``_T`` -> ``Ensemble``."""
    if _missing(breakdown) or breakdown == voc.TOTAL:
        return "Ensemble"
    return " × ".join(DIMENSION_NAMES_FR.get(part, part) for part in str(breakdown).split("×"))


def _territory(code: object) -> str:
    return _label_of(voc.TERRITORY_LABELS)(code)


def _flags(value: object) -> str:
    if _missing(value) or not str(value):
        return ""
    return ", ".join(FLAG_LABELS.get(f, f) for f in re.split(r"[|;]", str(value)) if f)


def _withheld_reason(value: object) -> str:
    if _missing(value) or not str(value):
        return ""
    return withheld_reason(str(value))["fr"]


# (French header, function of a row) for indicateurs.csv, in column order.
def _indicator_columns(codebook: Mapping | None) -> list[tuple[str, Callable[[Mapping], object]]]:
    dims = _dimension_labels(codebook)

    def dim(name: str) -> Callable[[Mapping], object]:
        return lambda r: dims[name](r[name])

    def scaled(column: str) -> Callable[[Mapping], object]:
        return lambda r: _value_for_unit(r[column], r["unit"])

    return [
        ("Code indicateur", lambda r: r["indicator_code"]),
        ("Indicateur", lambda r: r["indicator_label_fr"]),
        ("Source", lambda r: r["source_id"]),
        ("Famille de source", lambda r: _label_of(voc.FAMILY_LABELS)(r["source_family"])),
        ("Territoire", lambda r: _territory(r["territory"])),
        ("Code territoire", lambda r: r["territory"]),
        ("Période", lambda r: r["period"]),
        ("Sexe", dim("sex")),
        ("Niveau", dim("level")),
        ("Tranche d'âge", dim("age_band")),
        ("Cycle", dim("grade_group")),
        ("Département", dim("departement")),
        ("Secteur", dim("sector")),
        ("Éducation prioritaire", dim("priority_education")),
        ("Ventilation", lambda r: _breakdown_label(r["breakdown"])),
        ("Unité", lambda r: UNIT_LABELS.get(r["unit"], r["unit"])),
        ("Estimation", scaled("estimate")),
        ("IC 95 % borne basse", scaled("ci_low")),
        ("IC 95 % borne haute", scaled("ci_high")),
        ("Erreur type", scaled("se")),
        ("Méthode de l'intervalle", lambda r: r["ci_method"]),
        ("Répondants (n)", lambda r: None if _missing(r["n_unweighted"]) else int(r["n_unweighted"])),
        ("Effectif efficace", lambda r: rounded(r["n_effective"], 0)),
        ("Effet de plan", lambda r: rounded(r["deff"], 2)),
        ("Degrés de liberté", lambda r: rounded(r["df"], 0)),
        ("Fiabilité", lambda r: RELIABILITY_LABELS.get(r["reliability"], r["reliability"])),
        ("Non publiée", lambda r: bool(r["suppressed"])),
        ("Raison de non-publication", lambda r: _withheld_reason(r["suppression_reason"]) if r["suppressed"] else ""),
        ("Groupe de comparabilité", lambda r: r["comparability_group"]),
        ("Alertes qualité", lambda r: _flags(r["quality_flags"])),
    ]


def _comparison_columns() -> list[tuple[str, Callable[[Mapping], object]]]:
    return [
        ("Code indicateur", lambda r: r["indicator_code"]),
        ("Territoire du pilote", lambda r: _territory(r["territory_pilot"])),
        ("Vague du pilote", lambda r: r["period_pilot"]),
        ("Sexe", lambda r: _label_of(voc.SEX_LABELS)(r.get("sex"))),
        ("Cycle", lambda r: {"COLLEGE": "Collège", "LYCEE": "Lycée", voc.TOTAL: "Ensemble"}.get(r.get("grade_group"), r.get("grade_group"))),
        ("Pilote (%)", lambda r: percent(r["estimate_pilot"])),
        ("Pilote IC 95 % borne basse (%)", lambda r: percent(r["ci_low_pilot"])),
        ("Pilote IC 95 % borne haute (%)", lambda r: percent(r["ci_high_pilot"])),
        ("Source de référence", lambda r: r["source_id_reference"]),
        ("Territoire de référence", lambda r: _territory(r["territory_reference"])),
        ("Période de référence", lambda r: r["period_reference"]),
        ("Référence (%)", lambda r: percent(r["estimate_reference"])),
        ("Référence IC 95 % borne basse (%)", lambda r: percent(r["ci_low_reference"])),
        ("Référence IC 95 % borne haute (%)", lambda r: percent(r["ci_high_reference"])),
        ("Même définition", lambda r: bool(r["same_definition"])),
        ("Écart (points de %)", lambda r: percent(r["difference"])),
        ("Valeur p", lambda r: significant(r.get("p_value"))),
        ("Valeur q", lambda r: significant(r.get("q_value"))),
        ("Verdict", lambda r: VERDICT_LABELS.get(r["verdict"], r.get("verdict_fr") or r["verdict"])),
        ("Raison", lambda r: comparison_reason(r.get("reason"))["fr"]),
    ]


def _effect_value(column: str) -> Callable[[Mapping], object]:
    def value(r: Mapping) -> object:
        if r["measure"] in ("difference", "difference_in_differences"):
            return percent(r[column])
        return rounded(r[column], 2)
    return value


def _effect_columns(codebook: Mapping | None) -> list[tuple[str, Callable[[Mapping], object]]]:
    dims = _dimension_labels(codebook)

    def cell(value: object) -> str:
        if _missing(value) or value == voc.TOTAL:
            return "Ensemble"
        parts = []
        for part in str(value).split(";"):
            name, _, code = part.partition("=")
            parts.append(f"{DIMENSION_NAMES_FR.get(name, name)} = {dims[name](code) if name in dims else code}")
        return " ; ".join(parts)

    return [
        ("Code effet", lambda r: r["effect_code"]),
        ("Libellé", lambda r: r["label_fr"]),
        ("Territoire", lambda r: _territory(r["territory"])),
        ("Période", lambda r: r["period"]),
        ("Cellule", lambda r: cell(r.get("cell"))),
        ("Mesure", lambda r: MEASURE_LABELS.get(r["measure"], r["measure"])),
        ("Estimation", _effect_value("estimate")),
        ("IC 95 % borne basse", _effect_value("ci_low")),
        ("IC 95 % borne haute", _effect_value("ci_high")),
        ("Valeur p", lambda r: significant(r.get("p_value"))),
        ("Valeur q", lambda r: significant(r.get("q_value"))),
        ("Significatif", lambda r: None if _missing(r.get("significant")) else bool(r.get("significant"))),
        ("Répondants (n)", lambda r: None if _missing(r.get("n_unweighted")) else int(r["n_unweighted"])),
        ("Ajusté sur", lambda r: r.get("adjusted_for")),
        ("Groupe de référence", lambda r: r.get("reference_group")),
        ("Non publié", lambda r: bool(r.get("suppressed"))),
        ("Lecture", lambda r: r.get("interpretation_fr")),
    ]


def _csv(rows: Sequence[Mapping], columns: list[tuple[str, Callable[[Mapping], object]]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([header for header, _ in columns])
    # Text columns repeat a few values many times: format each distinct value once.
    cache: dict[object, str] = {}
    for row in rows:
        cells = []
        for _, get in columns:
            value = get(row)
            key = (type(value), value) if not isinstance(value, float) or not math.isnan(value) else "nan"
            if key not in cache:
                cache[key] = format_cell(value)
            cells.append(cache[key])
        writer.writerow(cells)
    return (BOM + buffer.getvalue()).encode("utf-8")


def indicators_csv(table: pa.Table, codebook: Mapping | None = None) -> bytes:
    """The ``indicateurs.csv`` bytes of a conformed indicators table."""
    return _csv(table.to_pylist(), _indicator_columns(codebook))


def provenance_rows(indicators: Sequence[Mapping]) -> list[dict[str, object]]:
    """One row per source of the bundle, from the rows' provenance JSON (run ids left out: they
    change on every run and say nothing to a reader)."""
    by_source: dict[str, dict[str, object]] = {}
    for row in indicators:
        try:
            provenance = json.loads(row.get("provenance") or "{}")
        except json.JSONDecodeError:
            provenance = {}
        entry = by_source.setdefault(row["source_id"], {
            "Source": row["source_id"], "Famille": _label_of(voc.FAMILY_LABELS)(row["source_family"]),
            "Éditeur": provenance.get("publisher", ""), "Licence": provenance.get("licence", ""),
            "Manifeste": provenance.get("manifest_file", ""),
            "Données synthétiques": bool(provenance.get("synthetic", False)),
            "Version du code": provenance.get("code_version", ""), "files": {}})
        entry["files"].update(provenance.get("input_sha256") or {})
    out = []
    for source in sorted(by_source):
        entry = by_source[source]
        files = entry.pop("files")
        entry["Fichiers d'entrée (sha256)"] = " | ".join(f"{name} {digest}" for name, digest in sorted(files.items()))
        out.append(entry)
    return out


def provenance_csv(indicators: Sequence[Mapping], sources: pd.DataFrame | None = None) -> bytes:
    rows = provenance_rows(indicators)
    details = {}
    if sources is not None and not sources.empty:
        details = {r["source_id"]: r for r in sources.to_dict("records")}
    for row in rows:
        detail = details.get(row["Source"], {})
        row["Titre"] = detail.get("title", "")
        row["Adresse"] = detail.get("url", "")
        row["Période"] = detail.get("period", "")
    headers = ["Source", "Famille", "Éditeur", "Titre", "Adresse", "Période", "Licence", "Manifeste",
               "Données synthétiques", "Version du code", "Fichiers d'entrée (sha256)"]
    return _csv(rows, [(h, lambda r, h=h: r.get(h)) for h in headers])


def readme_text(territory: str, citation: str, has_pilot: bool, files: Sequence[str] = ()) -> str:
    """LISEZMOI.txt: files, format, citation, licence and caveats, in French."""
    listed = set(files) or {CSV_NAME}
    lines = [
        f"Baromètre STOP Cyberviolences — données du territoire {_territory(territory)} ({territory})",
        f"Contrat d'export version {CONTRACT_VERSION}",
        "",
        "CONTENU",
        f"  {CSV_NAME} : une ligne par indicateur × source × période × cellule de ventilation (sexe, niveau…).",
    ]
    if COMPARISONS_NAME in listed:
        lines.append(f"  {COMPARISONS_NAME} : chaque chiffre du pilote face aux séries publiées (DEPP, HBSC, ISQ…), écart, valeur q et verdict.")
    if EFFECTS_NAME in listed:
        lines.append(f"  {EFFECTS_NAME} : associations (écarts, rapports de cotes ajustés), évolutions entre vagues, différence de différences.")
    lines += [
        f"  {PROVENANCE_NAME} : d'où vient chaque chiffre (éditeur, titre, adresse, licence, empreintes des fichiers, version du code).",
        "  data_dictionary.md / .html / .json : description de chaque colonne, des codes et fiche de chaque indicateur.",
        "",
        "FORMAT DES FICHIERS CSV",
        "  Encodage UTF-8 avec BOM, séparateur point-virgule (;), virgule décimale (26,8), fins de ligne CRLF.",
        "  Les proportions sont en POURCENTAGES arrondis au dixième (26,8 = 26,8 %) ; les écarts sont en points de",
        "  pourcentage ; les rapports de cotes sont arrondis au centième. Colonne « Unité » : pourcentage, rapport de cotes…",
        "  « Ensemble » dans une colonne de ventilation (sexe, niveau…) signifie « toutes les valeurs, non ventilé ».",
        "  Une estimation vide avec « Non publiée » = oui est une donnée non publiée ; la colonne « Raison de",
        "  non-publication » dit pourquoi (trop peu de répondants, secret statistique, estimation trop imprécise…).",
        "  Ce n'est jamais un zéro.",
        "  Booléens : oui / non. Par sécurité, un texte commençant par = + - @ est précédé d'une apostrophe (')",
        "  pour qu'aucun tableur ne l'exécute comme une formule.",
        "  Les valeurs exactes (proportions entre 0 et 1, non arrondies) sont dans les fichiers Parquet publiés à côté.",
        "",
        "LECTURE",
        "  Associations, pas effets : un écart entre groupes ou un rapport de cotes décrit un lien observé, il ne",
        "  prouve pas qu'un facteur cause la cyberviolence, ni qu'un programme de prévention la réduit.",
        "  Évolutions et comparaisons : « significatif » se lit sur la valeur q (correction des comparaisons multiples)",
        "  lorsqu'elle existe.",
        "",
        "CITATION",
        f"  {citation}",
        "",
        "LICENCE",
        "  Nos productions (estimations, agrégats, documentation) sont diffusées sous Licence Ouverte 2.0 / Etalab",
        "  (https://www.etalab.gouv.fr/licence-ouverte-open-licence) : réutilisation libre, y compris commerciale,",
        "  sous réserve de mentionner la source. Les chiffres repris de tiers (DEPP, SSMSI, ISQ, articles",
        f"  scientifiques…) restent sous la licence de leur éditeur : voir {PROVENANCE_NAME}.",
        "",
        "PRÉCAUTIONS",
    ]
    if has_pilot:
        lines += [
            "  * DONNÉES PILOTES SYNTHÉTIQUES : les lignes de famille « Enquête pilote » proviennent de données simulées",
            "    (aucune réponse réelle d'élève). Elles servent à tester la chaîne et ne décrivent pas la réalité.",
        ]
    lines += [
        "  * Comparabilité : les définitions et périodes de référence diffèrent entre sources (année scolaire,",
        "    12 derniers mois, 2 derniers mois ; au moins une cyberviolence ou harcèlement répété). Ne comparez",
        "    que des lignes du même « Groupe de comparabilité ».",
        "  * Fiabilité « à interpréter avec prudence » ou « peu fiable » : estimation imprécise.",
        "  * « Alertes qualité » signale les chiffres de source secondaire ou recalculés par nos soins.",
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


def _sorted_records(frame: pd.DataFrame | None, territory_column: str, territory: str, keys: Sequence[str]) -> list[dict] | None:
    if frame is None:
        return None
    subset = frame[frame[territory_column] == territory]
    keys = [k for k in keys if k in subset.columns]
    subset = subset.sort_values(keys, kind="mergesort") if keys else subset
    records = subset.to_dict("records")
    # Parquet nulls arrive as NaN/NA/None depending on dtype: one missing value for the formatter.
    return [{k: (None if _missing(v) else v) for k, v in r.items()} for r in records]


def territory_bundle(
    table: pa.Table,
    territory: str,
    dictionary: Mapping,
    citation: str | None = None,
    *,
    codebook: Mapping | None = None,
    effects: pd.DataFrame | None = None,
    comparisons: pd.DataFrame | None = None,
    sources: pd.DataFrame | None = None,
) -> bytes:
    """The zip bytes for one territory: its indicators, comparisons, effects and provenance."""
    rows = [r for r in table.to_pylist() if r["territory"] == territory]
    has_pilot = any(r["source_family"] == voc.FAMILY_PILOT for r in rows)
    files = {CSV_NAME: _csv(rows, _indicator_columns(codebook)), PROVENANCE_NAME: provenance_csv(rows, sources)}
    compared = _sorted_records(comparisons, "territory_pilot", territory,
                               ["indicator_code", "period_pilot", "sex", "grade_group", "source_id_reference", "period_reference"])
    if compared:
        files[COMPARISONS_NAME] = _csv(compared, _comparison_columns())
    associated = _sorted_records(effects, "territory", territory, ["effect_code", "period", "cell"])
    if associated:
        files[EFFECTS_NAME] = _csv(associated, _effect_columns(codebook))
    readme = readme_text(territory, citation or DEFAULT_CITATION.format(version=CONTRACT_VERSION, territory=territory),
                         has_pilot, files=list(files))
    files[README_NAME] = (BOM + readme).encode("utf-8")
    files.update(dictionary_files(dictionary))
    return _zip_bytes(files)


def write_csv_bundles(
    indicators: pd.DataFrame | pa.Table,
    export_dir: Path,
    dictionary: Mapping,
    *,
    citation: str | None = None,
    codebook: Mapping | None = None,
    effects: pd.DataFrame | None = None,
    comparisons: pd.DataFrame | None = None,
    sources: pd.DataFrame | None = None,
) -> list[Path]:
    """Publish one zip per territory under ``<export_dir>/csv`` atomically; returns the zip paths.

    ``indicators`` is conformed to the contract first (extra columns are dropped), so nothing but
    published aggregates can reach a CSV; ``effects`` and ``comparisons`` are the published
    tables of the same names (their withheld rows carry no value either).
    """
    table = conform_to_contract(indicators, extra_columns="drop")
    table = table.sort_by([(key, "ascending") for key in KEY_COLUMNS])
    territories = sorted(set(table.column("territory").to_pylist()))
    with publish_atomically(Path(export_dir), BUNDLE_DIR) as staging:
        for territory in territories:
            content = territory_bundle(table, territory, dictionary, citation, codebook=codebook,
                                       effects=effects, comparisons=comparisons, sources=sources)
            (staging / bundle_file_name(territory)).write_bytes(content)
    return [Path(export_dir) / BUNDLE_DIR / bundle_file_name(t) for t in territories]
