"""MANGO signatures; both directions sign the same way.

``sign = sha256(vpbx_api_key + json + vpbx_api_salt)`` over the ``json`` form field
exactly as sent, and for recording links
``sign = sha256(vpbx_api_key + timestamp + recording_id + vpbx_api_salt)``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def sign(api_key: str, json_text: str, api_salt: str) -> str:
    """The hex sha256 MANGO expects in the ``sign`` form field."""
    return hashlib.sha256((api_key + json_text + api_salt).encode("utf-8")).hexdigest()


def recording_link_sign(
    api_key: str, timestamp: int | str, recording_id: str, api_salt: str
) -> str:
    """The hex sha256 in a ``queries/recording/link/…`` URL."""
    text = f"{api_key}{timestamp}{recording_id}{api_salt}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def signature_matches(expected: str, received: str) -> bool:
    """Constant-time comparison, case-insensitive for the hex digits."""
    return hmac.compare_digest(expected.lower().encode(), received.strip().lower().encode())


def compact_json(payload: Any) -> str:
    """JSON without spaces, as the spec asks; Cyrillic stays UTF-8."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def signed_form(api_key: str, api_salt: str, payload: Any) -> dict[str, str]:
    """The three form fields of a signed request."""
    text = compact_json(payload)
    return {"vpbx_api_key": api_key, "sign": sign(api_key, text, api_salt), "json": text}
