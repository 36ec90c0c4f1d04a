"""Turning the bytes of a source file into text we can trust.

Questionnaire tools and spreadsheet exports in France produce UTF-8 (often with a BOM), cp1252 or
latin-1, and occasionally UTF-16 ("Texte Unicode" from Excel). With ``encoding: auto`` we try, in
order: a byte-order mark, strict UTF-8, then strict cp1252. cp1252 is a superset of latin-1 for
every printable character, so latin-1 files decode identically; the bytes cp1252 leaves undefined
only occur in files that are not text at all.

Every failure is a :class:`~barometre_pipeline.sources.read_result.SourceReadError` naming the file
and the byte offset and line of the first offending byte, because "invalid continuation byte" alone
does not tell anyone which of forty files to open.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from barometre_pipeline.sources.read_result import SourceReadError

# Signatures of binary formats that end up misnamed as .csv in shared folders.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx or .docx file?)"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office document (.xls?)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3\x00", "a SQLite database"),
    (b"PAR1", "a Parquet file"),
)

_UTF8_VALIDATION_CHUNK = 16 * 1024 * 1024
# A text file may contain a few stray control characters; beyond this share it is not text.
_MAX_CONTROL_CHAR_SHARE = 0.01
_ALLOWED_CONTROL_CHARS = frozenset("\t\n\r\f\v")


@dataclass(frozen=True)
class DecodedSource:
    """A source file's content as UTF-8 bytes without BOM, plus the encoding it was written in."""

    utf8: bytes
    encoding: str


def line_of_offset(raw: bytes, offset: int) -> int:
    """1-based physical line holding byte ``offset``."""
    return raw.count(b"\n", 0, offset) + 1


def binary_signature(raw: bytes) -> str | None:
    """A human description of the binary format ``raw`` starts with, if it looks binary."""
    for signature, description in _BINARY_SIGNATURES:
        if raw.startswith(signature):
            return description
    head = raw[:8192]
    starts_with_utf16_bom = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in head and not starts_with_utf16_bom:
        return "binary data (it contains NUL bytes)"
    return None


def _decode_error(
    path: Path, raw: bytes, encoding: str, offset: int, detail: str
) -> SourceReadError:
    line = line_of_offset(raw, offset)
    snippet = raw[max(0, offset - 20) : offset + 20]
    return SourceReadError(
        path,
        f"cannot decode {path} as {encoding}: byte offset {offset} (line {line}): {detail}; "
        f"bytes around it: {snippet!r}. Set `read.encoding` in the manifest if the file uses "
        "another encoding.",
    )


