"""Fixtures shared across test folders.

A full pipeline run on the shipped data takes a minute or two; the site and report tests read the
same outputs of a plain copy of ``data/``, so they share one run instead of making one each.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from barometre_pipeline_tests.pipeline.conftest import PipelineRun, copy_data, run_pipeline


@pytest.fixture(scope="session")
def plain_shipped_run(tmp_path_factory) -> Iterator[PipelineRun]:
    """One real run (every asset and check, in process) on an unchanged copy of the shipped data/."""
    patch = pytest.MonkeyPatch()
    try:
        yield run_pipeline(copy_data(tmp_path_factory.mktemp("shipped_plain") / "data"), patch)
    finally:
        patch.undo()
