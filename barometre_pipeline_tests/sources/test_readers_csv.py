"""Delimited-text reading: sniffing, headers, encodings, irregular rows and their line numbers."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from barometre_pipeline.sources.manifest import ReadOptions
from barometre_pipeline.sources.readers import SourceReadError, read_source_file

AUTO = ReadOptions()


def write(tmp_path: Path, data: bytes, name: str = "source.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_each_candidate_delimiter_is_sniffed_despite_other_candidates_in_quoted_text(
    tmp_path, delimiter
):
    others = "".join(d for d in [";", ",", "\t", "|"] if d != delimiter)
    lines = [
        delimiter.join(["id", "commentaire", "score"]),
        delimiter.join(["1", f'"a{others}b"', "3"]),
        delimiter.join(["2", f'"c{others}d"', "4"]),
    ]
    result = read_source_file(write(tmp_path, "\n".join(lines).encode()), AUTO)
    assert result.delimiter == delimiter
    assert list(result.frame["commentaire"]) == [f"a{others}b", f"c{others}d"]


def test_semicolon_file_with_decimal_commas_is_not_mistaken_for_a_comma_file(tmp_path):
    data = b"sexe;taux;n\nF;3,5;12\nM;12,25;8\nX;0,5;1\n"
    result = read_source_file(write(tmp_path, data), AUTO)
    assert (result.delimiter, result.decimal) == (";", ",")
    assert list(result.frame["taux"]) == ["3,5", "12,25", "0,5"]


def test_decimal_point_file_reports_point(tmp_path):
    result = read_source_file(write(tmp_path, b"a;b\n1.5;2\n3.25;4\n"), AUTO)
    assert result.decimal == "."


def test_explicit_options_override_detection(tmp_path):
    data = b"a|b\n1,5|2\n"
    options = ReadOptions(delimiter="|", decimal=".", encoding="utf-8")
    result = read_source_file(write(tmp_path, data), options)
    assert (result.delimiter, result.decimal, result.encoding) == ("|", ".", "utf-8")


def test_title_lines_above_the_header_are_skipped_and_lines_stay_physical(tmp_path):
    data = b"Export du 12/03/2024\n\nid;sexe;niveau\nR1;F;6E\nR2;M;5E\n"
    result = read_source_file(write(tmp_path, data), AUTO)
    assert result.header_row == 2
    assert list(result.frame.columns[:3]) == ["id", "sexe", "niveau"]
    assert list(result.frame["_source_line"]) == [4, 5]


def test_explicit_header_row_is_used(tmp_path):
    data = b"x;y\nid;sexe\nR1;F\n"
    result = read_source_file(write(tmp_path, data), ReadOptions(header_row=1))
    assert list(result.frame.columns[:2]) == ["id", "sexe"]
    assert list(result.frame["_source_line"]) == [3]


def test_header_row_beyond_the_file_names_the_file(tmp_path):
    with pytest.raises(SourceReadError, match="source.csv.*header"):
        read_source_file(write(tmp_path, b"a;b\n1;2\n"), ReadOptions(header_row=9))


def test_rows_ending_with_one_empty_field_more_than_the_header_are_kept(tmp_path):
    data = b"id;sexe\nR1;F;\nR2;M;\n"
    result = read_source_file(write(tmp_path, data), AUTO)
    assert result.rejects == []
    assert list(result.frame.columns) == ["id", "sexe", "_source_file", "_source_line"]


def test_rows_omitting_trailing_unnamed_columns_are_not_truncated(tmp_path):
    data = b"id;sexe;;\nR1;F\nR2;M;;\n"
    result = read_source_file(write(tmp_path, data), AUTO)
    assert result.rejects == []
    assert list(result.frame["sexe"]) == ["F", "M"]


def test_reject_line_numbers_count_line_breaks_inside_quoted_answers(tmp_path):
    data = b'id;texte\nR1;"une\ndeux\ntrois"\nR2;ok;trop\nR3;fin\nR4\n'
    result = read_source_file(write(tmp_path, data), AUTO)
    assert list(result.frame["id"]) == ["R1", "R3"]
    assert list(result.frame["_source_line"]) == [2, 6]
    assert [(r.line, r.reason) for r in result.rejects] == [
        (5, "too many fields: expected 2 fields, got 3"),
        (7, "truncated line: expected 2 fields, got 1"),
    ]
    assert result.input_rows == 4


def test_file_cut_inside_a_quoted_field_rejects_the_last_record(tmp_path):
    data = b'id;texte\nR1;ok\nR2;"commence\net ne finit'
    result = read_source_file(write(tmp_path, data), AUTO)
    assert list(result.frame["id"]) == ["R1"]
    assert len(result.rejects) == 1
    assert result.rejects[0].line == 3
    assert "unterminated quoted field" in result.rejects[0].reason
    assert result.input_rows == 2


def test_crlf_and_classic_mac_line_endings(tmp_path):
    for ending in (b"\r\n", b"\r"):
        data = ending.join([b"id;sexe", b"R1;F", b"R2;M"]) + ending
        result = read_source_file(write(tmp_path, data), AUTO)
        assert list(result.frame["sexe"]) == ["F", "M"]
        assert list(result.frame["_source_line"]) == [2, 3]


def test_utf16_excel_unicode_text_export(tmp_path):
    data = codecs.BOM_UTF16_LE + "id\tétablissement\r\nR1\tCollège\r\n".encode("utf-16-le")
    result = read_source_file(write(tmp_path, data, "export.txt"), AUTO)
    assert result.frame.loc[0, "établissement"] == "Collège"


def test_explicit_encoding_that_does_not_fit_names_file_offset_and_line(tmp_path):
    data = "id;nom\nR1;Élodie\n".encode("cp1252")
    with pytest.raises(SourceReadError) as caught:
        read_source_file(write(tmp_path, data), ReadOptions(encoding="utf-8"))
    message = str(caught.value)
    offset = data.index("É".encode("cp1252"))
    assert "source.csv" in message
    assert f"byte offset {offset}" in message
    assert "line 2" in message


def test_file_mixing_utf8_and_cp1252_is_refused_rather_than_garbled(tmp_path):
    data = "id;nom\nR1;Élodie\n".encode() + "R2;Gaëlle\n".encode("cp1252")
    with pytest.raises(SourceReadError, match=r"source\.csv.*line 3.*mixes encodings"):
        read_source_file(write(tmp_path, data), AUTO)


def test_unknown_encoding_and_bad_delimiter_name_the_manifest_field(tmp_path):
    path = write(tmp_path, b"a;b\n1;2\n")
    with pytest.raises(SourceReadError, match="read.encoding"):
        read_source_file(path, ReadOptions(encoding="klingon"))
    with pytest.raises(SourceReadError, match="read.delimiter"):
        read_source_file(path, ReadOptions(delimiter=";;"))


def test_text_full_of_control_characters_is_not_taken_for_a_csv(tmp_path):
    data = bytes(range(1, 9)) * 50
    with pytest.raises(SourceReadError, match="source.csv.*does not look like text"):
        read_source_file(write(tmp_path, data), AUTO)


def test_missing_file_and_legacy_xls_name_the_file(tmp_path):
    with pytest.raises(SourceReadError, match="absent.csv.*does not exist"):
        read_source_file(tmp_path / "absent.csv", AUTO)
    with pytest.raises(SourceReadError, match=r"old\.xls.*\.xlsx"):
        read_source_file(write(tmp_path, b"\xd0\xcf\x11\xe0rest", "old.xls"), AUTO)


def test_display_name_is_what_rows_and_rejects_carry(tmp_path):
    path = write(tmp_path, b"a;b\n1;2\n3\n")
    result = read_source_file(path, AUTO, display_name="raw/pilote/vague1.csv")
    assert set(result.frame["_source_file"]) == {"raw/pilote/vague1.csv"}
    assert [r.file for r in result.rejects] == ["raw/pilote/vague1.csv"]
    assert read_source_file(path, AUTO).frame["_source_file"].iloc[0] == "source.csv"
