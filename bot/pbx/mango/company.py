"""The company as MANGO lists it: employees (3.6.1), groups (3.6.2) and lines (3.6.7)."""

from __future__ import annotations

from typing import Any

from bot.domain import Employee, PbxGroup, PbxLine
from bot.phones import normalise

SWITCHED_OFF = "off"  # a number's ``status`` (3.6.1): "on – активен, off – выключен"


def employees(data: dict[str, Any], account: str, region: str) -> list[Employee]:
    """Employees with an extension; phones are the ``tel`` numbers and the mobile, as E.164.

    A number the directory marks ``off`` matches nobody: it is left out, even as the mobile
    (unless another entry lists it switched on).
    """
    found: list[Employee] = []
    for user in data.get("users") or []:
        general = user.get("general") or {}
        telephony = user.get("telephony") or {}
        extension = str(telephony.get("extension") or "").strip()
        if not extension:
            continue
        numbers = [n for n in telephony.get("numbers") or [] if isinstance(n, dict)]
        raw_numbers = [
            str(n.get("number") or "")
            for n in numbers
            if str(n.get("protocol") or "tel") == "tel" and not _switched_off(n)
        ]
        if general.get("mobile"):
            raw_numbers.append(str(general["mobile"]))
        off = _numbers(numbers, region, switched_off=True) - _numbers(
            numbers, region, switched_off=False
        )
        phones: list[str] = []
        for raw in raw_numbers:
            phone = normalise(raw, region)
            if phone is not None and phone not in phones and phone not in off:
                phones.append(phone)
        found.append(
            Employee(
                account=account,
                extension=extension,
                name=str(general.get("name") or ""),
                phones=tuple(phones),
                user_id=str(general["user_id"]) if general.get("user_id") else None,
            )
        )
    return found


def _switched_off(number: dict[str, Any]) -> bool:
    return str(number.get("status") or "").strip().lower() == SWITCHED_OFF


def _numbers(numbers: list[dict[str, Any]], region: str, *, switched_off: bool) -> set[str]:
    """The E.164 form of the listed numbers that are (or are not) switched off."""
    found = {
        normalise(str(n.get("number") or ""), region)
        for n in numbers
        if _switched_off(n) is switched_off
    }
    return {phone for phone in found if phone is not None}


def groups(data: dict[str, Any]) -> list[PbxGroup]:
    return [
        PbxGroup(
            id=str(group.get("id", "")),
            name=str(group.get("name") or ""),
            extension=str(group["extension"]) if group.get("extension") else None,
            members=tuple(
                str(op["extension"]) for op in group.get("operators") or [] if op.get("extension")
            ),
        )
        for group in data.get("groups") or []
    ]


def lines(data: dict[str, Any]) -> list[PbxLine]:
    return [
        PbxLine(number=str(line.get("number") or ""), name=str(line.get("name") or ""))
        for line in data.get("lines") or []
        if line.get("number")
    ]
