"""Build the static site ``<export dir>/site/`` from the published exports.

Layout of the generated folder (French at the root, English under ``en/``)::

    index.html, territoires.html, …, methode.html, fiches/index.html, fiches/<CODE>.html
    en/…                                   the same pages in English
    assets/data.js                         published aggregates, as a script (file:// forbids fetch)
    assets/vega.js                         Vega + Vega-Lite + vega-embed, from the vl-convert package
    assets/site.js, assets/site.css        rendering, filters, styles (print included)
    assets/LICENCES.txt                    licences of the bundled JavaScript
    telechargements/                       CSV zips, Parquet exports, data dictionary, report PDFs

Nothing is fetched at view time, and nothing here reads the warehouse: only the public Parquet
exports (after the publication rules), the catalogue, the codebook, help resources and outlines.
The same inputs give the same bytes (no build time is written anywhere).
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import yaml

from barometre_pipeline import vocabulary as voc
from barometre_pipeline.indicators.catalogue import territory_label
from barometre_pipeline.publish.atomic import VERSIONS_DIR, publish_atomically
from barometre_pipeline.publish.site import formatting, labels, payload, texts, views
from barometre_pipeline.publish.site.geo import Map, load_map

SITE_DIR = "site"
ASSETS = "assets"
DOWNLOADS = "telechargements"
EXPORT_TABLES = ("indicators", "effects", "comparisons", "sources")
GEO_FILE = Path("geo") / "orleans_tours_departements.geojson"
HELP_FILE = Path("reference") / "help_resources.tsv"
# Catalogue fields that document an indicator for readers (the rest is computation).
SHEET_TEXT_FIELDS = ("definition_fr", "definition_en", "question_fr", "question_qc", "question_en",
                     "population_fr", "population_en", "limits_fr", "limits_en")
VEGA_LICENCE = (
    "assets/vega.js bundles Vega, Vega-Lite and vega-embed (and their dependencies), as shipped by the\n"
    "vl-convert-python package (javascript_bundle()). Vega, Vega-Lite and vega-embed: Copyright (c)\n"
    "University of Washington Interactive Data Lab, BSD 3-Clause licence\n"
    "(https://github.com/vega/vega/blob/main/LICENSE). Versions: {versions}.\n"
)


@dataclass(frozen=True)
class SiteInputs:
    exports: payload.Exports
    catalogue: dict
    codebook: dict
    help_resources: list[dict[str, str]]
    geography: Map
    retrieved: dict[str, str]
    downloads: dict[str, Path]


def read_exports(export_dir: Path) -> payload.Exports:
    """The four public Parquet exports; a missing one is named in the error."""
    frames = {}
    for name in EXPORT_TABLES:
        path = Path(export_dir) / name
        if not path.exists():
            raise payload.SiteInputError(f"{path}: the `{name}` export is missing; materialise the exports first")
        frames[name] = pd.read_parquet(path)
    return payload.Exports(**frames)


def _read_help(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle, delimiter="\t")]


def _retrieved_dates(data_dir: Path) -> dict[str, str]:
    out = {}
    for manifest in sorted((data_dir / "sources").glob("*.yaml")):
        spec = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        date = (spec.get("provenance") or {}).get("retrieved")
        if spec.get("id") and date:
            out[str(spec["id"])] = str(date)
    return out


def _downloads(export_dir: Path) -> dict[str, Path]:
    """Files copied into the site so it stays complete on any static host."""
    files: dict[str, Path] = {}
    for zipped in sorted((export_dir / "csv").glob("*.zip")):
        files[f"csv/{zipped.name}"] = zipped
    for name in EXPORT_TABLES:
        parts = sorted((export_dir / name).glob("*.parquet"))
        for index, part in enumerate(parts):
            files[f"parquet/{name}{'' if len(parts) == 1 else f'-{index}'}.parquet"] = part
    for dictionary in sorted(export_dir.glob("data_dictionary.*")):
        files[dictionary.name] = dictionary
    for pdf in sorted((export_dir / "report").glob("*.pdf")):
        files[f"rapport/{pdf.name}"] = pdf
    return files


def load_inputs(export_dir: Path, data_dir: Path) -> SiteInputs:
    export_dir, data_dir = Path(export_dir), Path(data_dir)
    return SiteInputs(
        exports=read_exports(export_dir),
        catalogue=yaml.safe_load((data_dir / "indicators.yaml").read_text(encoding="utf-8")),
        codebook=yaml.safe_load((data_dir / "codebook.yaml").read_text(encoding="utf-8")),
        help_resources=_read_help(data_dir / HELP_FILE),
        geography=load_map(data_dir / GEO_FILE),
        retrieved=_retrieved_dates(data_dir),
        downloads=_downloads(export_dir),
    )


def _indicator_entries(catalogue: Mapping, synthetic: bool = False,
                       territories: Mapping[str, Iterable[str]] | None = None) -> dict[str, dict]:
    """Labels and sheet texts of each indicator; population and limits default from the
    denominator and the theme when the catalogue does not word them itself. ``territories``:
    indicator code -> the territories it is published for, where an indicator worded per
    territory (the helpline each territory asked about) gets its own labels."""
    out = {}
    for spec in catalogue.get("indicators") or []:
        entry = {"fr": spec["label_fr"], "en": spec["label_en"], "theme": spec.get("theme", ""),
                 "unit": spec.get("unit", ""), "sensitive": bool(spec.get("sensitive", False))}
        worded = {t: {language: territory_label(spec, language, t) for language in ("fr", "en")}
                  for t in (territories or {}).get(spec["code"], ()) if territory_label(spec, "fr", t)}
        if worded:
            entry["territories"] = dict(sorted(worded.items()))
        population = texts.POPULATIONS.get(str(spec.get("denominator", "TRUE")).strip())
        limits = texts.LIMITS.get(entry["theme"])
        for language in ("fr", "en"):
            if population:
                entry[f"population_{language}"] = population[language][0].upper() + population[language][1:] + "." + texts.POPULATION_NOTE[language]
            if limits:
                entry[f"limits_{language}"] = (limits[language]
                                               + (texts.SENSITIVE_LIMIT[language] if entry["sensitive"] else "")
                                               + (texts.SYNTHETIC_LIMIT[language] if synthetic else ""))
        entry.update({f: spec[f] for f in SHEET_TEXT_FIELDS if spec.get(f)})
        out[spec["code"]] = entry
    return out


def _published_territories(rows: list[dict]) -> dict[str, set[str]]:
    """Indicator code -> the territories the site shows it for."""
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(row["i"], set()).add(row["t"])
    return out


def build_payload(inputs: SiteInputs) -> dict[str, Any]:
    """Everything ``site.js`` reads, JSON-able and deterministic."""
    rows, reasons = payload.indicator_rows(inputs.exports.indicators)
    comparisons = payload.comparison_rows(inputs.exports.comparisons)
    pilot_territories = sorted({r["t"] for r in rows if r["f"] == voc.FAMILY_PILOT},
                               key=lambda t: (voc.PILOT_TERRITORIES.index(t) if t in voc.PILOT_TERRITORIES else 99, t))
    return {
        "rows": rows,
        "reasons": dict(sorted(reasons.items())),
        "effects": payload.effect_rows(inputs.exports.effects),
        "comparisons": comparisons,
        "sources": payload.source_entries(inputs.exports.sources, inputs.retrieved),
        "indicators": _indicator_entries(
            inputs.catalogue, synthetic=bool(inputs.exports.sources.get("synthetic", pd.Series(dtype=bool)).fillna(False).any()),
            territories=_published_territories(rows)),
        "dimensions": labels.dimension_values(inputs.codebook),
        "dimensionNames": labels.DIMENSION_NAMES,
        "levels": labels.level_order(inputs.codebook),
        "territories": {t: {"fr": labels.territory_label(t, "fr"), "en": labels.territory_label(t, "en")}
                        for t in sorted({r["t"] for r in rows} | {c["tr"] for c in comparisons})},
        "pilotTerritories": pilot_territories,
        "departements": [{"code": s.code, "name": s.name} for s in inputs.geography.shapes],
        "verdicts": labels.VERDICTS,
        "reliability": labels.RELIABILITY_NOTES,
        "flags": labels.QUALITY_FLAGS,
        "exposures": labels.EXPOSURES,
        "outcomes": labels.OUTCOMES,
        "measures": labels.MEASURES,
        "families": voc.FAMILY_LABELS,
        "i18n": texts.UI,
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("barometre_pipeline.publish.site", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["percent"] = formatting.percent
    env.filters["count"] = formatting.count
    return env


def _help_boxes(resources_: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    """Help lines by pilot territory: France's for Orléans-Tours, Québec's and Canada's for Québec."""
    by_territory: dict[str, list[dict[str, str]]] = {voc.TERRITORY_ORLEANS_TOURS: [], voc.TERRITORY_QUEBEC: []}
    for row in resources_:
        target = voc.TERRITORY_ORLEANS_TOURS if row["territory"] == "FR" else voc.TERRITORY_QUEBEC
        by_territory[target].append(row)
    return by_territory


