"""The indicator catalogue (data/indicators.yaml): what the barometer publishes and how."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_IDENTIFIER = re.compile(r"\b[a-z_][a-z0-9_]*\b")
_SQL_WORDS = {"and", "or", "not", "true", "false", "null", "is", "in", "between", "case", "when",
              "then", "else", "end", "coalesce"}


class CatalogueError(ValueError):
    pass


# Catalogue fields that document an indicator for readers (definition_fr is a field of its own).
DOCUMENTATION_FIELDS: tuple[str, ...] = (
    "definition_en", "question_fr", "question_qc", "question_en", "population_fr", "population_en",
    "limits_fr", "limits_en",
)


@dataclass(frozen=True)
class Indicator:
    code: str
    label_fr: str
    label_en: str
    numerator: str
    denominator: str
    unit: str
    theme: str
    breakdowns: tuple[str, ...]
    comparability: dict[str, str] | str
    definition_fr: str = ""
    sensitive: bool = False
    # Reader documentation (definition_en, question wording, population, limits): carried to the
    # data dictionary and the site's indicator sheets, never used in computation.
    documentation: dict[str, str] = field(default_factory=dict)

    def comparability_group(self, territory: str) -> str:
        if isinstance(self.comparability, dict):
            return self.comparability.get(territory, f"{self.code}_{territory}")
        return self.comparability

    def variables(self) -> set[str]:
        """Canonical variables the numerator and denominator use."""
        text = f"{self.numerator} {self.denominator}".lower()
        return {w for w in _IDENTIFIER.findall(text) if w not in _SQL_WORDS and not w.isdigit()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "label_fr": self.label_fr, "label_en": self.label_en,
            "definition_fr": self.definition_fr, "numerator": self.numerator,
            "denominator": self.denominator, "unit": self.unit, "theme": self.theme,
            "breakdowns": list(self.breakdowns), "comparability_group": self.comparability,
            "sensitive": self.sensitive, **self.documentation,
        }


@dataclass(frozen=True)
class Catalogue:
    indicators: tuple[Indicator, ...]
    breakdown_sets: dict[str, tuple[str, ...]]
    publication: dict[str, Any] = field(default_factory=dict)

    def by_code(self) -> dict[str, Indicator]:
        return {i.code: i for i in self.indicators}


def load_catalogue(path: Path) -> Catalogue:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"indicator catalogue {path} cannot be read: {exc}") from exc
    sets = {name: tuple(dims or []) for name, dims in (raw.get("breakdown_sets") or {}).items()}
    default = tuple(raw.get("default_breakdowns") or ["total"])
    indicators = []
    seen: set[str] = set()
    for position, spec in enumerate(raw.get("indicators") or []):
        where = f"indicator catalogue {path}: indicators[{position}]"
        for key in ("code", "label_fr", "label_en", "numerator", "unit"):
            if key not in spec:
                raise CatalogueError(f"{where}: missing field `{key}`")
        if spec["code"] in seen:
            raise CatalogueError(f"{where}: duplicate code {spec['code']!r}")
        seen.add(spec["code"])
        breakdowns = tuple(spec.get("breakdowns") or default)
        unknown = [b for b in breakdowns if b not in sets]
        if unknown:
            raise CatalogueError(f"{where} ({spec['code']}): unknown breakdown set(s) {unknown}")
        indicators.append(
            Indicator(
                code=spec["code"], label_fr=spec["label_fr"], label_en=spec["label_en"],
                numerator=str(spec["numerator"]), denominator=str(spec.get("denominator", "TRUE")),
                unit=spec["unit"], theme=spec.get("theme", ""), breakdowns=breakdowns,
                comparability=spec.get("comparability_group", spec["code"]),
                definition_fr=spec.get("definition_fr", ""),
                sensitive=bool(spec.get("sensitive", False)),
                documentation={k: str(spec[k]) for k in DOCUMENTATION_FIELDS if spec.get(k)},
            )
        )
    return Catalogue(tuple(indicators), sets, dict(raw.get("publication") or {}))
