"""What a run did, in a few lines: one progress line per asset while it runs, a summary at the end.

The progress logger replaces Dagster's console logger for `barometre materialize` (which would
print hundreds of DEBUG lines); the summary is built from the run's events.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg


def _event(record: logging.LogRecord):
    meta = getattr(record, "dagster_meta", None) or {}
    return meta.get("dagster_event")


def _plain(value):
    return getattr(value, "value", value)


def progress_line(event) -> str | None:
    """One line for an asset materialised, a check that failed, or a step that failed."""
    if event is None:
        return None
    kind = event.event_type_value
    if kind == "ASSET_MATERIALIZATION":
        materialization = event.event_specific_data.materialization
        metadata = materialization.metadata
        rows = metadata.get("dagster/row_count")
        extra = f" ({_plain(rows)} rows)" if rows is not None else ""
        if metadata.get("readable") is not None and not _plain(metadata["readable"]):
            extra += " — NOT READABLE: " + str(_plain(metadata.get("error", "")))
        return f"materialised {materialization.asset_key.to_user_string()}{extra}"
    if kind == "ASSET_CHECK_EVALUATION":
        evaluation = event.event_specific_data
        if not evaluation.passed:
            return (f"check FAILED {evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                    f" ({evaluation.severity.value.lower()})")
        return None
    if kind == "STEP_FAILURE":
        error = event.event_specific_data.error
        while error is not None and error.cause is not None:
            error = error.cause  # the exception the asset raised, not Dagster's wrapper
        message = error.message.strip().splitlines()[-1] if error else ""
        return f"step FAILED {event.step_key}: {message}"
    return None


class _ProgressHandler(logging.Handler):
    def __init__(self, stream) -> None:
        # Materialisation events arrive at DEBUG level: the handler picks the lines it prints.
        super().__init__(logging.DEBUG)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        line = progress_line(_event(record))
        if line is None and record.levelno >= logging.ERROR and _event(record) is None:
            line = f"error: {record.getMessage()}"
        if line:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(record.created))
            level = "ERROR" if "FAILED" in line or line.startswith("error") else "INFO"
            self.stream.write(f"{stamp} - barometre - {level} - {line}\n")
            self.stream.flush()


@dg.logger(description="One line per asset materialised, per failed check and per failed step.")
def progress_logger(_init_context) -> logging.Logger:
    logger = logging.getLogger("barometre.progress")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(_ProgressHandler(sys.stderr))
    return logger


@dataclass
class RunSummary:
    assets_materialised: int = 0
    steps_failed: list[str] = field(default_factory=list)
    steps_skipped: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    rows_input: int = 0
    rows_staged: int = 0
    rows_rejected: int = 0
    cells_published: int | None = None
    cells_withheld: int | None = None
    sources_not_updated: list[str] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    materialised_keys: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.steps_failed

    def lines(self) -> list[str]:
        cells = ("not re-published" if self.cells_published is None else
                 f"{self.cells_published} published, {self.cells_withheld} withheld")
        lines = [
            f"assets: {self.assets_materialised} materialised, {len(self.steps_failed)} steps "
            f"failed, {self.steps_skipped} skipped",
            f"checks: {self.checks_passed} passed, {len(self.checks_failed)} failed"
            + (f" ({', '.join(self.checks_failed)})" if self.checks_failed else ""),
            f"rows: {self.rows_input} input, {self.rows_staged} staged, {self.rows_rejected} "
            "rejected",
            f"indicator cells: {cells}",
        ]
        for source in self.sources_not_updated:
            lines.append(f"source NOT UPDATED: {source}")
        for step in self.steps_failed:
            lines.append(f"failed step: {step}")
        lines += [f"export: {path}" for path in self.exports]
        return lines


def summarise(events: Iterable) -> RunSummary:
    """Summary of a run from its Dagster events (``ExecuteInProcessResult.all_events``)."""
    summary = RunSummary()
    seen: set[str] = set()
    for event in events:
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            key = materialization.asset_key.to_user_string()
            summary.assets_materialised += 1
            summary.materialised_keys.append(key)
            if key in seen:
                # A step that ran several pilot waves records one materialisation per wave,
                # each with the metadata of all of them: count it once.
                continue
            seen.add(key)
            metadata = {k: _plain(v) for k, v in materialization.metadata.items()}
            by_source = metadata.get("waves") or {key.split("/")[-1]: metadata}
            for source_id, values in by_source.items():
                if key.startswith("staging/"):
                    summary.rows_input += int(values.get("input_rows", 0))
                    summary.rows_staged += int(values.get("staged_rows", 0))
                    summary.rows_rejected += int(values.get("rejected_rows", 0))
                if key.startswith("raw/status/") and values.get("readable") is False:
                    summary.sources_not_updated.append(f"{source_id}: {values.get('error', '')}")
            if key == "exports/indicators_parquet":
                summary.cells_published = int(metadata.get("published_cells", 0))
                summary.cells_withheld = int(metadata.get("withheld_cells", 0))
            if key.split("/")[0] in {"exports", "restricted", "report"} and "path" in metadata:
                summary.exports.append(str(metadata["path"]))
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.passed:
                summary.checks_passed += 1
            else:
                summary.checks_failed.append(name)
        elif kind == "STEP_FAILURE":
            summary.steps_failed.append(event.step_key)
        elif kind == "STEP_SKIPPED":
            summary.steps_skipped += 1
    return summary
