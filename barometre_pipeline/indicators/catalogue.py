"""The indicator catalogue (data/indicators.yaml): what the barometer publishes and how."""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    # Labels worded for one territory ({territory code: {fr, en}}), e.g. the helpline each pilot
    # territory asked about; label_fr / label_en stay the territory-neutral labels.
    territory_labels: dict[str, dict[str, str]] = field(default_factory=dict)

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
            **({"territory_labels": self.territory_labels} if self.territory_labels else {}),
        }

    def label(self, language: str = "fr", territory: str | None = None) -> str:
        return indicator_label(self.as_dict(), language, territory)


def territory_and_parents(territory: str) -> list[str]:
    """A territory code, then the codes containing it: ``FR-OT`` -> [``FR-OT``, ``FR``]."""
    parts = territory.split("-")
    return ["-".join(parts[:end]) for end in range(len(parts), 0, -1)]


def indicator_label(spec: Mapping[str, Any], language: str = "fr", territory: str | None = None) -> str:
    """An indicator's label in ``language`` ("fr" or "en"), from a catalogue entry (the YAML
    mapping or ``Indicator.as_dict()``). With ``territory``, the entry's ``territory_labels`` for
    that territory or the nearest one containing it (FR-OT takes FR's) come first; without one, or
    where none applies, the territory-neutral ``label_fr`` / ``label_en``."""
    return territory_label(spec, language, territory) or str(spec[f"label_{language}"])


def territory_label(spec: Mapping[str, Any], language: str, territory: str | None) -> str | None:
    """The entry's label worded for ``territory`` (or the nearest territory containing it), or
    None when the catalogue words it the same everywhere."""
    own = spec.get("territory_labels") or {}
    for code in territory_and_parents(territory) if territory else []:
        if code in own:
            return str(own[code][language])
    return None


def _territory_labels(value: Any, where: str) -> dict[str, dict[str, str]]:
    """``territory_labels``: {territory code: {fr: text, en: text}}, both texts non-empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not value:
        raise CatalogueError(f"{where}: field `territory_labels` must map territory codes to "
                             f"{{fr, en}} labels, found {value!r}")
    labels = {}
    for territory, words in value.items():
        if not isinstance(words, Mapping) or set(words) != {"fr", "en"} or not all(
                isinstance(words[k], str) and words[k].strip() for k in ("fr", "en")):
            raise CatalogueError(f"{where}: field `territory_labels.{territory}` must have exactly "
                                 f"non-empty `fr` and `en` texts, found {words!r}")
        labels[str(territory)] = {"fr": words["fr"], "en": words["en"]}
    return labels


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
                territory_labels=_territory_labels(spec.get("territory_labels"), f"{where} ({spec['code']})"),
            )
        )
    return Catalogue(tuple(indicators), sets, dict(raw.get("publication") or {}))