SELF_HARM_LINES = {"3114", "9-8-8"}
VICTIM_LINES = {"3018", "Tel-jeunes", "Jeunesse, J'écoute (Kids Help Phone)"}


def _page_context(inputs: SiteInputs, data: dict, language: str) -> dict[str, Any]:
    publication = inputs.catalogue.get("publication") or {}
    pilot_sources = [s for s in data["sources"].values() if s["family"] == voc.FAMILY_PILOT]
    boxes = _help_boxes(inputs.help_resources)
    return {
        "lang": language,
        "other_lang": "en" if language == "fr" else "fr",
        "t": texts.UI[language],
        "navigation": views.NAVIGATION,
        "synthetic": any(s["synthetic"] for s in pilot_sources),
        "code_version": payload.code_version(inputs.exports.indicators),
        "help_victims": {t: [r for r in rows if r["name"] in VICTIM_LINES] for t, rows in boxes.items()},
        "help_self_harm": {t: [r for r in rows if r["name"] in SELF_HARM_LINES] for t, rows in boxes.items()},
        "help_lines": texts.HELP_LINES,
        "territory_names": {t: labels.territory_label(t, language) for t in voc.PILOT_TERRITORIES},
        "method_text": [p.format(min_n=publication.get("min_n_unweighted", 30),
                                 min_neff=publication.get("min_n_effective", 30),
                                 sensitive_n=publication.get("sensitive_min_n_unweighted", 100))
                        for p in texts.METHOD_TEXT[language]],
        "sources": data["sources"],
        "indicators": data["indicators"],
        "downloads": sorted(inputs.downloads),
        "geography": inputs.geography,
        "flags": labels.QUALITY_FLAGS,
        "families": voc.FAMILY_LABELS,
        "publication": publication,
    }


