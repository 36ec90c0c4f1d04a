"""Matching a file's header cells to the canonical columns a manifest declares.

The same DEPP table is published as "6èmes filles", "Nombre de 6èmes filles" or
``6emes_filles`` depending on the vintage, and questionnaire exports add BOMs, double spaces and
stray capitals. Spelling noise (case, accents, whitespace, BOM, punctuation and underscores) is
absorbed by :func:`normalise_header`; a different *wording* is only accepted when the manifest
declares it as an alias, so a column is never matched by a guess.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence

from barometre_pipeline.sources.manifest import ColumnMap
from barometre_pipeline.sources.read_result import SourceReadError

_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")
_INVISIBLE = str.maketrans({"\ufeff": None, "\u200b": None, "\u00ad": None})


def normalise_header(text: str) -> str:
    """Header text reduced to lowercase ASCII words: ``" Nombre d'Élèves_total\\ufeff"`` ->
    ``"nombre d eleves total"``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_INVISIBLE))
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # "œ" and "æ" have no decomposition; French headers use them ("Nombre d'œuvres").
    ascii_ish = without_accents.casefold().replace("œ", "oe").replace("æ", "ae")
    return _NOT_ALPHANUMERIC.sub(" ", ascii_ish).strip()


def deduplicate_headers(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Make header names unique by suffixing repeats ``"x (2)"``, ``"x (3)"``; also return a note per
    renamed column so the duplication is reported rather than hidden."""
    seen: dict[str, int] = {}
    taken = set(names)
    unique: list[str] = []
    notes: list[str] = []
    for position, name in enumerate(names, start=1):
        count = seen.get(name, 0) + 1
        seen[name] = count
        if count == 1:
            unique.append(name)
            continue
        candidate = f"{name} ({count})"
        while candidate in taken:
            count += 1
            candidate = f"{name} ({count})"
        taken.add(candidate)
        unique.append(candidate)
        notes.append(f"duplicated header {name!r}: column {position} renamed {candidate!r}")
    return unique, notes


def name_columns(
    raw_names: Sequence[str], column_has_data: Sequence[bool], notes: list[str]
) -> tuple[list[str], list[int]]:
    """Final column names and the positions kept, for a header read from a file.

    Unnamed columns are dropped when empty (the ``;;;`` that spreadsheets leave at the end of each
    line) and named ``column_<n>`` when they hold data; duplicated names are suffixed. Each change
    is added to ``notes``.
    """
    stripped = [name.strip() for name in raw_names]
    names: list[str] = []
    positions: list[int] = []
    dropped = 0
    for position, has_data in enumerate(column_has_data):
        name = stripped[position] if position < len(stripped) else ""
        if not name:
            if not has_data:
                # Room left for surplus empty fields beyond the header is not a column at all.
                dropped += position < len(stripped)
                continue
            name = f"column_{position + 1}"
            notes.append(f"column {position + 1} has no header but holds data: named {name!r}")
        names.append(name)
        positions.append(position)
    if dropped:
        notes.append(f"{dropped} unnamed empty column(s) dropped")
    unique, duplicate_notes = deduplicate_headers(names)
    notes.extend(duplicate_notes)
    return unique, positions


def _describe_expected(column_map: ColumnMap) -> str:
    expected = [repr(column_map.source)] + [repr(alias) for alias in column_map.aliases]
    return " or ".join(expected)


def _find_column(
    candidates: Sequence[str], columns: Sequence[str], by_normal_form: Mapping[str, list[str]]
) -> tuple[str | None, list[str]]:
    """The file column matching the first candidate that matches at all; exact spelling wins over
    a normalised match. Returns (column, ambiguous matches)."""
    exact = set(columns)
    for candidate in candidates:
        if candidate in exact:
            return candidate, []
        matches = by_normal_form.get(normalise_header(candidate), [])
        if len(matches) == 1:
            return matches[0], []
        if len(matches) > 1:
            return None, matches
    return None, []


def resolve_columns(
    columns: Sequence[str], column_maps: Mapping[str, ColumnMap], file: str
) -> dict[str, str]:
    """Canonical name -> the file's column, looking for ``source`` then each alias in order.

    A missing required column raises :class:`SourceReadError` naming the file, the canonical field
    and the headers that were expected; a missing optional column is left out of the result.
    Bookkeeping columns (``_source_file``, ``_source_line``) are never matched.
    """
    data_columns = [c for c in columns if not c.startswith("_source_")]
    by_normal_form: dict[str, list[str]] = {}
    for column in data_columns:
        by_normal_form.setdefault(normalise_header(column), []).append(column)

    resolved: dict[str, str] = {}
    for canonical, column_map in column_maps.items():
        candidates = [column_map.source, *column_map.aliases]
        column, ambiguous = _find_column(candidates, data_columns, by_normal_form)
        if ambiguous:
            raise SourceReadError(
                file,
                f"{file}: field `{canonical}`: header {_describe_expected(column_map)} matches "
                f"several columns once case, accents and punctuation are ignored: {ambiguous}; "
                "rename them in the file or declare the exact header in the manifest",
            )
        if column is not None:
            resolved[canonical] = column
            continue
        if column_map.required:
            close = difflib.get_close_matches(
                normalise_header(column_map.source), list(by_normal_form), n=3, cutoff=0.6
            )
            hint = ""
            if close:
                hint = "; closest headers in the file: " + ", ".join(
                    repr(by_normal_form[c][0]) for c in close
                )
            raise SourceReadError(
                file,
                f"{file}: required column for field `{canonical}` not found: expected header "
                f"{_describe_expected(column_map)}{hint} (add the file's spelling to `aliases` "
                "in the manifest if it is the same column)",
            )
    return resolved
