"""The field actors' site as an export asset: ``<export dir>/site/``, swapped in atomically.

It reads only the published Parquet exports (indicators, effects, comparisons, sources) and the
CSV bundles and dictionary it links to, never the warehouse: what the site shows is exactly what
was published. The logic lives in ``barometre_pipeline.publish.site``.

The site ships and links the report PDFs, so it depends on the report asset: the graph says what
the site reads. A failing report therefore leaves the previous site in place (exports are swapped
atomically) until the report is fixed, rather than publishing a site that links stale reports.
"""

from __future__ import annotations

import dagster as dg

from barometre_pipeline.defs.code_versions import code_version
from barometre_pipeline.defs.keys import CATALOGUE, CODEBOOK, EXPORT_INDICATORS, REFERENCE
from barometre_pipeline.defs.report import REPORT_KEY
from barometre_pipeline.defs.resources import BarometrePaths
from barometre_pipeline.publish.site import write_site

SITE_KEY = dg.AssetKey(["exports", "site"])
SITE_INPUTS = [
    EXPORT_INDICATORS,
    dg.AssetKey(["exports", "effects_parquet"]),
    dg.AssetKey(["exports", "comparisons_parquet"]),
    dg.AssetKey(["exports", "sources_parquet"]),
    dg.AssetKey(["exports", "csv_bundles"]),
    dg.AssetKey(["exports", "data_dictionary"]),
    REPORT_KEY,
    CATALOGUE,
    CODEBOOK,
    REFERENCE,
]


@dg.asset(
    key=SITE_KEY,
    deps=SITE_INPUTS,
    group_name="exports",
    kinds={"html"},
    code_version=code_version("exports"),
    description="Static, offline, bilingual visualisation site for field actors (filters, map, "
    "charts with their data tables, indicator sheets, downloads), from the published exports.",
)
def site(paths: BarometrePaths) -> dg.MaterializeResult:
    settings = paths.settings()
    index = write_site(settings.export_dir, settings.data_dir)
    pages = sorted(p.relative_to(index.parent).as_posix() for p in index.parent.rglob("*.html"))
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(index)),
        "pages": len(pages),
    })


SITE_ASSETS = [site]
