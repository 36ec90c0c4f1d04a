"""Raw questionnaire-tool exports of the synthetic respondents, with the tools' quirks.

France: ``;``-separated CSV, UTF-8 with BOM, CRLF line ends, French headers, answers as text,
decimal comma, a mostly empty free-text column, a few "Je ne sais pas" and blank answers.
Québec: an XLSX workbook (sheet "Réponses") with a title line above the header row, numbers as
numeric cells, Québec wording and another column order.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from barometre_pipeline.simulate.outcomes import DONT_KNOW, NOT_ASKED
from barometre_pipeline.simulate.questionnaire import (
    DONT_KNOW_TEXT,
    FREQUENCY_FR,
    FREQUENCY_QC,
    NO,
    YES,
    Question,
    questions_for,
)

QUEBEC_SHEET = "Réponses"
QUEBEC_HEADER_ROW = 1  # 0-based: row 0 is the tool's title line
# Yes/no questions where some pupils answer "Je ne sais pas" (share of those asked).
DONT_KNOW_SHARE = {
    "social_media_before_13": 0.03, "knows_helpline": 0.02, "author_known": 0.02,
    "bullied_in_person": 0.01, "feels_unsafe": 0.01, "self_harm_ideation": 0.02,
}
# Numeric questions left blank by some pupils.
BLANK_SHARE = {"first_smartphone_age": 0.03, "screen_time_hours": 0.02, "who5_score": 0.02, "age": 0.005}
FREE_TEXT_SHARE = 0.03
FREE_TEXT_ANSWERS = (
    "Non merci",
    "c'est bien de poser ces questions",
    "Le questionnaire est trop long; vraiment trop",
    "J'aimerais qu'il y ait plus d'ateliers au collège",
    "Rien à dire",
    'Les adultes disent "parlez-en" mais personne n\'écoute',
    "Il faudrait plus de surveillance\nsur les groupes de classe",
)


def _labels(codes: np.ndarray, mapping: dict, blank: str = "") -> np.ndarray:
    """Answer text for integer codes; codes missing from the mapping become ``blank``."""
    lookup_min = min(min(mapping), NOT_ASKED, DONT_KNOW)
    lookup_max = max(mapping)
    table = np.full(lookup_max - lookup_min + 1, blank, dtype=object)
    for code, text in mapping.items():
        table[code - lookup_min] = text
    return table[codes.astype(np.int64) - lookup_min]


def _with_dont_know(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    values = values.astype(np.int8).copy()
    asked = values >= 0
    values[asked & (rng.random(len(values)) < share)] = DONT_KNOW
    return values


def _blanked(rng: np.random.Generator, values: np.ndarray, share: float) -> pd.Series:
    series = pd.Series(values).astype("Float64" if values.dtype.kind == "f" else "Int64")
    series[rng.random(len(values)) < share] = pd.NA
    return series


def _submission_times(rng: np.random.Generator, wave: str, n: int) -> pd.Series:
    # The pilot runs from mid-January to the end of April of the wave year, school hours.
    start = pd.Timestamp(f"{wave}-01-13 08:00:00")
    day = rng.integers(0, 105, n)
    seconds = rng.integers(0, 9 * 3600, n)
    return pd.Series(start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s"))


def _school_column(respondents: pd.DataFrame, schools: pd.DataFrame, column: str) -> np.ndarray:
    return schools[column].to_numpy()[respondents["school_index"].to_numpy()]


def _canonical_values(question: Question, respondents: pd.DataFrame, schools: pd.DataFrame,
                      rng: np.random.Generator) -> pd.Series | np.ndarray:
    name = question.canonical
    if name == "design_weight":
        return respondents["design_weight"].to_numpy()
    if name == "fpc":
        return respondents["schools_in_stratum"].to_numpy()
    if name == "fpc2":
        # The school's enrolment in the frame (DEPP for France; simulated sizes for Québec),
        # the second stage's population: pupils are a simple random sample within the school.
        return _school_column(respondents, schools, "pupils")
    if name in ("school_id", "stratum", "level", "sex"):
        return respondents[name].astype(str).to_numpy()
    if name in ("departement", "sector", "priority_education"):
        return _school_column(respondents, schools, name)
    if name == "region_qc":
        codes = _school_column(respondents, schools, "region_qc")
        names = _school_column(respondents, schools, "region_name")
        return pd.Series(codes).str.cat(pd.Series(names), sep=" - ").to_numpy()
    values = respondents[name].to_numpy()
    if question.kind == "yes_no":
        values = _with_dont_know(rng, values, DONT_KNOW_SHARE.get(name, 0.0))
        return _labels(values, {1: YES, 0: NO, DONT_KNOW: DONT_KNOW_TEXT})
    if question.kind in ("int", "float"):
        return _blanked(rng, values, BLANK_SHARE.get(name, 0.0))
    return values


def answer_table(respondents: pd.DataFrame, schools: pd.DataFrame, territory: str, wave: str,
                 rng: np.random.Generator) -> pd.DataFrame:
    """The export as a table: one row per respondent, the tool's headers, in submission order."""
    n = len(respondents)
    # Tools list answers in submission order, which mixes schools and levels.
    respondents = respondents.iloc[rng.permutation(n)].reset_index(drop=True)
    submitted = _submission_times(rng, wave, n).sort_values(ignore_index=True)
    frequency = FREQUENCY_FR if territory.startswith("FR") else FREQUENCY_QC
    columns: dict[str, object] = {}
    first_id = int(rng.integers(1000, 9000))
    for question in questions_for(territory):
        header = question.header
        if question.kind == "meta":
            if header in ("ID réponse", "Numéro de fiche"):
                ids = np.arange(first_id, first_id + n)
                columns[header] = ids if territory.startswith("FR") else pd.Series(ids).map(
                    lambda i, w=wave: f"QC{w}-{i:06d}")
            elif header in ("Date de soumission", "Horodatage"):
                columns[header] = submitted
            elif header == "Adresse IP":
                # Documentation-only address ranges (RFC 5737): never a real pupil's address.
                prefix = np.array(["192.0.2.", "198.51.100.", "203.0.113."], dtype=object)
                columns[header] = prefix[rng.integers(0, 3, n)] + rng.integers(1, 255, n).astype(str).astype(object)
            elif header == "Dernière page":
                columns[header] = np.where(rng.random(n) < 0.98, 6, 5)
            elif header == "Langue de départ":
                columns[header] = "fr"
            elif header == "Courriel":
                columns[header] = ""
            continue
        if question.canonical is None:  # free text
            text = np.full(n, "", dtype=object)
            chosen = rng.random(n) < FREE_TEXT_SHARE
            text[chosen] = np.array(FREE_TEXT_ANSWERS, dtype=object)[
                rng.integers(0, len(FREE_TEXT_ANSWERS), int(chosen.sum()))]
            columns[header] = text
            continue
        values = _canonical_values(question, respondents, schools, rng)
        if question.kind == "frequency":
            values = _labels(np.asarray(values), frequency)
        elif question.kind == "category" and question.answers is not None:
            values = pd.Series(values).map(question.answers).fillna("").to_numpy()
        columns[header] = values
    return pd.DataFrame(columns)


