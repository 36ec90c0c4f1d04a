"""Hostile inputs through the whole pipeline (issue 5): the shipped data plus nine small public
microdata sources, each with one quirk (see fixtures/hostile_sources/make_hostile_sources.py).

One pipeline run for the module. What must hold: the run completes, readable sources publish,
the unreadable one fails its own `readable` check only, every planted problem lands in quarantine
with file, line, field and reason, rows are conserved per source, and no planted identifier or
respondent id reaches any published byte.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from barometre_pipeline_tests.pipeline.conftest import PipelineRun, copy_data, run_pipeline

FIXTURE = Path(__file__).parent.parent / "fixtures" / "hostile_sources"
RAW = FIXTURE / "raw" / "hostile"
ROWS = 60  # pupils per hostile file (make_hostile_sources.ROWS)
READABLE = [
    "hostile_answers", "hostile_bom_crlf", "hostile_cp1252_decimal_comma", "hostile_duplicated_ids",
    "hostile_free_text_pii", "hostile_mapped_pii", "hostile_truncated", "hostile_xlsx_merged_header",
]
UNREADABLE = "hostile_unreadable"
# Planted in the fixture files (make_hostile_sources.py): none may be published.
PLANTED_IDENTIFIERS = [
    "camille.durand.hx@example.org", "06 71 82 93 04", "ecole-hx.fr",
    "lea.petit.hx@example.net", "07 45 56 67 78", "moi.hx@mail-hx.fr",
]
RESPONDENT_ID = re.compile(rb"ELV-[A-Z]+-\d{4}")


@pytest.fixture(scope="module")
def run(tmp_path_factory, session_monkeypatch) -> PipelineRun:
    data_dir = copy_data(tmp_path_factory.mktemp("hostile") / "data")
    for manifest in (FIXTURE / "sources").glob("*.yaml"):
        shutil.copy(manifest, data_dir / "sources")
    shutil.copytree(RAW, data_dir / "raw" / "hostile")
    return run_pipeline(data_dir, session_monkeypatch)


def _query(run: PipelineRun, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).df()


def _physical_line(file: Path, needle: str, occurrence: int = 1, encoding: str = "utf-8") -> int:
    """1-based physical line of the n-th line holding ``needle`` (what rejects must point to)."""
    lines = file.read_bytes().decode(encoding).split("\n")
    hits = [number for number, line in enumerate(lines, start=1) if needle in line]
    return hits[occurrence - 1]


def _check(run: PipelineRun, asset: str, name: str):
    found = [e for e in run.result.get_asset_check_evaluations()
             if e.asset_key.to_user_string() == asset and e.check_name == name]
    assert len(found) == 1, f"check {asset}:{name} evaluated {len(found)} times"
    return found[0]


def test_the_run_completes_and_every_readable_source_publishes(run):
    assert run.result.success
    table = run.indicators()
    totals = table[(table["indicator_code"] == "CV_ANY") & (table["breakdown"] == "_T")]
    published = set(totals.loc[totals["estimate"].notna(), "source_id"])
    assert set(READABLE) <= published
    assert UNREADABLE not in set(table["source_id"])
    # The shipped sources still publish beside the hostile ones.
    assert {"pilot_orleans_tours_2025", "pilot_quebec_2026"} <= published
    assert {"public", "scientific", "pilot"} <= set(table["source_family"])


def test_cp1252_decimal_commas_are_read_as_numbers(run):
    source = pd.read_csv(RAW / "cp1252_decimal_comma.csv", sep=";", decimal=",", encoding="cp1252",
                         dtype={"N° élève": str})
    staged = _query(run, "SELECT screen_time_hours, design_weight, cv_any "
                         "FROM staging.hostile_cp1252_decimal_comma ORDER BY _source_line")
    assert len(staged) == len(source) == ROWS
    assert staged["screen_time_hours"].tolist() == source["Heures d'écran"].tolist()
    assert staged["design_weight"].tolist() == source["Poids de l'élève"].tolist()
    # The published estimate is the weighted share computed independently from the file.
    victim = (source["Victime en ligne ?"] == "Oui").to_numpy()
    expected = (source["Poids de l'élève"] * victim).sum() / source["Poids de l'élève"].sum()
    table = run.indicators()
    row = table[(table["source_id"] == "hostile_cp1252_decimal_comma")
                & (table["indicator_code"] == "CV_ANY") & (table["breakdown"] == "_T")].iloc[0]
    assert row["estimate"] == pytest.approx(expected, rel=1e-9)
    assert row["n_unweighted"] == ROWS


def test_merged_two_row_xlsx_header_maps_its_columns(run):
    sheet = openpyxl.load_workbook(RAW / "merged_header.xlsx", read_only=True).active
    rows = [r for r in sheet.iter_rows(min_row=5, values_only=True) if r[0]]
    expected_insults = [r[3] for r in rows]
    staged = _query(run, "SELECT sex, level, cv_insults, cv_any FROM staging.hostile_xlsx_merged_header "
                         "ORDER BY _source_line")
    assert len(staged) == len(rows) == ROWS
    assert staged["cv_insults"].tolist() == expected_insults
    assert staged["sex"].tolist() == [r[1] for r in rows]
    assert staged["level"].tolist() == [r[2] for r in rows]
    assert staged["cv_any"].tolist() == [v > 0 for v in expected_insults]


def test_the_unreadable_file_fails_its_own_check_naming_the_file(run):
    readable = _check(run, f"raw/status/{UNREADABLE}", "readable")
    assert not readable.passed
    assert "unreadable.csv" in readable.metadata["error"].value
    assert "PNG" in readable.metadata["error"].value
    others = [e for e in run.result.get_asset_check_evaluations()
              if e.check_name == "readable" and e.asset_key.to_user_string() != f"raw/status/{UNREADABLE}"]
    assert others and all(e.passed for e in others)
    # The other checks of the unreadable source do not block the rest of the barometer.
    assert _check(run, "consolidated/indicators", "privacy_guarantees").passed


def _rejects(run: PipelineRun) -> pd.DataFrame:
    hostile = "WHERE source_id LIKE 'hostile_%'"
    staging = run.per_source("quarantine", "rejects", hostile)
    reading = run.per_source("quarantine", "read_rejects", hostile)
    columns = ["source_id", "file", "line", "field", "value", "reason"]
    return pd.concat([staging[columns], reading[columns]], ignore_index=True)


def _expected_rejects() -> list[tuple[str, str, int, str | None, str]]:
    def line(file: str, needle: str, occurrence: int = 1) -> int:
        return _physical_line(RAW / file, needle, occurrence)

    return [
        # (source, file, line, field, fragment of the reason)
        ("hostile_bom_crlf", "raw/hostile/bom_crlf.csv", line("bom_crlf.csv", "ELV-BOM-0020"),
         "Sexe", "value map of `sex`"),
        ("hostile_truncated", "raw/hostile/truncated.csv", line("truncated.csv", "ELV-TRC-0030"),
         None, "too many fields"),
        ("hostile_truncated", "raw/hostile/truncated.csv", line("truncated.csv", "ELV-TRC-0059"),
         None, "truncated line"),
        ("hostile_duplicated_ids", "raw/hostile/duplicated_ids.csv",
         line("duplicated_ids.csv", "ELV-DUP-0007", occurrence=2), "id", "duplicated respondent id"),
        ("hostile_mapped_pii", "raw/hostile/mapped_pii.csv", line("mapped_pii.csv", "lea.petit.hx"),
         "Établissement", "direct identifier detected: e-mail address"),
        ("hostile_mapped_pii", "raw/hostile/mapped_pii.csv", line("mapped_pii.csv", "07 45 56 67 78"),
         "Établissement", "direct identifier detected: phone number"),
        ("hostile_mapped_pii", "raw/hostile/mapped_pii.csv", line("mapped_pii.csv", "moi.hx@"),
         "sexe", "value map of `sex`"),
        ("hostile_answers", "raw/hostile/answers.csv", line("answers.csv", "ELV-ANS-0008"),
         "âge", "`age` out of range [9, 21]"),
        ("hostile_answers", "raw/hostile/answers.csv", line("answers.csv", "ELV-ANS-0024"),
         "heures d'écran", "`screen_time_hours` out of range [0, 24]"),
    ]


def test_every_planted_problem_is_quarantined_with_file_line_field_and_reason(run):
    rejects = _rejects(run)
    for source, file, line, field, reason in _expected_rejects():
        hits = rejects[(rejects["source_id"] == source) & (rejects["file"] == file)
                       & (rejects["line"] == line)]
        assert len(hits) == 1, f"{source} line {line}: {hits.to_dict('records')} in\n{rejects}"
        hit = hits.iloc[0]
        assert reason in hit["reason"], (source, line, hit["reason"])
        if field is None:
            assert pd.isna(hit["field"]) or hit["field"] in ("", "None")
        else:
            assert hit["field"] == field
    # Sources whose quirk is only a format (encoding, BOM, merged header, free text) lose no row.
    assert not set(rejects["source_id"]) & {"hostile_cp1252_decimal_comma",
                                            "hostile_xlsx_merged_header", "hostile_free_text_pii"}


def test_the_contradictory_answer_is_rejected(run):
    # Row 16 answered "never" to every item but named Snapchat as where it happened.
    line = _physical_line(RAW / "answers.csv", "ELV-ANS-0016")
    rejects = _rejects(run)
    hits = rejects[(rejects["source_id"] == "hostile_answers") & (rejects["line"] == line)]
    assert len(hits) == 1, (
        "the contradiction (no cyberviolence, yet a platform named) was not quarantined: "
        "staging.contradictions.contradictory_answers is not called by stage_microdata")
    assert hits.iloc[0]["field"] in {"Snapchat", "platform_snapchat"}
    assert "contradict" in hits.iloc[0]["reason"]
    counts = _query(run, 'SELECT * FROM quarantine."row_counts__hostile_answers"')
    assert counts[["input_rows", "staged_rows", "rejected_rows"]].values.tolist() == [[ROWS, 57, 3]]


def test_input_rows_equal_staged_plus_rejected_for_every_source(run):
    counts = run.per_source("quarantine", "row_counts").set_index("source_id")
    assert set(READABLE) | {UNREADABLE} <= set(counts.index)
    for source_id, row in counts.iterrows():
        assert row["input_rows"] == row["staged_rows"] + row["rejected_rows"], source_id
        staged = _query(run, f"SELECT count(*) AS n FROM staging.{source_id}")["n"].iloc[0]
        assert row["staged_rows"] == staged, source_id
    for source_id in READABLE:
        assert counts.loc[source_id, "input_rows"] == ROWS, source_id
    rejects = _rejects(run)
    by_line = rejects.drop_duplicates(["source_id", "file", "line"]).groupby("source_id").size()
    for source_id in READABLE:
        assert counts.loc[source_id, "rejected_rows"] == by_line.get(source_id, 0), source_id
    assert counts.loc[UNREADABLE, ["input_rows", "staged_rows"]].tolist() == [0, 0]


def _published_bytes(export_dir: Path) -> dict[str, bytes]:
    """Every published file as searchable bytes: raw bytes, plus decoded Parquet cells and
    decompressed zip members (compression would hide a string from a plain byte search)."""
    found: dict[str, bytes] = {}
    for path in sorted(p for p in export_dir.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".parquet":
            data += pq.read_table(path).to_pandas().to_csv(index=False).encode("utf-8")
        elif path.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                data += b"".join(archive.read(name) for name in archive.namelist())
        found[str(path.relative_to(export_dir))] = data
    return found


def test_no_planted_identifier_or_respondent_id_is_published(run):
    # The planted values really are in the inputs, so their absence below means something.
    inputs = b"".join(p.read_bytes() for p in RAW.glob("*.csv"))
    for planted in PLANTED_IDENTIFIERS:
        assert planted.encode() in inputs
    assert len(set(RESPONDENT_ID.findall(inputs))) > 6 * ROWS

    published = _published_bytes(run.export_dir)
    kinds = {Path(name).suffix for name in published}
    assert {".parquet", ".zip", ".html", ".json"} <= kinds
    # The hostile sources are in what we search (else the search proves nothing).
    assert any(b"hostile_free_text_pii" in data for data in published.values())
    for name, data in published.items():
        for planted in PLANTED_IDENTIFIERS:
            assert planted.encode() not in data, f"{planted} published in {name}"
        assert not RESPONDENT_ID.search(data), f"respondent id published in {name}"


def test_identifiers_and_free_text_never_reach_staging(run):
    staged = _query(run, "SELECT * FROM staging.hostile_free_text_pii")
    assert len(staged) == ROWS
    text = staged.astype(str).to_csv(index=False)
    assert "@" not in text and "06 71 82 93 04" not in text
    assert not RESPONDENT_ID.search(text.encode())
    # Reject reports mask what they quote.
    values = " ".join(_rejects(run)["value"].dropna().astype(str))
    for planted in ("lea.petit.hx@example.net", "07 45 56 67 78", "moi.hx@mail-hx.fr"):
        assert planted not in values
