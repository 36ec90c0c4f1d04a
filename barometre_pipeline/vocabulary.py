"""The codes every layer shares, defined once: totals, sex, source families, territories and their
labels, reject-table columns. No Dagster import; everything else imports from here.

Labels of coded variables also live in `data/codebook.yaml` (what respondents were asked); a test
keeps the two in agreement so a reader never sees two spellings of one code.
"""

from __future__ import annotations

from typing import Final

# SDMX total code: a dimension holds it where a row is not broken down by that dimension.
TOTAL: Final = "_T"
# A dimension value that was not answered (kept as its own domain, never dropped).
UNKNOWN: Final = "_U"

# Sex as asked: girls, boys, and a third option ("autre / ne se prononce pas").
SEX_GIRL: Final = "F"
SEX_BOY: Final = "M"
SEX_OTHER: Final = "X"
SEX_CODES: Final[tuple[str, ...]] = (SEX_GIRL, SEX_BOY, SEX_OTHER)
PUBLISHED_SEX_CODES: Final[tuple[str, ...]] = (*SEX_CODES, UNKNOWN, TOTAL)
SEX_LABELS: Final[dict[str, dict[str, str]]] = {
    SEX_GIRL: {"fr": "Filles", "en": "Girls"},
    SEX_BOY: {"fr": "Garçons", "en": "Boys"},
    SEX_OTHER: {"fr": "Autre / ne se prononce pas", "en": "Other / prefer not to say"},
    UNKNOWN: {"fr": "Non renseigné", "en": "Not answered"},
    TOTAL: {"fr": "Ensemble", "en": "All"},
}

# Source families: where a figure comes from.
FAMILY_PILOT: Final = "pilot"
FAMILY_PUBLIC: Final = "public"
FAMILY_SCIENTIFIC: Final = "scientific"
SOURCE_FAMILIES: Final[tuple[str, ...]] = (FAMILY_PILOT, FAMILY_PUBLIC, FAMILY_SCIENTIFIC)
REFERENCE_FAMILIES: Final[tuple[str, ...]] = (FAMILY_PUBLIC, FAMILY_SCIENTIFIC)
FAMILY_LABELS: Final[dict[str, dict[str, str]]] = {
    FAMILY_PILOT: {"fr": "Enquête pilote du baromètre", "en": "Barometer pilot survey"},
    FAMILY_PUBLIC: {"fr": "Statistique publique", "en": "Official statistics"},
    FAMILY_SCIENTIFIC: {"fr": "Publication scientifique", "en": "Scientific literature"},
}

# Territories (ISO 3166-2 style where one exists; FR-OT is the académie d'Orléans-Tours).
TERRITORY_ORLEANS_TOURS: Final = "FR-OT"
TERRITORY_QUEBEC: Final = "CA-QC"
PILOT_TERRITORIES: Final[tuple[str, ...]] = (TERRITORY_ORLEANS_TOURS, TERRITORY_QUEBEC)
TERRITORY_LABELS: Final[dict[str, dict[str, str]]] = {
    TERRITORY_ORLEANS_TOURS: {"fr": "Académie d'Orléans-Tours",
                              "en": "Orléans-Tours education authority"},
    TERRITORY_QUEBEC: {"fr": "Québec", "en": "Quebec"},
    "FR": {"fr": "France", "en": "France"},
    "CA": {"fr": "Canada", "en": "Canada"},
    "US": {"fr": "États-Unis", "en": "United States"},
    "INT": {"fr": "International", "en": "International"},
}
# Short file-name slugs of surveyed territories (exports, manifests, reports); FR is the national
# rollout scenario of the generator.
TERRITORY_SLUGS: Final[dict[str, str]] = {
    TERRITORY_ORLEANS_TOURS: "orleans_tours",
    TERRITORY_QUEBEC: "quebec",
    "FR": "france",
}

# Départements of the académie d'Orléans-Tours (INSEE codes).
DEPARTEMENT_LABELS: Final[dict[str, str]] = {
    "18": "Cher", "28": "Eure-et-Loir", "36": "Indre",
    "37": "Indre-et-Loire", "41": "Loir-et-Cher", "45": "Loiret",
}

# The rejects tables (quarantine): one row per failing field of a failing row.
REJECT_COLUMNS: Final[tuple[str, ...]] = ("source_id", "file", "line", "field", "value", "reason")


def label(mapping: dict[str, dict[str, str]], code: str, language: str = "fr") -> str:
    """A code's label in `language` ("fr" or "en"), or the code itself when it has none."""
    entry = mapping.get(code)
    return entry.get(language) or entry.get("fr") or code if entry else code
