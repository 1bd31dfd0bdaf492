"""The address book's contacts (3.7.3): ``ab/contact/init`` searches and returns the first
page with a cursor, ``ab/contact/cursor`` turns the pages.

The spec does not say which fields ``query`` is matched against; here it matches a
contact's name, organisation or any phone, phones compared by their digits (a phone is
kept as the user typed it: "+7 (495) 123-45-67"). A cursor is an opaque base64 string.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

DEFAULT_ROWS = 10
MAX_ROWS = 500
PAGE_MODE = re.compile(r"^(first-page|last-page|current-page|(next|prev)-page-([1-9]))$")


@dataclass
class Contact:
    """One contact; ``user_id`` is the personal employee's (``config/users`` user_id)."""

    name: str
    phones: list[str] = field(default_factory=list)
    org_name: str | None = None
    office: str = ""
    user_id: int | None = None
    contact_id: str = ""


class CursorError(Exception):
    """A cursor request the spec does not allow (the handler answers with a code)."""


class AddressBook:
    """Contacts, and the search answers built from them."""

    def __init__(self) -> None:
        self.contacts: list[Contact] = []
        self._next_id = 12761840
        self._next_org = 10433117
        self._orgs: dict[str, str] = {}

    def add(self, contact: Contact) -> Contact:
        if not contact.contact_id:
            contact.contact_id = str(self._next_id)
            self._next_id += 1
        self.contacts.append(contact)
        return contact

    def init_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        query = payload.get("query")
        if not isinstance(query, str):
            raise CursorError("query is required")
        limit = int(payload.get("limit_rows") or DEFAULT_ROWS)
        if not 0 < limit <= MAX_ROWS:
            raise CursorError("limit_rows out of range")
        ext = bool(payload.get("contact_ext_fields"))
        return self._page(query, limit, 1, ext)

    def cursor_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        mode = str(payload.get("mode") or "")
        found = PAGE_MODE.match(mode)
        if found is None:
            raise CursorError("bad mode")
        try:
            state = json.loads(base64.b64decode(str(payload.get("cursor") or "")))
            query, limit, page, ext = state["q"], int(state["l"]), int(state["p"]), state["x"]
        except (ValueError, KeyError, TypeError):
            raise CursorError("bad cursor") from None
        pages = max(1, -(-len(self._matching(query)) // limit))
        if mode == "first-page":
            page = 1
        elif mode == "last-page":
            page = pages
        elif found.group(2) == "next":
            page = min(pages, page + int(found.group(3)))
        elif found.group(2) == "prev":
            page = max(1, page - int(found.group(3)))
        return self._page(query, limit, page, bool(payload.get("contact_ext_fields", ext)))

    def _matching(self, query: str) -> list[Contact]:
        text = query.strip().lower()
        digits = re.sub(r"\D", "", text)
        found = []
        for contact in self.contacts:
            words = " ".join([contact.name, contact.org_name or ""]).lower()
            phones = [re.sub(r"\D", "", phone) for phone in contact.phones]
            if not text or text in words or (digits and any(digits in p for p in phones)):
                found.append(contact)
        return found

    def _page(self, query: str, limit: int, page: int, ext: bool) -> dict[str, Any]:
        matching = self._matching(query)
        if not matching:
            return {"result": 1000, "data": []}  # no data, no cursor
        pages = -(-len(matching) // limit)
        start = (page - 1) * limit
        rows = matching[start : start + limit]
        cursor = {"q": query, "l": limit, "p": page, "x": ext}
        return {
            "result": 1000,
            "data": [self._contact(c, ext) for c in rows],
            "state": {
                "info": {
                    "page": page,
                    "from": start,
                    "size": len(rows),
                    "limit": limit,
                    "total_rows": len(matching),
                    "pages": pages,
                },
                "cursor": base64.b64encode(json.dumps(cursor).encode()).decode(),
            },
        }

    def _contact(self, contact: Contact, ext: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "contact_id": contact.contact_id,
            "type": 0,
            "name": contact.name,
            "office": contact.office,
            "site": "",
            "importance": 0,
            "comment": "",
            "birthday": "",
            "sex": None,
            "avatar": "",
            "url": "",
            "phones": [
                {
                    "ext": None,
                    "phone": phone,
                    "phone_num": re.sub(r"\D", "", phone),
                    "comment": "",
                    "is_default": index == 0,
                    "phone_id": f"{contact.contact_id}{index}",
                    "type": 1 if phone.lstrip("+").startswith(("79", "89")) else 0,
                }
                for index, phone in enumerate(contact.phones)
            ],
            "emails": [],
            "groups": [],
            "nets": [],
            "messengers": [],
            "in_favorites": [],
            "when_created": 1544090687,
            "last_call": None,
        }
        if contact.org_name:
            data["org"] = {"org_id": self._org_id(contact.org_name), "org_name": contact.org_name}
        if ext:
            data["custom_values"] = []
            data["user_id"] = contact.user_id
        return data

    def _org_id(self, name: str) -> str:
        if name not in self._orgs:
            self._orgs[name] = str(self._next_org)
            self._next_org += 1
        return self._orgs[name]
