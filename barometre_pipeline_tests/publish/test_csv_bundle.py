"""CSV bundles: French spreadsheet format and headers, percentages to 0.1, comparisons, effects and
provenance in their own files, no executable formula, reproducible zips."""

from __future__ import annotations

import csv
import io
import zipfile

import pandas as pd
import pytest
import yaml

from barometre_pipeline.publish.csv_bundle import (
    format_cell,
    neutralise_formula,
    percent,
    rounded,
    significant,
    write_csv_bundles,
)
from barometre_pipeline.publish.dictionary import build_data_dictionary
from barometre_pipeline.settings import PROJECT_ROOT

CODEBOOK = yaml.safe_load((PROJECT_ROOT / "data" / "codebook.yaml").read_text(encoding="utf-8"))

# One comparison and two effects for FR-OT, shaped as the published `comparisons` / `effects`.
COMPARISONS = pd.DataFrame([{
    "indicator_code": "CV_ANY", "territory_pilot": "FR-OT", "period_pilot": "2025", "source_id_pilot": "pilot_ot_2025",
    "estimate_pilot": 0.31249, "ci_low_pilot": 0.2812, "ci_high_pilot": 0.3451, "source_id_reference": "depp_climat_scolaire",
    "territory_reference": "FR", "period_reference": "2022", "estimate_reference": 0.28, "ci_low_reference": None,
    "ci_high_reference": None, "sex": "_T", "grade_group": "COLLEGE", "comparability_group_pilot": "G",
    "comparability_group_reference": "G", "same_definition": True, "difference": 0.03249, "se_difference": 0.01,
    "verdict": "indicative", "verdict_fr": "indicatif : incertitude de la référence inconnue",
    "reason": "même définition ; référence signalée : SOURCE_SECONDAIRE", "territory_relation": "pilot_within_reference",
    "p_value": 0.0012345, "q_value": 0.0024, "test": "z", "provenance": "{}",
}])
EFFECTS = pd.DataFrame([
    {"effect_code": "PILOT_DIFF_WHO5_LOW_CV_ANY", "label_fr": "Écart de bien-être faible", "label_en": "Gap", "source_id": "pilot_ot_2025",
     "source_family": "pilot", "territory": "FR-OT", "period": "2025", "exposure": "CV_ANY", "outcome": "WHO5_LOW",
     "measure": "difference", "estimate": -0.05649, "se": 0.01, "ci_low": -0.0761, "ci_high": -0.0369, "p_value": 1.37e-5,
     "q_value": 2.1e-5, "df": 40.0, "n_unweighted": 4113, "adjusted_for": None, "reference_group": "cv_any=false",
     "comparability_group": None, "counterpart": None, "interpretation_fr": "une association, pas un effet",
     "quality_flags": None, "provenance": "{}", "cell": "sex=F;level=3E", "significant": True, "suppressed": False},
    {"effect_code": "PILOT_OR_CV_ANY_SCREEN_TIME_HIGH", "label_fr": "Rapport de cotes", "label_en": "OR", "source_id": "pilot_ot_2025",
     "source_family": "pilot", "territory": "FR-OT", "period": "2025", "exposure": "SCREEN_TIME_HIGH", "outcome": "CV_ANY",
     "measure": "adjusted_odds_ratio", "estimate": 1.345831, "se": 0.07, "ci_low": 1.168277, "ci_high": 1.550371, "p_value": 0.04,
     "q_value": None, "df": 40.0, "n_unweighted": 4113, "adjusted_for": "sex, grade_group", "reference_group": "screen_time_high=false",
     "comparability_group": None, "counterpart": None, "interpretation_fr": "association", "quality_flags": None,
     "provenance": "{}", "cell": "_T", "significant": True, "suppressed": False},
])


def _bundles(tmp_path, indicators_frame, catalogue, **tables):
    return write_csv_bundles(indicators_frame, tmp_path, build_data_dictionary(catalogue), codebook=CODEBOOK, **tables)


def _rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def _member(tmp_path, territory: str, name: str) -> bytes:
    with zipfile.ZipFile(tmp_path / "csv" / f"barometre_{territory}_v1.zip") as archive:
        return archive.read(name)


