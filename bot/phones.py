"""Phone numbers: parse what people and PBXs send, show them the way people read them."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat


def normalise(raw: str, region: str = "RU") -> str | None:
    """E.164 (``+79991234567``) for a possible number, else None.

    Accepts ``+7 999 123-45-67``, ``89991234567``, and bare ``79991234567`` as PBXs send it.
    """
    text = raw.strip()
    if not text:
        return None
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.startswith("+") and len(digits) > 10:
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None


def display(raw: str, region: str = "RU") -> str:
    """``+7 999 123-45-67`` for a phone number as people read it; SIP addresses and
    anything that is not a phone number come back unchanged."""
    e164 = normalise(raw, region) if not raw.startswith("sip:") else None
    if e164 is None:
        return raw
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