def _sheet_rows(data: dict, code: str) -> list[dict]:
    """Total rows of one indicator for each pilot territory and wave (the sheet's figures)."""
    dims = labels.DIMENSIONS
    return [r for r in data["rows"] if r["i"] == code and r["f"] == voc.FAMILY_PILOT
            and all(r[d] == voc.TOTAL for d in dims)]


def _breakdown_names(catalogue: Mapping, code: str, language: str) -> str:
    """The published breakdowns of an indicator in words ("Sexe × Niveau"), not set names."""
    spec = next(s for s in catalogue["indicators"] if s["code"] == code)
    sets = catalogue.get("breakdown_sets") or {}
    names = []
    for name in spec.get("breakdowns") or catalogue.get("default_breakdowns") or ["total"]:
        dims = sets.get(name) or []
        names.append(" × ".join(labels.DIMENSION_NAMES[d][language] for d in dims if d in labels.DIMENSION_NAMES)
                     or texts.UI[language]["all"])
    return ", ".join(names)


def render_site(inputs: SiteInputs) -> dict[str, bytes]:
    """Relative path -> bytes of every generated file (downloads excluded)."""
    env = _environment()
    data = build_payload(inputs)
    files: dict[str, bytes] = {}
    for language in ("fr", "en"):
        prefix = "" if language == "fr" else "en/"
        context = _page_context(inputs, data, language)
        for view in views.VIEWS:
            depth = prefix.count("/")
            page = env.get_template("view.html").render(
                **context, view=view, root="../" * depth, here=f"{view.slug}.html", sub="")
            files[f"{prefix}{view.slug}.html"] = page.encode("utf-8")
        depth = prefix.count("/")
        files[f"{prefix}methode.html"] = env.get_template("method.html").render(
            **context, view=views.METHOD, root="../" * depth, here="methode.html", sub="").encode("utf-8")
        files[f"{prefix}fiches/index.html"] = env.get_template("sheets.html").render(
            **context, view=views.SHEETS, root="../" * (depth + 1), here="fiches/index.html", sub="../").encode("utf-8")
        for code, entry in data["indicators"].items():
            files[f"{prefix}fiches/{code}.html"] = env.get_template("sheet.html").render(
                **context, view=views.SHEETS, root="../" * (depth + 1), here=f"fiches/{code}.html", sub="../",
                code=code, entry=entry, figures=_sheet_rows(data, code),
                source_ids=sorted({r["s"] for r in data["rows"] if r["i"] == code}),
                breakdowns=_breakdown_names(inputs.catalogue, code, language),
                spec=next(s for s in inputs.catalogue["indicators"] if s["code"] == code),
                reasons=data["reasons"], dims=data["dimensions"]).encode("utf-8")
    script = "window.BAROMETRE = " + json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + ";\n"
    files[f"{ASSETS}/data.js"] = script.encode("utf-8")
    static = resources.files("barometre_pipeline.publish.site") / "static"
    for name in ("site.js", "site.css"):
        files[f"{ASSETS}/{name}"] = (static / name).read_bytes()
    files[f"{ASSETS}/vega.js"], versions = _vega_bundle()
    files[f"{ASSETS}/LICENCES.txt"] = VEGA_LICENCE.format(versions=versions).encode("utf-8")
    return files


