"""The site's building blocks without a browser: reader wording of codes, the withheld-value guard,
the map projection, number formats."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from barometre_pipeline.publish.atomic import publish_atomically
from barometre_pipeline.publish.site import labels
from barometre_pipeline.publish.site.build import retire_previous_dashboard
from barometre_pipeline.publish.site.formatting import count, percent
from barometre_pipeline.publish.site.geo import load_map
from barometre_pipeline.publish.site.payload import SiteInputError, indicator_rows
from barometre_pipeline.settings import PROJECT_ROOT


@pytest.mark.parametrize(("reason", "expected", "short"), [
    ("reliability:n<30;reliability:effective_n<30",
     "fiabilité : moins de 30 répondants (norme NCHS 2017), chiffre trop imprécis", "trop peu de répondants"),
    # Secrecy is the more telling reason when a cell has both.
    ("reliability:n<30;confidentiality:n<5",
     "secret statistique : moins de 5 répondants, le chiffre pourrait décrire des élèves identifiables",
     "trop peu de répondants"),
    ("confidentiality:schools<3", "secret statistique : répondants issus de moins de 3 établissements, le chiffre "
                                  "décrirait un établissement", "trop peu d'établissements"),
    ("reliability:effective_n<30", "fiabilité : taille d'échantillon effective (répondants ÷ effet de plan) "
                                   "inférieure à 30", "trop peu d'information"),
    ("complementary:CV_ANY|sex=F", "secret statistique : masqué pour qu'une autre case confidentielle ne puisse "
                                   "pas être recalculée", "secret statistique"),
    ("reliability:relative_ci_width>130%", "fiabilité : intervalle de confiance trop large par rapport à "
                                           "l'estimation (norme NCHS 2017)", "estimation trop imprécise"),
    ("reliability:ci_width>=0.3", "fiabilité : intervalle de confiance trop large (largeur d'au moins 0,3 sur "
                                  "l'échelle 0-1)", "estimation trop imprécise"),
    ("reliability:sensitive_n<100", "fiabilité : indicateur sensible, moins de 100 répondants (règle renforcée)",
     "indicateur sensible, règle renforcée non remplie"),
    # A code the vocabulary does not know (or an old one) never reaches readers as a code.
    ("something_new", "non publié en application des règles de publication", "règles de publication"),
    ("n_unweighted<30", "non publié en application des règles de publication", "règles de publication"),
])
def test_withheld_reasons_read_as_words_not_codes(reason, expected, short):
    worded = labels.withheld_reason(reason)
    assert worded["fr"] == expected and worded["fr_short"] == short
    assert worded["en"] and worded["en_short"]
    assert "_" not in worded["fr"] + worded["en"] and "|" not in worded["fr"] + worded["en"]


def test_comparison_reasons_lose_group_codes_and_keep_bracketed_intervals():
    reason = ("définitions différentes (groupe CV_ITEM_PILOT pour le pilote, CV_INSULTS_SCHOOLYEAR_FR_DEPP pour la "
              "référence) ; intervalle de la référence non publié : la valeur (24,9 %) est dans l'intervalle du pilote "
              "[23,5 % ; 30,0 %] ; couvre cv_insults OU cv_nicknames du pilote. ; référence signalée : SOURCE_SECONDAIRE")
    worded = labels.comparison_reason(reason)
    assert worded["fr"] == ("définitions différentes ; intervalle de la référence non publié : la valeur (24,9 %) est "
                            "dans l'intervalle du pilote [23,5 % ; 30,0 %] ; référence signalée : chiffre repris d'une "
                            "source secondaire (presse, synthèse)")
    assert worded["en"] == "different definitions; reference interval not published; secondary source"


def test_a_withheld_row_carrying_a_value_is_refused():
    frame = pd.DataFrame([{
        "indicator_code": "CV_ANY", "source_id": "pilot_x", "source_family": "pilot", "territory": "FR-OT",
        "period": "2026", "breakdown": "sex", "sex": "X", "level": "_T", "age_band": "_T", "grade_group": "_T",
        "departement": "_T", "sector": "_T", "priority_education": "_T", "estimate": 0.31, "ci_low": None,
        "ci_high": None, "se": None, "n_unweighted": 12, "unit": "proportion", "reliability": "suppressed",
        "suppressed": True, "suppression_reason": "confidentiality:n<5", "comparability_group": "G",
        "quality_flags": None, "provenance": "{}"}])
    with pytest.raises(SiteInputError, match=r"export `indicators`, row 0: withheld row has a value in `estimate`"):
        indicator_rows(frame)
    frame.loc[0, "estimate"] = None
    rows, reasons = indicator_rows(frame)
    assert rows[0]["e"] is None and rows[0]["n"] is None and rows[0]["w"] == "confidentiality:n<5"
    assert reasons["confidentiality:n<5"]["fr_short"] == "trop peu de répondants"
    assert rows[0]["k"] == "CV_ANY|pilot_x|2026|FR-OT|sex|X|_T|_T|_T|_T|_T|_T"


def test_the_six_departements_are_projected_inside_the_drawing():
    geography = load_map(PROJECT_ROOT / "data" / "geo" / "orleans_tours_departements.geojson")
    assert [s.code for s in geography.shapes] == ["18", "28", "36", "37", "41", "45"]
    assert geography.width == 400 and 300 < geography.height < 600
    for shape in geography.shapes:
        numbers = [float(v) for v in shape.path.replace("M", " ").replace("L", " ").replace("Z", " ").split()]
        xs, ys = numbers[0::2], numbers[1::2]
        assert 0 <= min(xs) and max(xs) <= geography.width and 0 <= min(ys) and max(ys) <= geography.height
        assert min(xs) < shape.label_x < max(xs) and min(ys) < shape.label_y < max(ys)
    # Eure-et-Loir is the northernmost département, Indre and Cher the southern ones.
    by_code = {s.code: s for s in geography.shapes}
    assert by_code["28"].label_y < by_code["45"].label_y < by_code["36"].label_y


def test_a_broken_outline_file_is_named(tmp_path):
    broken = tmp_path / "outlines.geojson"
    broken.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(ValueError, match=r"outlines.geojson: no feature"):
        load_map(broken)


@pytest.mark.parametrize(("value", "fr", "en"), [
    (0.26806, "26,8\u202f%", "26.8%"), (0.0, "0,0\u202f%", "0.0%"), (1.0, "100,0\u202f%", "100.0%"),
    (-0.0001, "0,0\u202f%", "0.0%"), (-0.0016, "\u22120,2\u202f%", "\u22120.2%"), (None, "–", "–"),
])
def test_percentages_read_the_french_and_english_way(value, fr, en):
    assert percent(value, "fr") == fr and percent(value, "en") == en


def test_counts_group_thousands():
    assert count(4108, "fr") == "4\u202f108" and count(4108, "en") == "4,108" and count(12, "fr") == "12"


def test_an_old_dashboard_export_is_retired_and_other_exports_kept(tmp_path):
    with publish_atomically(tmp_path, "dashboard") as staging:
        (staging / "index.html").write_text("<p>old page</p>")
    with publish_atomically(tmp_path, "csv") as staging:
        (staging / "keep.zip").write_bytes(b"zip")
    assert (tmp_path / "dashboard" / "index.html").exists()
    removed = retire_previous_dashboard(tmp_path)
    assert {p.name for p in removed} == {"dashboard"} and len(removed) == 2
    assert not (tmp_path / "dashboard").exists() and not (tmp_path / ".versions" / "dashboard").exists()
    assert (tmp_path / "csv" / "keep.zip").read_bytes() == b"zip"
    assert retire_previous_dashboard(tmp_path) == []
