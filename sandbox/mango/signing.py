"""Signatures and JSON encoding shared by requests, answers and posted events.

``sign = sha256(vpbx_api_key + json + vpbx_api_salt)`` (spec 2.1.1) over the ``json``
form field exactly as sent; recording links use
``sign = sha256(vpbx_api_key + timestamp + recording_id + vpbx_api_salt)`` (spec 3.4.2).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def sign(api_key: str, json_text: str, api_salt: str) -> str:
    """The hex sha256 that goes into the ``sign`` form field."""
    return hashlib.sha256((api_key + json_text + api_salt).encode("utf-8")).hexdigest()


def recording_link_sign(
    api_key: str, timestamp: str | int, recording_id: str, api_salt: str
) -> str:
    """The hex sha256 at the end of a ``queries/recording/link/...`` URL."""
    text = f"{api_key}{timestamp}{recording_id}{api_salt}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def same_sign(expected: str, received: str) -> bool:
    """Constant-time comparison of two hex digests, ignoring case."""
    return hmac.compare_digest(expected.lower().encode(), received.strip().lower().encode())


def encode(payload: Any, *, escape_unicode: bool = False) -> str:
    """Compact JSON as the spec asks (no spaces); Cyrillic raw or as ``\\uXXXX``."""
    return json.dumps(payload, ensure_ascii=escape_unicode, separators=(",", ":"))


def signed_form(
    api_key: str, api_salt: str, payload: Any, *, escape_unicode: bool = False
) -> dict[str, str]:
    """The three form fields of a signed request or notification."""
    text = encode(payload, escape_unicode=escape_unicode)
    return {"vpbx_api_key": api_key, "sign": sign(api_key, text, api_salt), "json": text}
