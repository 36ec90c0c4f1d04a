"""Header variants of the DEPP files and of questionnaire exports resolve to canonical columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from barometre_pipeline.sources.manifest import ColumnMap, ReadOptions
from barometre_pipeline.sources.readers import (
    SourceReadError,
    normalise_header,
    read_source_file,
    resolve_columns,
)

VINTAGES = Path(__file__).resolve().parents[1] / "fixtures" / "depp_vintages"

# One manifest mapping for all three DEPP header styles: wording differences are declared as
# aliases, spelling differences (accents, case, underscores) are absorbed by normalisation.
DEPP_COLUMNS = {
    "uai": ColumnMap(source="Numéro du collège", aliases=["numero_lycee"]),
    "girls_6e": ColumnMap(
        source="6èmes filles", aliases=["Nombre de 6èmes filles"], required=False
    ),
    "girls_2nde_gt": ColumnMap(source="2ndes GT filles", required=False),
    "pupils": ColumnMap(source="Nombre d'élèves total", aliases=["nombre_d_eleves"]),
}


def read_vintage(name: str):
    return read_source_file(VINTAGES / name, ReadOptions(), display_name=name)


def test_accented_2022_collège_headers():
    result = read_vintage("college_2022_accented_headers.csv")
    assert result.encoding == "utf-8-sig"
    mapping = resolve_columns(list(result.frame.columns), DEPP_COLUMNS, "college_2022")
    assert mapping == {
        "uai": "Numéro du collège",
        "girls_6e": "6èmes filles",
        "pupils": "Nombre d'élèves total",
    }
    assert list(result.frame["Numéro du collège"]) == ["0180673J", "0180023C", "0180567U"]


def test_nombre_de_headers_resolve_through_the_declared_alias_to_the_same_values():
    modern = read_vintage("college_2022_accented_headers.csv")
    older = read_vintage("college_nombre_de_headers.csv")
    mapping = resolve_columns(list(older.frame.columns), DEPP_COLUMNS, "college_nombre_de")
    assert mapping["girls_6e"] == "Nombre de 6èmes filles"
    assert list(older.frame[mapping["girls_6e"]]) == list(modern.frame["6èmes filles"])


def test_snake_case_lycée_headers_match_after_normalisation_and_aliases():
    result = read_vintage("lycee_gt_2022_snake_case_headers.csv")
    mapping = resolve_columns(list(result.frame.columns), DEPP_COLUMNS, "lycee_gt")
    assert mapping == {
        "uai": "numero_lycee",
        "girls_2nde_gt": "2ndes_gt_filles",
        "pupils": "nombre_d_eleves",
    }
    assert result.frame[mapping["girls_2nde_gt"]].str.fullmatch(r"\d+").all()


def test_a_different_wording_is_not_matched_without_an_alias():
    columns = ["Nombre de 6èmes filles", "Numéro du collège"]
    maps = {"girls_6e": ColumnMap(source="6èmes filles")}
    with pytest.raises(SourceReadError) as caught:
        resolve_columns(columns, maps, "depp_2019.csv")
    message = str(caught.value)
    assert "depp_2019.csv" in message
    assert "girls_6e" in message
    assert "'6èmes filles'" in message
    assert "Nombre de 6èmes filles" in message  # offered as the closest header


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("\ufeffSexe", "sexe"),
        ("  NOMBRE   D'ÉLÈVES  total ", "nombre d eleves total"),
        ("nombre_d_eleves_total", "nombre d eleves total"),
        ("Cœur", "coeur"),
        ("6ème\u00a0LV2", "6eme lv2"),
    ],
)
def test_normalise_header(header, expected):
    assert normalise_header(header) == expected


def test_source_is_preferred_over_aliases_and_exact_over_normalised():
    columns = ["sexe", "Sexe", "genre"]
    maps = {"sex": ColumnMap(source="Sexe", aliases=["genre"])}
    assert resolve_columns(columns, maps, "f.csv") == {"sex": "Sexe"}
    maps = {"sex": ColumnMap(source="Sex", aliases=["Genre", "sexe"])}
    assert resolve_columns(columns, maps, "f.csv") == {"sex": "genre"}


def test_a_header_matching_two_columns_only_after_normalisation_is_ambiguous():
    maps = {"sex": ColumnMap(source="SEXE")}
    with pytest.raises(SourceReadError, match=r"f\.csv.*`sex`.*several columns"):
        resolve_columns(["sexe", "Sexé"], maps, "f.csv")


def test_optional_missing_columns_are_left_out_and_bookkeeping_columns_never_match():
    maps = {
        "sex": ColumnMap(source="sexe"),
        "platform": ColumnMap(source="plateforme", required=False),
        "line": ColumnMap(source="_source_line", required=False),
    }
    columns = ["sexe", "_source_file", "_source_line"]
    assert resolve_columns(columns, maps, "f.csv") == {"sex": "sexe"}