def _is_valid_utf8(raw: bytes) -> bool:
    """Arrow's UTF-8 check (as strict as Python's: no surrogates, no overlong forms, nothing past
    U+10FFFF), run on the bytes in place: about ten times faster than decoding them in Python."""
    offsets = pa.array([0, len(raw)], pa.int64()).buffers()[1]
    as_binary = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(raw)])
    try:
        as_binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _first_utf8_error(raw: bytes) -> UnicodeDecodeError | None:
    if _is_valid_utf8(raw):
        return None
    # Python's decoder says where and why. Validating chunk by chunk avoids holding a second,
    # decoded copy of a large file in memory.
    # Chunk ends are moved back off UTF-8 continuation bytes so no character is split.
    start = 0
    while start < len(raw):
        end = min(start + _UTF8_VALIDATION_CHUNK, len(raw))
        backed = 0
        while end < len(raw) and backed < 3 and 0x80 <= raw[end] <= 0xBF:
            end -= 1
            backed += 1
        try:
            raw[start:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            return UnicodeDecodeError(
                exc.encoding, raw, start + exc.start, start + exc.end, exc.reason
            )
        start = end
    return None


def _reject_control_characters(path: Path, text: str, encoding: str) -> None:
    sample = text[:65536]
    if not sample:
        return
    controls = sum(1 for ch in sample if ch < " " and ch not in _ALLOWED_CONTROL_CHARS)
    if controls / len(sample) > _MAX_CONTROL_CHAR_SHARE:
        raise SourceReadError(
            path,
            f"{path} does not look like text: {controls} control characters in its first "
            f"{len(sample)} characters once decoded as {encoding} (a binary file named like a CSV?)",
        )


def _from_text(path: Path, text: str, encoding: str) -> DecodedSource:
    _reject_control_characters(path, text, encoding)
    return DecodedSource(text.encode("utf-8"), encoding)


# Characters that French or Québec text encoded in UTF-8 actually contains. A cp1252 file can hold
# byte pairs that happen to be valid UTF-8 ("Ç" then "Œ" is the UTF-8 of "nj"): those decode to
# characters outside this set, so they do not prove the file mixes encodings.
_FRENCH_NON_ASCII = frozenset(
    [chr(c) for c in range(0xA0, 0x100)] + list("ŒœŸ‘’‚“”„…–—€\u202f\u2009")
)


def _looks_like_real_utf8(prefix: bytes) -> bool:
    decoded = prefix.decode("utf-8", "ignore")
    non_ascii = [ch for ch in decoded if ord(ch) >= 0x80]
    return bool(non_ascii) and all(ch in _FRENCH_NON_ASCII for ch in non_ascii)


def _decode_auto(path: Path, raw: bytes) -> DecodedSource:
    if raw.startswith(codecs.BOM_UTF8):
        body = raw[len(codecs.BOM_UTF8) :]
        error = _first_utf8_error(body)
        if error is not None:
            raise _decode_error(
                path, raw, "utf-8-sig", error.start + len(codecs.BOM_UTF8), error.reason
            )
        _reject_control_characters(path, body[:65536].decode("utf-8", "ignore"), "utf-8-sig")
        return DecodedSource(body, "utf-8-sig")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_explicit(path, raw, "utf-16")

    description = binary_signature(raw)
    if description is not None:
        raise SourceReadError(path, f"{path} is not a text file: it looks like {description}")

    error = _first_utf8_error(raw)
    if error is None:
        _reject_control_characters(path, raw[:65536].decode("utf-8", "ignore"), "utf-8")
        return DecodedSource(raw, "utf-8")

    # Real UTF-8 text before the first invalid byte means the file mixes encodings (two exports
    # pasted together): decoding it all as cp1252 would silently turn "é" into "Ã©".
    if _looks_like_real_utf8(raw[: error.start]):
        raise _decode_error(
            path,
            raw,
            "utf-8",
            error.start,
            f"{error.reason}, although earlier bytes are valid UTF-8: the file mixes encodings",
        )
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _decode_error(
            path, raw, "utf-8 or cp1252", exc.start, "byte undefined in both encodings"
        ) from None
    return _from_text(path, text, "cp1252")


def _decode_explicit(path: Path, raw: bytes, encoding: str) -> DecodedSource:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise SourceReadError(
            path, f"cannot read {path}: unknown encoding {encoding!r} in `read.encoding`"
        ) from None
    if name == "utf-8" or name == "utf-8-sig":
        has_bom = raw.startswith(codecs.BOM_UTF8)
        body = raw[len(codecs.BOM_UTF8) :] if has_bom else raw
        error = _first_utf8_error(body)
        if error is not None:
            bom_length = len(codecs.BOM_UTF8) if has_bom else 0
            raise _decode_error(path, raw, encoding, error.start + bom_length, error.reason)
        return DecodedSource(body, "utf-8-sig" if has_bom else "utf-8")
    try:
        text = raw.decode(name)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, raw, encoding, exc.start, exc.reason) from None
    return _from_text(path, text.removeprefix("\ufeff"), name)


def decode_source(path: Path, raw: bytes, encoding: str = "auto") -> DecodedSource:
    """Decode ``raw`` (the bytes of ``path``) to UTF-8 without BOM, detecting the encoding on ``auto``."""
    if encoding.strip().lower() == "auto":
        return _decode_auto(path, raw)
    return _decode_explicit(path, raw, encoding)
