"""Data dictionary: every column, every code, one sheet per catalogue indicator."""

from __future__ import annotations

import json

import pyarrow as pa

from barometre_pipeline.publish.contract import (
    CONTRACT_VERSION,
    INDICATORS_COLUMNS,
    RELIABILITY_CODES,
)
from barometre_pipeline.publish.dictionary import (
    build_data_dictionary,
    render_dictionary_html,
    render_dictionary_markdown,
    write_data_dictionary,
)
from barometre_pipeline.stats.publication import REASONS, reason_key
from barometre_pipeline.vocabulary import (
    FAMILY_LABELS,
    SEX_CODES,
    SEX_LABELS,
    SOURCE_FAMILIES,
    UNKNOWN,
)

CODEBOOK = {"variables": {"level": {"values": {"6E": {"fr": "6e", "en": "Grade 6 (FR)"}, "SEC1": {"fr": "Secondaire 1"}}}}}


def test_dictionary_documents_columns_codes_and_indicator_sheets(catalogue):
    effects = pa.schema([pa.field("effect_code", pa.string(), metadata={"description_fr": "Code de l'effet"})])
    dictionary = build_data_dictionary(catalogue, codebook=CODEBOOK, other_datasets={"effects": effects})
    assert dictionary["contract_version"] == CONTRACT_VERSION
    columns = dictionary["datasets"]["indicators"]["columns"]
    assert [c["name"] for c in columns] == [c.name for c in INDICATORS_COLUMNS]
    assert all(c["description_fr"] and c["description_en"] for c in columns)
    assert dictionary["datasets"]["effects"]["columns"][0]["description_fr"] == "Code de l'effet"
    codes = dictionary["codes"]
    assert "_T" in codes["total"] and set(codes["sex"]) == {"F", "M", "X", "_U"}
    assert set(codes["reliability"]) == set(RELIABILITY_CODES)
    assert set(codes["suppression_reason"]) == set(REASONS)
    # Every code the publication rules write is explained, in words and with its threshold.
    for written in ("reliability:n<30", "reliability:effective_n<30", "confidentiality:n<5",
                    "confidentiality:schools<3", "reliability:relative_ci_width>130%",
                    "reliability:ci_width>=0.3", "reliability:df<1", "complementary:CV_ANY|sex=X"):
        assert reason_key(written) in codes["suppression_reason"], written
        assert "{t}" not in codes["suppression_reason"][reason_key(written)]["fr"]
    assert codes["level"]["SEC1"]["fr"] == "Secondaire 1"
    sheets = {s["code"]: s for s in dictionary["indicators"]}
    assert set(sheets) == {e["code"] for e in catalogue}
    assert sheets["WHO5_LOW"]["denominator"] == "élèves ayant un score OMS-5"
    assert sheets["WHO5_LOW"]["other"] == {"publication": {"min_n": 30}}


def test_renderings_carry_the_same_content(tmp_path, catalogue):
    dictionary = build_data_dictionary(catalogue, codebook=CODEBOOK)
    markdown = render_dictionary_markdown(dictionary)
    page = render_dictionary_html(dictionary)
    for text in (markdown, page):
        assert "comparability_group" in text and "CV_ANY_SCHOOLYEAR" in text and "complementary" in text
    # A "|" in a catalogue text must not break the Markdown table; "<" must not open a tag.
    assert "OMS-5 < 13" in markdown and "OMS-5 &lt; 13" in page
    assert page.startswith("<!DOCTYPE html>") and 'lang="fr"' in page and "http" not in page.split("<body>")[0]
    written = write_data_dictionary(tmp_path, dictionary)
    assert sorted(p.name for p in written) == ["data_dictionary.html", "data_dictionary.json", "data_dictionary.md"]
    assert json.loads((tmp_path / "data_dictionary.json").read_text(encoding="utf-8")) == json.loads(json.dumps(dictionary))


def _shipped_dictionary() -> dict:
    import yaml

    from barometre_pipeline.indicators.catalogue import load_catalogue
    from barometre_pipeline.settings import PROJECT_ROOT

    catalogue = load_catalogue(PROJECT_ROOT / "data" / "indicators.yaml")
    codebook = yaml.safe_load((PROJECT_ROOT / "data" / "codebook.yaml").read_text(encoding="utf-8"))
    return build_data_dictionary([i.as_dict() for i in catalogue.indicators], codebook=codebook)


def test_every_shipped_indicator_has_a_real_definition_and_its_questions():
    sheets = _shipped_dictionary()["indicators"]
    assert len(sheets) == 38
    for sheet in sheets:
        for field in ("definition_fr", "definition_en"):
            text = sheet.get(field) or ""
            # A definition says who is counted over what: more than the label, in a sentence.
            assert len(text) > len(sheet["label_fr"]) + 20, f"{sheet['code']}: {field} missing or too short: {text!r}"
        for field in ("question_fr", "question_qc"):
            assert len(sheet.get(field) or "") >= 15, f"{sheet['code']}: {field} missing or too short"
        assert sheet["definition_fr"] != sheet["label_fr"] and sheet["definition_en"] != sheet["label_en"]


def test_html_dictionary_has_viewport_landmarks_and_a_contents_list():
    page = render_dictionary_html(_shipped_dictionary())
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    for landmark in ("<header>", '<nav aria-label="Sommaire">', "<main>", "<footer>"):
        assert landmark in page, landmark
    assert page.count("<main>") == 1 and '<a href="#CV_ANY">' in page and 'id="CV_ANY"' in page
    assert '<th scope="row">Définition</th>' in page and "Question posée au Québec" in page
    # Wide tables scroll in their own focusable region, never the page.
    assert 'class="table-wrap" tabindex="0" role="region"' in page


def test_dictionary_labels_are_the_vocabulary_labels(catalogue):
    # One spelling per code: the dictionary says what the site, the CSV bundles and the report say.
    codes = build_data_dictionary(catalogue, codebook=CODEBOOK)["codes"]
    assert codes["sex"] == {code: SEX_LABELS[code] for code in (*SEX_CODES, UNKNOWN)}
    assert codes["sex"]["F"]["fr"] == "Filles"  # the plural the report's tables print
    assert codes["source_family"] == {code: FAMILY_LABELS[code] for code in SOURCE_FAMILIES}
    assert set(codes["source_family"]) == {"pilot", "public", "scientific"}
    markdown = render_dictionary_markdown(build_data_dictionary(catalogue, codebook=CODEBOOK))
    for code in SOURCE_FAMILIES:
        assert FAMILY_LABELS[code]["fr"] in markdown
