"""Reading the per-wave results of the pilot family's steps and checks in tests.

A step or check of the partitioned pilot family that ran several waves in one run records one
result whose metadata holds each wave's figures under ``waves`` (keyed by source id) and, for a
check, the ``failed_waves``; a run of one wave records that wave's figures directly."""

from __future__ import annotations


def wave_metadata(event, source_id: str) -> dict:
    """One wave's metadata (plain values) from a check evaluation or materialisation."""
    metadata = {key: getattr(value, "value", value) for key, value in event.metadata.items()}
    waves = metadata.get("waves")
    if waves is None:
        return metadata
    return waves[source_id]


def failed_waves(evaluation) -> set[str]:
    value = evaluation.metadata["failed_waves"].value
    return set() if value == "none" else set(value.split(", "))
