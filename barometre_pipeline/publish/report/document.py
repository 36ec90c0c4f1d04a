"""The report as a whole: its sections in reading order, with title, banner and colophon.

Sits above the builder (which formats and traces every number) and the sections (which read
through it), so neither has to import the other's caller.
"""

from __future__ import annotations

from barometre_pipeline.publish.report import sections
from barometre_pipeline.publish.report.blocks import ReportModel
from barometre_pipeline.publish.report.build import ReportBuilder, Scope
from barometre_pipeline.publish.report.tables import PublishedTables
from barometre_pipeline.publish.report.trace import Tracer

SECTIONS = (sections.summary, sections.sample, sections.methods, sections.results,
            sections.comparisons, sections.waves, sections.limits, sections.recommendations,
            sections.sources, sections.glossary)


def build_report(tables: PublishedTables, scope: Scope) -> tuple[ReportModel, Tracer]:
    """The report of one scope, and the trace of every number it quotes."""
    builder = ReportBuilder(tables, scope)
    built = [section(builder) for section in SECTIONS]
    model = ReportModel(
        slug=scope.slug, title=scope.title, subtitle=builder.subtitle(),
        territories=list(builder.territories), wording=scope.wording,
        banner=" ".join(builder.texts["banner_synthetic"].split()) if builder.synthetic() else "",
        sections=built, annex=builder.annex, short_title=builder.short_title(),
        colophon=builder.colophon())
    return model, builder.tracer