def _french_text_columns(table: pd.DataFrame) -> pa.Table:
    """Arrow table with decimal commas and French dates, ready for the CSV writer."""
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    columns = []
    for column in arrow.columns:
        if pa.types.is_floating(column.type):
            column = pc.replace_substring(pc.cast(pc.round(column, 4), pa.string()), ".", ",")
        elif pa.types.is_timestamp(column.type):
            column = pc.strftime(pc.cast(column, pa.timestamp("s")), format="%d/%m/%Y %H:%M:%S")
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            # An unanswered question is an empty cell, not a quoted empty string.
            column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
        columns.append(column)
    return pa.table(columns, names=arrow.column_names)


def write_france_csv(table: pd.DataFrame, path: Path) -> Path:
    """``;``-separated, UTF-8 with BOM, CRLF, decimal comma, dates as dd/mm/yyyy hh:mm:ss.

    Text answers are quoted (as LimeSurvey-style tools do); Arrow's writer keeps a million rows
    within seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    options = pa_csv.WriteOptions(delimiter=";", eol="\r\n", quoting_header="none")
    with path.open("wb") as handle:
        handle.write(codecs.BOM_UTF8)
        pa_csv.write_csv(_french_text_columns(table), handle, options)
    return path


def write_quebec_xlsx(table: pd.DataFrame, path: Path, title: str, wave_date: datetime) -> Path:
    """XLSX with a title line, then the header row, then one row per respondent."""
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(QUEBEC_SHEET)
    sheet.append([title])
    sheet.append(list(table.columns))
    columns = []
    for name in table.columns:
        column = table[name]
        if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) and column.dtype.kind in "iuf":
            columns.append(column.astype(object).where(column.notna(), None).tolist())
        elif column.dtype.kind == "M":
            columns.append([value.to_pydatetime() for value in column])
        else:
            columns.append(column.tolist())
    for row in zip(*columns, strict=True):
        sheet.append([None if v is pd.NA else v for v in row])
    workbook.save(path)
    _freeze_zip_timestamps(path, wave_date)
    return path


def _freeze_zip_timestamps(path: Path, stamp: datetime) -> None:
    """Rewrite the workbook with fixed document and zip-entry dates: same seed, same bytes."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + iso, data)
            frozen = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            frozen.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(frozen, data)
