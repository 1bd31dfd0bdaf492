"""Phone numbers: parse what people and PBXs send, show them the way people read them."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

# Numbers parsed are remembered: one call shows the same few numbers on every event.
PARSED_NUMBERS = 4096


@lru_cache(maxsize=PARSED_NUMBERS)
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


@lru_cache(maxsize=PARSED_NUMBERS)
def display(raw: str, region: str = "RU") -> str:
    """``+7 999 123-45-67`` for a phone number as people read it; SIP addresses and
    anything that is not a phone number come back unchanged."""
    e164 = normalise(raw, region) if not raw.startswith("sip:") else None
    if e164 is None:
        return raw
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def forget_parsed() -> None:
    """Drop every number remembered from parsing (a number is being forgotten)."""
    normalise.cache_clear()
    display.cache_clear()
