"""The data dictionary exported beside the datasets (JSON for tools, Markdown and HTML for people).

It documents every exported dataset's columns (name, type, French and English description), the
codes used in the cells (``_T``, sex, levels, reliability grades, suppression reasons) and one sheet
per indicator of the catalogue, so a reader of the Parquet or CSV files needs nothing else.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from barometre_pipeline.publish.atomic import write_file_atomically
from barometre_pipeline.publish.contract import (
    CONTRACT_VERSION,
    DATASET_NAME,
    INDICATORS_COLUMNS,
    RELIABILITY_CODES,
    SOURCE_FAMILIES,
    TOTAL_CODE,
    schema_fingerprint,
)
from barometre_pipeline.stats.publication import REASONS as SUPPRESSION_REASONS
from barometre_pipeline.vocabulary import FAMILY_LABELS, SEX_CODES, SEX_LABELS, UNKNOWN

DICTIONARY_BASENAME = "data_dictionary"
# Catalogue fields shown on an indicator sheet, in this order (others are kept in "other").
SHEET_FIELDS: tuple[str, ...] = (
    "code", "label_fr", "label_en", "theme", "definition_fr", "definition_en", "question_fr",
    "question_qc", "question_en", "population_fr", "population_en", "limits_fr", "limits_en",
    "numerator", "denominator", "unit", "breakdowns", "comparability_group", "sensitive",
    "territory_labels",
)
SHEET_LABELS_FR: dict[str, str] = {
    "code": "Code", "label_fr": "Libellé (fr)", "label_en": "Libellé (en)", "theme": "Thème",
    "definition_fr": "Définition", "definition_en": "Definition (en)", "numerator": "Numérateur",
    "denominator": "Dénominateur (population)", "unit": "Unité", "breakdowns": "Ventilations",
    "comparability_group": "Groupe de comparabilité", "other": "Autres attributs",
    "question_fr": "Question posée en France", "question_qc": "Question posée au Québec",
    "question_en": "Question (en)", "population_fr": "Population", "population_en": "Population (en)",
    "limits_fr": "Limites", "limits_en": "Limits (en)", "sensitive": "Indicateur sensible",
    "territory_labels": "Libellés propres à un territoire",
}
CODED_VARIABLES: tuple[str, ...] = ("territory", "level", "grade_group", "age_band", "departement")


def _column_doc(name: str, type_: str, fr: str, en: str) -> dict[str, str]:
    return {"name": name, "type": type_, "description_fr": fr, "description_en": en}


def _dataset_columns(spec: pa.Schema | Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    if isinstance(spec, pa.Schema):
        # Descriptions may travel in the field metadata (description_fr / description_en).
        docs = []
        for field in spec:
            meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
            docs.append(_column_doc(field.name, str(field.type), meta.get("description_fr", ""), meta.get("description_en", "")))
        return docs
    return [_column_doc(c["name"], c.get("type", ""), c.get("description_fr", ""), c.get("description_en", "")) for c in spec]


def _codes_from_codebook(codebook: Mapping | None) -> dict[str, dict[str, dict[str, str]]]:
    variables = (codebook or {}).get("variables", {})
    codes: dict[str, dict[str, dict[str, str]]] = {}
    for name in CODED_VARIABLES:
        values = (variables.get(name) or {}).get("values") or {}
        codes[name] = {str(code): {"fr": str(v.get("fr", code)), "en": str(v.get("en", ""))} for code, v in values.items()}
    return codes


def _indicator_sheet(entry: Mapping) -> dict:
    sheet = {field: entry.get(field) for field in SHEET_FIELDS}
    other = {k: v for k, v in entry.items() if k not in SHEET_FIELDS}
    if other:
        sheet["other"] = other
    return sheet


def build_data_dictionary(
    catalogue: Sequence[Mapping],
    *,
    codebook: Mapping | None = None,
    other_datasets: Mapping[str, pa.Schema | Sequence[Mapping[str, str]]] | None = None,
) -> dict:
    """The dictionary as JSON-able data.

    ``catalogue``: the indicator catalogue entries ({code, label_fr, label_en, numerator,
    denominator, unit, breakdowns, comparability_group, theme, definition_fr, ...}).
    ``codebook``: the parsed ``data/codebook.yaml`` (territory, level, grade group, age band and
    département codes are taken from it). ``other_datasets``: name -> Arrow schema (descriptions in
    field metadata) or list of {name, type, description_fr, description_en}.
    """
    datasets = {
        DATASET_NAME: {
            "schema_fingerprint": schema_fingerprint(),
            "columns": [_column_doc(c.name, str(c.type), c.description_fr, c.description_en) for c in INDICATORS_COLUMNS],
        }
    }
    for name, spec in sorted((other_datasets or {}).items()):
        datasets[name] = {"columns": _dataset_columns(spec)}
    codes = {
        "total": {TOTAL_CODE: {"fr": "Total : la ligne n'est pas ventilée selon cette dimension", "en": "Total: the row is not broken down by this dimension"}},
        # Sex and source-family labels are the vocabulary's (the same words as the site, the CSV
        # bundles and the report); the total code is documented once, under "total".
        "sex": {code: dict(SEX_LABELS[code]) for code in (*SEX_CODES, UNKNOWN)},
        "source_family": {code: dict(FAMILY_LABELS[code]) for code in SOURCE_FAMILIES},
        "reliability": {code: {"fr": fr, "en": en} for code, (fr, en) in RELIABILITY_CODES.items()},
        # Every reason code the publication rules write, in the readers' words (N: the threshold
        # written in the code, as configured in data/indicators.yaml).
        # The short words are what charts and the report show for a withheld cell.
        "suppression_reason": {code: {"fr": reason.fr.format(t="N"), "en": reason.en.format(t="N"),
                                      "fr_short": reason.fr_short, "en_short": reason.en_short}
                               for code, reason in SUPPRESSION_REASONS.items()},
        **_codes_from_codebook(codebook),
    }
    return {
        "title_fr": "Dictionnaire des données du baromètre STOP Cyberviolences",
        "title_en": "STOP Cyberviolences barometer data dictionary",
        "contract_version": CONTRACT_VERSION,
        "conventions_fr": [
            "Les proportions sont exprimées entre 0 et 1.",
            f"« {TOTAL_CODE} » dans une colonne de dimension signifie que la ligne n'est pas ventilée selon cette dimension.",
            "Une ligne non publiée (suppressed = vrai) garde ses clés et ses effectifs mais n'a pas d'estimation.",
            "Seules les lignes d'un même groupe de comparabilité se comparent entre sources.",
        ],
        "datasets": datasets,
        "codes": codes,
        "indicators": [_indicator_sheet(entry) for entry in sorted(catalogue, key=lambda e: str(e.get("code", "")))],
    }


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def _md_cell(value: object) -> str:
    return _text(value).replace("|", "\\|").replace("\n", " ")


def render_dictionary_markdown(dictionary: Mapping) -> str:
    """Markdown rendering (French first, English descriptions alongside)."""
    lines = [f"# {dictionary['title_fr']}", "", f"Version du contrat d'export : **{dictionary['contract_version']}**", ""]
    lines += [f"- {rule}" for rule in dictionary["conventions_fr"]] + [""]
    lines += ["## Jeux de données", ""]
    for name, dataset in dictionary["datasets"].items():
        lines += [f"### `{name}`", ""]
        if "schema_fingerprint" in dataset:
            lines += [f"Empreinte du schéma : `{dataset['schema_fingerprint']}`", ""]
        lines += ["| Colonne | Type | Description | Description (en) |", "|---|---|---|---|"]
        lines += [f"| `{c['name']}` | {c['type']} | {_md_cell(c['description_fr'])} | {_md_cell(c['description_en'])} |" for c in dataset["columns"]]
        lines.append("")
    lines += ["## Codes", ""]
    for variable, values in dictionary["codes"].items():
        if not values:
            continue
        lines += [f"### `{variable}`", "", "| Code | Libellé | Label (en) |", "|---|---|---|"]
        lines += [f"| `{code}` | {_md_cell(v['fr'])} | {_md_cell(v['en'])} |" for code, v in values.items()]
        lines.append("")
    lines += ["## Fiches indicateurs", ""]
    for sheet in dictionary["indicators"]:
        lines += [f"### {sheet.get('code')} — {_md_cell(sheet.get('label_fr'))}", "", "| Champ | Valeur |", "|---|---|"]
        lines += [f"| {SHEET_LABELS_FR[field]} | {_md_cell(value)} |" for field, value in sheet.items() if value not in (None, "", [])]
        lines.append("")
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "") -> str:
    # First cell of each row is its header (screen readers announce it with each value); wide
    # tables scroll inside their own focusable box so a 390 px phone never scrolls the page.
    head = "".join(f"<th scope=\"col\">{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(
        (f"<th scope=\"row\">{html.escape(_text(v))}</th>" if i == 0 else f"<td>{html.escape(_text(v))}</td>")
        for i, v in enumerate(row)) + "</tr>" for row in rows)
    label = html.escape(caption or header[0])
    return (f"<div class=\"table-wrap\" tabindex=\"0\" role=\"region\" aria-label=\"{label}\"><table>"
            + (f"<caption>{html.escape(caption)}</caption>" if caption else "")
            + f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def render_dictionary_html(dictionary: Mapping) -> str:
    """Self-contained HTML rendering (no external resource), in French: viewport for phones,
    header / navigation / main / footer landmarks, a contents list, one sheet per indicator."""
    sheets = dictionary["indicators"]
    parts = [f"<h1>{html.escape(dictionary['title_fr'])}</h1>",
             f"<p>Version du contrat d'export : <strong>{html.escape(dictionary['contract_version'])}</strong></p>",
             "<ul>" + "".join(f"<li>{html.escape(r)}</li>" for r in dictionary["conventions_fr"]) + "</ul>",
             "<section aria-labelledby=\"datasets\"><h2 id=\"datasets\">Jeux de données</h2>"]
    for name, dataset in dictionary["datasets"].items():
        parts.append(f"<h3 id=\"dataset-{html.escape(name)}\"><code>{html.escape(name)}</code></h3>")
        parts.append(_html_table(["Colonne", "Type", "Description", "Description (en)"],
                                 [[c["name"], c["type"], c["description_fr"], c["description_en"]] for c in dataset["columns"]],
                                 f"Colonnes du jeu de données {name}"))
    parts.append("</section><section aria-labelledby=\"codes\"><h2 id=\"codes\">Codes</h2>")
    for variable, values in dictionary["codes"].items():
        if values:
            parts.append(f"<h3><code>{html.escape(variable)}</code></h3>")
            parts.append(_html_table(["Code", "Libellé", "Label (en)"], [[code, v["fr"], v["en"]] for code, v in values.items()],
                                     f"Codes de {variable}"))
    parts.append("</section><section aria-labelledby=\"sheets\"><h2 id=\"sheets\">Fiches indicateurs</h2>")
    for sheet in sheets:
        code = html.escape(str(sheet.get("code")))
        parts.append(f"<h3 id=\"{code}\">{code} — {html.escape(str(sheet.get('label_fr') or ''))}</h3>")
        parts.append(_html_table(["Champ", "Valeur"], [[SHEET_LABELS_FR[f], v] for f, v in sheet.items() if v not in (None, "", [])],
                                 f"Fiche {sheet.get('code')}"))
    parts.append("</section>")
    contents = "".join(
        f"<li><a href=\"#{html.escape(str(s.get('code')))}\">{html.escape(str(s.get('label_fr') or s.get('code')))}</a></li>" for s in sheets)
    navigation = ("<nav aria-label=\"Sommaire\"><ul class=\"toc\"><li><a href=\"#datasets\">Jeux de données</a></li>"
                  "<li><a href=\"#codes\">Codes</a></li><li><a href=\"#sheets\">Fiches indicateurs</a><ul>"
                  f"{contents}</ul></li></ul></nav>")
    style = ("body{font-family:system-ui,sans-serif;max-width:70rem;margin:auto;padding:1rem;color:#1a1a1a;line-height:1.45}"
             "a{color:#0b4f8a}.table-wrap{overflow-x:auto;margin:.5rem 0 1.5rem}"
             "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.25rem .5rem;"
             "text-align:left;vertical-align:top}thead th{background:#e6edf4}tbody th{font-weight:600}"
             "caption{text-align:left;font-weight:600}.toc ul{columns:2 16rem}"
             ":focus-visible{outline:3px solid #b35c00;outline-offset:2px}"
             "@media print{nav{display:none}.table-wrap{overflow:visible}}")
    return ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(dictionary['title_fr'])}</title><style>{style}</style></head><body>"
            f"<header><p>Baromètre STOP Cyberviolences</p></header>{navigation}<main>"
            + "\n".join(parts) + "</main><footer><p>Licence Ouverte 2.0 (Etalab).</p></footer></body></html>\n")


def dictionary_files(dictionary: Mapping) -> dict[str, bytes]:
    """File name -> content of the three renderings (used by the CSV bundles too)."""
    return {
        f"{DICTIONARY_BASENAME}.json": (json.dumps(dictionary, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8"),
        f"{DICTIONARY_BASENAME}.md": render_dictionary_markdown(dictionary).encode("utf-8"),
        f"{DICTIONARY_BASENAME}.html": render_dictionary_html(dictionary).encode("utf-8"),
    }


def write_data_dictionary(export_dir: Path, dictionary: Mapping) -> list[Path]:
    """Write ``data_dictionary.{json,md,html}`` beside the datasets, each file replaced atomically."""
    return [write_file_atomically(Path(export_dir) / name, content) for name, content in dictionary_files(dictionary).items()]
