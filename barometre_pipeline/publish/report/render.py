"""Render a report model to one self-contained HTML file and one PDF (Typst), and publish the three
reports with their traceability lists atomically under ``<export dir>/report/``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import typst

from barometre_pipeline.publish.atomic import publish_atomically
from barometre_pipeline.publish.report.blocks import ReportModel, Table
from barometre_pipeline.publish.report.build import SCOPES, Scope, load_texts
from barometre_pipeline.publish.report.document import build_report
from barometre_pipeline.publish.report.tables import PublishedTables, load_published_tables
from barometre_pipeline.publish.report.trace import Tracer

REPORT_DIR = "report"
# Columns whose text is long (citations, reasons, definitions) get more room in the PDF.
WIDE_COLUMNS = {"Source": 3.0, "Verdict": 2.2, "Raison principale": 2.2, "Groupe": 1.4, "Définition": 4.0, "Adresse": 2.4,
                "Licence": 1.8, "Référence": 1.6, "Pilote": 1.8, "Indicateur": 2.2}


def typst_string(value: object) -> str:
    """A Typst string literal: nothing inside it can be read as markup or code."""
    text = str(value)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{text}"'


def typst_text(value: object) -> str:
    """Data as markup-safe Typst: the string literal, embedded."""
    text = str(value)
    # Long URLs break after their separators rather than overflow a column.
    if "://" in text:
        for sep in "/.?&=_-":
            text = text.replace(sep, sep + "\u200b")
        text = text.replace("\u200b/\u200b/", "//")
    return f"#({typst_string(text)})"


def column_widths(table: Table) -> list[float]:
    if table.widths:
        return table.widths
    widths = [WIDE_COLUMNS.get(c, 1.0) for c in table.columns]
    if widths[0] == 1.0:
        widths[0] = 2.4
    return widths


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("barometre_pipeline.publish.report", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",),
                                            default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=False, lstrip_blocks=False,
        keep_trailing_newline=True)
    env.filters["t"] = typst_text
    env.filters["s"] = typst_string
    env.filters["widths"] = column_widths
    return env


def render_html(model: ReportModel, annex_title: str) -> str:
    return _environment().get_template("report.html.j2").render(model=model,
                                                                 annex_title=annex_title)


def render_typst(model: ReportModel, annex_title: str) -> str:
    return _environment().get_template("report.typ.j2").render(model=model,
                                                                annex_title=annex_title)


def compile_pdf(model: ReportModel, source: str) -> bytes:
    """Compile the Typst source with the figures beside it; only the fonts embedded in the typst
    wheel are used, so the PDF is the same on every machine."""
    with tempfile.TemporaryDirectory(prefix="barometre-report-") as build:
        root = Path(build)
        for section in _all_sections(model.sections):
            for block in section.blocks:
                if block.kind == "figure" and block.figure.svg:
                    (root / f"{block.figure.anchor}.svg").write_text(block.figure.svg,
                                                                    encoding="utf-8")
        (root / "report.typ").write_text(source, encoding="utf-8")
        return typst.compile(str(root / "report.typ"), root=str(root), ignore_system_fonts=True,
                             timestamp=document_timestamp())


def document_timestamp(environ: Mapping[str, str] | None = None) -> int:
    """The PDF's creation date, fixed so that one day's builds of the same tables are the same
    bytes (typst would otherwise stamp the current second): SOURCE_DATE_EPOCH when set (the
    reproducible-builds convention), else today at 00:00 UTC."""
    env = os.environ if environ is None else environ
    if env.get("SOURCE_DATE_EPOCH", "").strip().isdigit():
        return int(env["SOURCE_DATE_EPOCH"])
    today = datetime.now(UTC).date()
    return int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp())


def _all_sections(sections):
    for section in sections:
        yield section
        yield from _all_sections(section.subsections)


@dataclass(frozen=True)
class RenderedReport:
    scope: Scope
    html: str
    pdf: bytes
    typst_source: str
    tracer: Tracer


def render_report(tables: PublishedTables, scope: Scope) -> RenderedReport:
    model, tracer = build_report(tables, scope)
    annex_title = load_texts()["titles"]["annexe"]
    source = render_typst(model, annex_title)
    return RenderedReport(scope, render_html(model, annex_title), compile_pdf(model, source),
                          source, tracer)


def report_file_names(scope: Scope) -> dict[str, str]:
    stem = f"rapport_{scope.slug}"
    return {"html": f"{stem}.html", "pdf": f"{stem}.pdf", "trace_json": f"{scope.slug}.trace.json",
            "trace_csv": f"{scope.slug}.trace.csv"}


def write_reports(export_dir: Path, data_dir: Path,
                  scopes: tuple[Scope, ...] = SCOPES) -> list[Path]:
    """Render every report from the published tables and swap ``<export_dir>/report`` in at once."""
    tables = load_published_tables(export_dir, data_dir)
    rendered = [render_report(tables, scope) for scope in scopes]
    written = []
    with publish_atomically(Path(export_dir), REPORT_DIR) as staging:
        for report in rendered:
            names = report_file_names(report.scope)
            (staging / names["html"]).write_text(report.html, encoding="utf-8")
            (staging / names["pdf"]).write_bytes(report.pdf)
            (staging / names["trace_json"]).write_text(report.tracer.to_json(), encoding="utf-8")
            (staging / names["trace_csv"]).write_text(report.tracer.to_csv(), encoding="utf-8")
            written += [Path(export_dir) / REPORT_DIR / n for n in names.values()]
    return written
