"""The analytical report: three reports (Orléans-Tours, Québec, both) in HTML and PDF, rendered
from the published tables only, each with the list of the numbers it quotes and their export rows.
No Dagster import here; the asset lives in ``barometre_pipeline/defs/report.py``."""

from barometre_pipeline.publish.report.build import SCOPES, Scope
from barometre_pipeline.publish.report.render import REPORT_DIR, render_report, write_reports

__all__ = ["REPORT_DIR", "SCOPES", "Scope", "render_report", "write_reports"]
