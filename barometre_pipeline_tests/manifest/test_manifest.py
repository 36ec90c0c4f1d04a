"""Manifest loading: a broken manifest names its file and field."""

from pathlib import Path

import pytest

from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.sources.manifest import ManifestError, load_manifest, load_manifests

VALID = (Path(__file__).parent.parent / "fixtures" / "staging" / "mini_export.yaml").read_text(
    encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "broken.yaml") -> Path:
    path = tmp_path / "sources" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_manifests_all_load():
    manifests = load_manifests(PROJECT_ROOT / "data")
    families = {m.family for m in manifests}
    assert families == {"pilot", "public", "scientific"}


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda t: t.replace("family: pilot", "family: pirate"), "family"),
        (lambda t: t.replace("id: mini_export", "id: Mini Export"), "id"),
        (lambda t: t.replace("design: {weight: Poids, strata: Strate, psu: Établissement}\n", ""),
         "design"),
        (lambda t: t.replace("  licence: \"test fixture\"\n", ""), "provenance.licence"),
        (lambda t: t + "unexpected_key: 1\n", "unexpected_key"),
    ],
)
def test_invalid_manifest_names_file_and_field(tmp_path, edit, field):
    path = write(tmp_path, edit(VALID))
    with pytest.raises(ManifestError) as error:
        load_manifest(path)
    message = str(error.value)
    assert str(path) in message
    assert f"`{field}" in message


def test_yaml_syntax_error_names_the_file(tmp_path):
    path = write(tmp_path, "id: [unclosed\n")
    with pytest.raises(ManifestError, match="broken.yaml"):
        load_manifest(path)


def test_duplicate_source_ids_are_refused(tmp_path):
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    with pytest.raises(ManifestError, match="already used"):
        load_manifests(tmp_path)
