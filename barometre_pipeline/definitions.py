"""The `barometre_pipeline` code location: `dg dev` (or `dagster dev -w workspace.yaml`).

Assets are generated from the source manifests found in BAROMETRE_DATA_DIR at load time; a broken
manifest stops loading with a message naming the file and field.
"""


import os

import dagster as dg

from barometre_pipeline.defs.analysis import (
    ANALYSIS_ASSETS,
    build_effects_assets,
    build_restricted_assets,
)
from barometre_pipeline.defs.checks import build_checks
from barometre_pipeline.defs.consolidated import build_consolidated_assets
from barometre_pipeline.defs.exports import EXPORT_ASSETS
from barometre_pipeline.defs.jobs import build_automation, nightly_refresh
from barometre_pipeline.defs.observations import build_observed_inputs
from barometre_pipeline.defs.report import REPORT_ASSETS
from barometre_pipeline.defs.resources import build_resources
from barometre_pipeline.defs.site import SITE_ASSETS
from barometre_pipeline.defs.sources import build_source_assets
from barometre_pipeline.settings import load_settings
from barometre_pipeline.sources.manifest import load_manifests


def _executor() -> dg.ExecutorDefinition:
    # One process per step costs seconds each on a 2-core machine and DuckDB takes one writer
    # anyway: in-process by default, multiprocess (or k8s/celery in a deployment) by choice.
    if os.environ.get("BAROMETRE_EXECUTOR", "in_process") == "multiprocess":
        return dg.multiprocess_executor
    return dg.in_process_executor


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    manifests = load_manifests(settings.data_dir)
    assets = [
        *build_observed_inputs(manifests),
        *build_source_assets(manifests),
        *build_consolidated_assets(manifests),
        *ANALYSIS_ASSETS,
        *build_effects_assets(manifests),
        *build_restricted_assets(manifests),
        *EXPORT_ASSETS,
        *SITE_ASSETS,
        *REPORT_ASSETS,
    ]
    nightly_schedule, raw_files_sensor = build_automation(manifests)
    return dg.Definitions(
        assets=assets,
        asset_checks=build_checks(manifests),
        jobs=[nightly_refresh],
        schedules=[nightly_schedule],
        sensors=[raw_files_sensor],
        resources=build_resources(settings, sql_trace=os.environ.get("BAROMETRE_SQL_TRACE", "")),
        executor=_executor(),
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Built when Dagster loads the code location (`dg`, `dagster dev`), not on import, so that
    `barometre materialize` builds it once, with the environment of the run."""
    return build_definitions()
