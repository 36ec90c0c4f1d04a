"""Source manifests: one YAML file per source under ``<data dir>/sources/``.

A manifest declares where a source's files are, how to read them and how to map their columns onto
the canonical codebook. Adding a source is adding a manifest and its files, never code: the asset
factory in ``barometre_pipeline.defs`` builds one raw and one staging asset per manifest.

A broken manifest raises :class:`ManifestError`, whose message names the file and the field.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SOURCE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


class ManifestError(ValueError):
    """A manifest cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Strict):
    publisher: str
    title: str
    url: str | None = None
    licence: str
    retrieved: date | None = None
    period: str | None = None
    territory: str | None = None
    synthetic: bool = False
    # "SOURCE SECONDAIRE", "CALCUL PAR NOS SOINS", "SYNTHETIQUE", ... kept visible downstream.
    quality_flags: list[str] = Field(default_factory=list)
    notes: str | None = None


class ReadOptions(_Strict):
    format: Literal["auto", "csv", "tsv", "xlsx"] = "auto"
    encoding: str = "auto"  # auto | utf-8 | utf-8-sig | cp1252 | latin-1 ...
    delimiter: str = "auto"  # auto | ; | , | \t | |
    decimal: str = "auto"  # auto | . | ,
    thousands: str | None = None
    sheet: str | int | None = None  # xlsx sheet name or index (first sheet by default)
    header_row: int | None = None  # 0-based; None = detect
    skip_rows: int = 0


class Design(_Strict):
    """Sampling design, by *source* column names (before mapping)."""

    weight: str
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None  # population number of PSUs (schools) in the stratum
    # Population number of second-stage units (pupils) in the PSU. With both fpc and fpc2 the
    # variance is two-stage; with fpc alone the PSUs are treated as sampled with replacement.
    fpc2: str | None = None


class ColumnMap(_Strict):
    """How one canonical variable is read from a source column."""

    source: str
    aliases: list[str] = Field(default_factory=list)  # other header spellings of the same column
    values: dict[str, Any] | None = None  # source answer (as text) -> canonical code / value
    scale: float | None = None  # multiply numeric values (e.g. 0.01 for percentages)
    required: bool = True  # a missing required column is an error naming the file


class Manifest(_Strict):
    id: str
    family: Literal["pilot", "public", "scientific"]
    kind: Literal["microdata", "aggregates", "effects"]
    provenance: Provenance
    files: str  # glob relative to the data dir
    read: ReadOptions = Field(default_factory=ReadOptions)
    design: Design | None = None
    respondent_id: str | None = None  # source column pseudonymised with the keyed hash
    identifiers: list[str] = Field(default_factory=list)  # direct identifiers, dropped at staging
    free_text: list[str] = Field(default_factory=list)  # free-text answers, dropped at staging
    constants: dict[str, Any] = Field(default_factory=dict)  # canonical variable -> fixed value
    columns: dict[str, ColumnMap]
    # Path of the YAML file itself (set by the loader, not written in YAML).
    manifest_path: Path | None = Field(default=None, exclude=True)

    @field_validator("id")
    @classmethod
    def _id_is_identifier(cls, value: str) -> str:
        if not SOURCE_ID_PATTERN.match(value):
            raise ValueError(
                "must be lowercase letters, digits and underscores, starting with a letter "
                f"(it names DuckDB tables and Dagster assets), got {value!r}"
            )
        return value

    @field_validator("columns", mode="before")
    @classmethod
    def _shorthand_columns(cls, value: Any) -> Any:
        # `sex: Sexe` is shorthand for `sex: {source: Sexe}`.
        if isinstance(value, dict):
            return {k: ({"source": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _design_for_microdata(self) -> Manifest:
        if self.kind == "microdata" and self.design is None:
            raise ValueError(
                "design: a microdata source needs a `design` block (weight, and strata/psu "
                "where the sample has them)"
            )
        if self.kind != "microdata" and self.design is not None:
            raise ValueError("design: only microdata sources have a sampling design")
        return self


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = [f"invalid source manifest {path}:"]
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        lines.append(f"  - field `{field}`: {item['msg']}")
    return "\n".join(lines)


def load_manifest(path: Path) -> Manifest:
    """Read and validate one manifest file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ManifestError(f"source manifest {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise ManifestError(f"source manifest {path} is not UTF-8 text: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ManifestError(f"source manifest {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ManifestError(f"source manifest {path} must be a YAML mapping, got {type(raw).__name__}")
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ManifestError(_format_validation_error(path, exc)) from None
    return manifest.model_copy(update={"manifest_path": path})


def load_manifests(data_dir: Path) -> list[Manifest]:
    """All manifests under ``<data_dir>/sources``, sorted by id; ids must be unique."""
    source_dir = data_dir / "sources"
    if not source_dir.is_dir():
        raise ManifestError(f"no source folder: {source_dir} does not exist (BAROMETRE_DATA_DIR?)")
    manifests: list[Manifest] = []
    seen: dict[str, Path] = {}
    for path in sorted(source_dir.glob("*.y*ml")):
        manifest = load_manifest(path)
        if manifest.id in seen:
            raise ManifestError(
                f"source manifest {path}: field `id` {manifest.id!r} is already used by {seen[manifest.id]}"
            )
        seen[manifest.id] = path
        manifests.append(manifest)
    return sorted(manifests, key=lambda m: m.id)


def source_files(manifest: Manifest, data_dir: Path) -> list[Path]:
    """The files a manifest's glob matches; an empty match is an error naming the manifest."""
    files = sorted(p for p in data_dir.glob(manifest.files) if p.is_file())
    if not files:
        raise ManifestError(
            f"source manifest {manifest.manifest_path}: field `files` ({manifest.files!r}) "
            f"matches no file under {data_dir}"
        )
    return files
