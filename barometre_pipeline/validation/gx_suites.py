"""Great Expectations 1.x suites for what schemas cannot say, run on an ephemeral context.

GX is imported lazily inside :func:`run_suite` (its import alone costs seconds), and never through
`dagster-ge`, which is pinned to GX < 1.0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Expectation:
    """A GX expectation by class name and keyword arguments, e.g.
    Expectation("ExpectColumnValuesToBeBetween", {"column": "estimate", "min_value": 0})."""

    name: str
    kwargs: dict[str, Any]
    why: str = ""


@dataclass
class SuiteOutcome:
    success: bool
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [r for r in self.results if not r["success"]]


def run_suite(frame: pd.DataFrame, suite_name: str, expectations: list[Expectation]) -> SuiteOutcome:
    if not expectations:
        return SuiteOutcome(True)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("barometre")
        .add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    suite = gx.ExpectationSuite(name=suite_name)
    for expectation in expectations:
        suite.add_expectation(getattr(gx.expectations, expectation.name)(**expectation.kwargs))
    validation = batch.validate(suite)
    results = []
    for expectation, result in zip(expectations, validation.results, strict=True):
        details = result.result or {}
        results.append({
            "expectation": result.expectation_config.type,
            "kwargs": {k: v for k, v in expectation.kwargs.items()},
            "why": expectation.why,
            "success": bool(result.success),
            "observed_value": _plain(details.get("observed_value")),
            "unexpected_count": details.get("unexpected_count"),
            "unexpected_percent": details.get("unexpected_percent"),
            "failure_cases": [_plain(v) for v in (details.get("partial_unexpected_list") or [])[:10]],
        })
    return SuiteOutcome(bool(validation.success), results)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
