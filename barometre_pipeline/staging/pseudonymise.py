"""Keyed-hash pseudonyms for respondent ids (HMAC-SHA256 with the secret from the environment).

A keyed hash, not a plain hash: respondent ids from questionnaire tools are short and sequential,
so an unkeyed hash could be reversed by enumerating them. The source id is part of the message so
the same tool id in two sources gives two unrelated pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

PSEUDONYM_HEX_LENGTH = 20  # 80 bits: collisions are negligible for millions of respondents


def pseudonymise(ids: pd.Series, *, key: bytes, source_id: str) -> pd.Series:
    prefix = f"{source_id}:".encode()

    def one(value: object) -> str | None:
        if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
            return None
        digest = hmac.new(key, prefix + str(value).strip().encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:PSEUDONYM_HEX_LENGTH]

    return pd.Series([one(v) for v in ids.tolist()], index=ids.index, dtype="string")
