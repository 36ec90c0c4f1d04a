"""The analytical report as an asset group `report`: three reports (Orléans-Tours, Québec, both),
each as one self-contained HTML file, one PDF and its traceability list, under
``<export dir>/report/``, swapped in atomically.

It depends on the exports it reads (never the warehouse), so it is re-rendered whenever a
published table changes. The logic lives in ``barometre_pipeline.publish.report``.
"""

from __future__ import annotations

import dagster as dg

from barometre_pipeline.defs.code_versions import code_version
from barometre_pipeline.defs.keys import CATALOGUE, CODEBOOK, EXPORT_INDICATORS, REFERENCE
from barometre_pipeline.defs.resources import BarometrePaths
from barometre_pipeline.publish.report import write_reports

REPORT_KEY = dg.AssetKey(["report", "analytical_reports"])
REPORT_INPUTS = [
    EXPORT_INDICATORS,
    dg.AssetKey(["exports", "effects_parquet"]),
    dg.AssetKey(["exports", "comparisons_parquet"]),
    dg.AssetKey(["exports", "sources_parquet"]),
    CATALOGUE,
    CODEBOOK,
    REFERENCE,
]


@dg.asset(
    key=REPORT_KEY,
    deps=REPORT_INPUTS,
    group_name="report",
    kinds={"html", "pdf"},
    code_version=code_version("exports"),
    description="Analytical reports (French; Québec wording for Québec) in HTML and PDF, "
    "rendered from the published tables only, with the list of every number quoted and the "
    "export row it comes from (`<report>.trace.json` / `.csv`).",
)
def analytical_reports(paths: BarometrePaths) -> dg.MaterializeResult:
    settings = paths.settings()
    written = write_reports(settings.export_dir, settings.data_dir)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(settings.export_dir / "report")),
        "files": ", ".join(p.name for p in written),
    })


REPORT_ASSETS = [analytical_reports]