def _vega_bundle() -> tuple[bytes, str]:
    """The offline Vega bundle the vl-convert-python wheel ships (no CDN, no npm at build time)."""
    import vl_convert

    versions = (f"vega {vl_convert.get_vega_version()}, vega-lite {vl_convert.get_vegalite_versions()[-1]}, "
                f"vega-embed {vl_convert.get_vega_embed_version()}")
    return vl_convert.javascript_bundle().encode("utf-8"), versions


RETIRED_EXPORTS = ("dashboard",)


def retire_previous_dashboard(export_dir: Path) -> list[Path]:
    """Remove the single-page dashboard an older version published beside the exports: the site
    replaces it, and a stale page next to it would keep showing last year's figures."""
    removed = []
    for name in RETIRED_EXPORTS:
        for path in (Path(export_dir) / name, Path(export_dir) / VERSIONS_DIR / name):
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            else:
                continue
            removed.append(path)
    return removed


def write_site(export_dir: Path, data_dir: Path) -> Path:
    """Generate the site into ``<export_dir>/site`` atomically; returns the index page path."""
    inputs = load_inputs(export_dir, data_dir)
    files = render_site(inputs)
    with publish_atomically(Path(export_dir), SITE_DIR) as staging:
        for relative, content in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        for relative, source in inputs.downloads.items():
            target = staging / DOWNLOADS / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    retire_previous_dashboard(Path(export_dir))
    return Path(export_dir) / SITE_DIR / "index.html"
