"""MANGO's address book: the contact with a given phone number.

``ab/contact/init`` searches by a string (section 3.7.3.1) and returns the first page and
a cursor; ``ab/contact/cursor`` turns the pages (3.7.3.2). Phones are kept "as the user
typed them", so the search asks for the number's national digits and each phone found is
normalised here before it is compared.
"""

from __future__ import annotations

from typing import Any

import phonenumbers

from bot.domain import Contact
from bot.phones import normalise

PAGE_ROWS = 50  # contacts per page (MANGO allows up to 500)
MAX_PAGES = 4  # a number that common is not one client's: stop looking after this many


def search_query(number: str) -> str:
    """What to search for: the national significant number, the digits common to every
    way of typing it ("+7 495…", "8 (495)…", "495…")."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in number if ch.isdigit())
    return phonenumbers.national_significant_number(parsed)


def init_request(number: str) -> dict[str, Any]:
    return {"query": search_query(number), "limit_rows": PAGE_ROWS, "contact_ext_fields": True}


def next_page_request(data: dict[str, Any]) -> dict[str, Any] | None:
    """The ``ab/contact/cursor`` request for the page after ``data``; None on the last."""
    state = data.get("state") or {}
    cursor = state.get("cursor") or data.get("cursor")
    info = state.get("info") or {}
    try:
        page, pages = int(info.get("page", 1)), int(info.get("pages", 1))
    except (TypeError, ValueError):
        return None
    if not cursor or page >= pages:
        return None
    return {"mode": "next-page-1", "cursor": str(cursor), "contact_ext_fields": True}


def matching_contact(data: dict[str, Any], number: str, region: str) -> Contact | None:
    """The first contact of the page with a phone equal to ``number`` (E.164)."""
    for item in data.get("data") or []:
        if not isinstance(item, dict):
            continue
        phones = [p.get("phone") or p.get("phone_num") for p in item.get("phones") or []]
        if not any(
            isinstance(raw, str | int) and normalise(str(raw), region) == number for raw in phones
        ):
            continue
        name = str(item.get("name") or "").strip()
        org = item.get("org") or {}
        organisation = str(org.get("org_name") or "").strip() if isinstance(org, dict) else ""
        if not name and not organisation:
            continue
        user_id = item.get("user_id")
        return Contact(
            name=name or organisation,
            organisation=organisation if name and organisation else None,
            manager_user_id=str(user_id) if user_id not in (None, "", 0) else None,
        )
    return None