def test_one_zip_per_territory_with_csvs_provenance_dictionary_and_readme(tmp_path, indicators_frame, catalogue):
    paths = _bundles(tmp_path, indicators_frame, catalogue, effects=EFFECTS, comparisons=COMPARISONS)
    assert sorted(p.name for p in paths) == sorted(f"barometre_{t}_v1.zip" for t in set(indicators_frame["territory"]))
    with zipfile.ZipFile(tmp_path / "csv" / "barometre_FR-OT_v1.zip") as archive:
        assert set(archive.namelist()) == {"indicateurs.csv", "comparaisons.csv", "effets.csv", "provenance.csv", "LISEZMOI.txt",
                                           "data_dictionary.json", "data_dictionary.md", "data_dictionary.html"}
        raw = archive.read("indicateurs.csv")
        readme = archive.read("LISEZMOI.txt").decode("utf-8-sig")
    with zipfile.ZipFile(tmp_path / "csv" / "barometre_INT_v1.zip") as archive:
        assert "comparaisons.csv" not in archive.namelist() and "effets.csv" not in archive.namelist()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n")[0].decode("utf-8")
    assert header.startswith("Code indicateur;Indicateur;Source;Famille de source;Territoire;")
    assert "Estimation;IC 95 % borne basse;IC 95 % borne haute" in header and "provenance" not in header
    assert "," not in header and header.count(";") >= 20
    assert b"\n" not in raw.replace(b"\r\n", b"")
    rows = _rows(raw)
    assert {r["Code territoire"] for r in rows} == {"FR-OT"} and {r["Territoire"] for r in rows} == {"Académie d'Orléans-Tours"}
    assert len(rows) == (indicators_frame["territory"] == "FR-OT").sum()
    for text in ("Licence Ouverte 2.0", "SYNTHÉTIQUES", "point-virgule", "POURCENTAGES", "comparaisons.csv",
                 "effets.csv", "provenance.csv", "Associations, pas effets", "jamais un zéro"):
        assert text in readme, text


def test_percentages_to_one_decimal_labels_and_withheld_reasons(tmp_path, indicators_frame, catalogue):
    _bundles(tmp_path, indicators_frame, catalogue)
    rows = _rows(_member(tmp_path, "FR-OT", "indicateurs.csv"))
    headline = next(r for r in rows if r["Code indicateur"] == "CV_ANY" and r["Estimation"] == "31,2")
    assert headline["IC 95 % borne basse"] == "28,1" and headline["Non publiée"] == "non" and headline["Sexe"] == "Ensemble"
    assert headline["Unité"] == "pourcentage"
    withheld = next(r for r in rows if r["Sexe"] == "Autre / ne se prononce pas")
    assert withheld["Estimation"] == "" and withheld["Non publiée"] == "oui" and withheld["Répondants (n)"] == "15"
    assert withheld["Raison de non-publication"] == (
        "fiabilité : moins de 30 répondants (norme NCHS 2017), chiffre trop imprécis")
    sensitive = next(r for r in rows if r["Code indicateur"] == "CV_INTIMATE")
    assert sensitive["Raison de non-publication"] == (
        "fiabilité : indicateur sensible, moins de 100 répondants (règle renforcée)")
    ratio = next(r for r in _rows(_member(tmp_path, "INT", "indicateurs.csv")) if r["Code indicateur"] == "DEPRESSION_OR")
    assert ratio["Estimation"] == "3,38" and ratio["Unité"] == "rapport de cotes"


@pytest.mark.parametrize(("proportion", "shown"), [
    (0.28449, 28.4), (0.2845, 28.5), (0.28451, 28.5),  # both sides of the half: half rounds away from zero
    (0.0, 0.0), (1.0, 100.0), (0.99951, 100.0), (0.00049, 0.0),
])
def test_percent_rounds_to_a_tenth_half_away_from_zero(proportion, shown):
    assert percent(proportion) == shown


def test_rounding_keeps_the_sign_and_missing_values():
    assert rounded(-5.649, 1) == -5.6 and rounded(-5.65, 1) == -5.7 and rounded(None, 1) is None
    assert percent(float("nan")) is None
    assert significant(1.37e-5) == 1.37e-5 and format_cell(significant(1.37e-5)) == "0,0000137"


