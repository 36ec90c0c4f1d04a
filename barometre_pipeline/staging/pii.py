"""Detection of direct identifiers that slipped into answers (minors' data: reject, never stage)."""

from __future__ import annotations

import pandas as pd

# Why these patterns: questionnaire tools let pupils type into "other" fields; the usual leaks are
# e-mail addresses and French / North-American phone numbers. Names cannot be detected reliably by
# pattern, which is why free-text columns are dropped wholesale (manifest `free_text`).
EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
PHONE_PATTERN = (
    r"(?:(?:\+|00)33[\s.-]?[1-9](?:[\s.-]?\d{2}){4}"  # +33 6 12 34 56 78
    r"|\b0[1-9](?:[\s.-]?\d{2}){4}\b"  # 06 12 34 56 78
    r"|(?:\+?1[\s.-]?)?\(?\b[2-9]\d{2}\)?[\s.-]\d{3}[\s.-]\d{4}\b)"  # (514) 555-1234
)


def identifier_kind(text: pd.Series) -> pd.Series:
    """Per value: 'e-mail', 'phone number' or <NA> when no identifier pattern is found."""
    as_text = text.astype("string")
    kind = pd.Series(pd.NA, index=text.index, dtype="string")
    kind = kind.mask(as_text.str.contains(PHONE_PATTERN, regex=True, na=False), "phone number")
    kind = kind.mask(as_text.str.contains(EMAIL_PATTERN, regex=True, na=False), "e-mail address")
    return kind


def mask_identifiers(text: pd.Series) -> pd.Series:
    """The same text with e-mails and phone numbers replaced, for reject reports."""
    as_text = text.astype("string")
    masked = as_text.str.replace(EMAIL_PATTERN, "<e-mail masqué>", regex=True)
    return masked.str.replace(PHONE_PATTERN, "<téléphone masqué>", regex=True)
