"""The nightly job as a reconstructable target: multiprocess steps rebuild it from this module
(with the environment of the parent process, so the same settings and executor)."""

from __future__ import annotations

import dagster as dg


def nightly_refresh_job() -> dg.JobDefinition:
    from barometre_pipeline.definitions import build_definitions

    return build_definitions().resolve_job_def("nightly_refresh")