def test_comparisons_and_effects_in_french_with_points_and_verdicts(tmp_path, indicators_frame, catalogue):
    _bundles(tmp_path, indicators_frame, catalogue, effects=EFFECTS, comparisons=COMPARISONS)
    comparison = _rows(_member(tmp_path, "FR-OT", "comparaisons.csv"))[0]
    assert comparison["Pilote (%)"] == "31,2" and comparison["Référence (%)"] == "28" and comparison["Écart (points de %)"] == "3,2"
    assert comparison["Verdict"] == "indicatif : incertitude de la référence inconnue"
    assert comparison["Valeur q"] == "0,0024" and comparison["Cycle"] == "Collège"
    assert "SOURCE_SECONDAIRE" not in comparison["Raison"] and "source secondaire" in comparison["Raison"]
    effects = _rows(_member(tmp_path, "FR-OT", "effets.csv"))
    gap = next(r for r in effects if r["Code effet"] == "PILOT_DIFF_WHO5_LOW_CV_ANY")
    assert gap["Estimation"] == "-5,6" and gap["IC 95 % borne basse"] == "-7,6" and gap["Mesure"] == "écart (points de %)"
    assert gap["Cellule"] == "Sexe = Filles ; Niveau = 3e" and gap["Valeur p"] == "0,0000137" and gap["Significatif"] == "oui"
    odds = next(r for r in effects if r["Code effet"] == "PILOT_OR_CV_ANY_SCREEN_TIME_HIGH")
    assert odds["Estimation"] == "1,35" and odds["IC 95 % borne haute"] == "1,55" and odds["Valeur q"] == ""


def test_provenance_has_its_own_file_without_run_ids(tmp_path, indicators_frame, catalogue):
    _bundles(tmp_path, indicators_frame, catalogue)
    provenance = _rows(_member(tmp_path, "FR-OT", "provenance.csv"))
    assert [r["Source"] for r in provenance] == ["pilot_ot_2025"]
    assert provenance[0]["Version du code"] == "0.1.0" and "sha256" not in provenance[0]["Fichiers d'entrée (sha256)"].lower()[:6]
    assert provenance[0]["Fichiers d'entrée (sha256)"].startswith("raw/")
    raw = _member(tmp_path, "FR-OT", "provenance.csv")
    assert b"fixture-run" not in raw and b"dagster_run_id" not in raw


def test_a_planted_formula_label_comes_out_neutralised(tmp_path, indicators_frame, catalogue):
    _bundles(tmp_path, indicators_frame, catalogue)
    rows = _rows(_member(tmp_path, "FR-OT", "indicateurs.csv"))
    label = next(r["Indicateur"] for r in rows if r["Code indicateur"] == "CV_THREATS")
    assert label.startswith("'=HYPERLINK(")
    every_cell = [v for r in rows for v in r.values()]
    assert not [v for v in every_cell if v[:1] in ("=", "+", "@", "\t", "\r")]


def test_only_text_cells_are_neutralised():
    assert neutralise_formula("-2+3") == "'-2+3"
    assert neutralise_formula("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise_formula("\tx") == "'\tx"
    assert neutralise_formula("Victime") == "Victime"
    assert format_cell(-0.25) == "-0,25"
    assert format_cell(-3) == "-3"
    assert format_cell(1e-05) == "0,00001"
    assert format_cell(True) == "oui" and format_cell(None) == "" and format_cell(float("nan")) == ""


def test_reruns_give_byte_identical_zips(tmp_path, indicators_frame, catalogue):
    first = [p.read_bytes() for p in sorted(_bundles(tmp_path / "a", indicators_frame, catalogue, effects=EFFECTS, comparisons=COMPARISONS))]
    shuffled = indicators_frame.sample(frac=1.0, random_state=7)
    second = [p.read_bytes() for p in sorted(_bundles(tmp_path / "b", shuffled, catalogue, effects=EFFECTS.iloc[::-1], comparisons=COMPARISONS))]
    assert first == second
