"""The canonical codebook (data/codebook.yaml): variables, types, allowed codes, missing answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class CodebookError(ValueError):
    pass


@dataclass(frozen=True)
class Variable:
    name: str
    type: str  # bool | int | float | category | ordinal | string
    label_fr: str
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    value_range: tuple[float, float] | None = None
    derived: bool = False
    sensitive: bool = False

    @property
    def allowed_codes(self) -> set[str]:
        return {str(k) for k in self.values}


@dataclass(frozen=True)
class Codebook:
    version: int
    variables: dict[str, Variable]
    missing_answers: frozenset[str]

    def __contains__(self, name: str) -> bool:
        return name in self.variables

    def __getitem__(self, name: str) -> Variable:
        return self.variables[name]

    def level_attribute(self, attribute: str) -> dict[str, Any]:
        """level code -> attribute (grade_group, typical_age, system...)."""
        return {code: spec.get(attribute) for code, spec in self["level"].values.items()}


def load_codebook(path: Path) -> Codebook:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CodebookError(f"codebook {path} cannot be read: {exc}") from exc
    variables: dict[str, Variable] = {}
    for name, spec in (raw.get("variables") or {}).items():
        if "type" not in spec:
            raise CodebookError(f"codebook {path}: variable `{name}` has no `type`")
        value_range = tuple(spec["range"]) if "range" in spec else None
        variables[name] = Variable(
            name=name,
            type=spec["type"],
            label_fr=spec.get("label_fr", name),
            values={str(k): (v or {}) for k, v in (spec.get("values") or {}).items()},
            value_range=value_range,  # type: ignore[arg-type]
            derived=bool(spec.get("derived", False)),
            sensitive=bool(spec.get("sensitive", False)),
        )
    return Codebook(
        version=int(raw.get("version", 1)),
        variables=variables,
        missing_answers=frozenset(str(m).strip().casefold() for m in raw.get("missing", [])),
    )
