"""The company's own phonebook: client names for any PBX, loaded from a CSV file.

Use :func:`read_csv` to check a file (rows kept, rows rejected with line numbers and
reasons) and :meth:`Phonebook.replace` to make it the phonebook; :meth:`Phonebook.find`
answers "who is this number" for cards and alerts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain import Contact
from bot.phones import normalise
from bot.storage import Keys

# Header names accepted for each column (case and spaces do not matter).
PHONE_COLUMNS = ("phone", "number", "телефон", "номер")
NAME_COLUMNS = ("name", "имя", "фио", "контакт", "contact")
ORGANISATION_COLUMNS = ("organisation", "organization", "company", "организация", "компания")
WRITE_BATCH = 500


class PhonebookEntry(BaseModel):
    name: str
    organisation: str | None = None

    def contact(self) -> Contact:
        return Contact(name=self.name, organisation=self.organisation)


@dataclass
class Rejected:
    line: int
    reason: str  # a key under ``phonebook_import.reasons`` in the texts
    value: str = ""


@dataclass
class PhonebookFile:
    """What a CSV file holds: the entries by E.164 number and the rows left out."""

    entries: dict[str, PhonebookEntry] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    problem: str | None = None  # the whole file is unusable (a reason key), if so


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1251 as Russian spreadsheets save it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def read_csv(text: str, region: str = "RU") -> PhonebookFile:
    """Parse a phonebook CSV (comma or semicolon separated, with a header row naming a
    phone and a name column, optionally an organisation)."""
    result = PhonebookFile()
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    header = next(rows, None)
    columns = [cell.strip().lower() for cell in header or []]
    phone_at = _column(columns, PHONE_COLUMNS)
    name_at = _column(columns, NAME_COLUMNS)
    organisation_at = _column(columns, ORGANISATION_COLUMNS)
    if phone_at is None or (name_at is None and organisation_at is None):
        result.problem = "no_header"
        return result
    first_line: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        raw = _cell(row, phone_at)
        name = _cell(row, name_at)
        organisation = _cell(row, organisation_at) or None
        number = normalise(raw, region) if raw else None
        if not raw:
            result.rejected.append(Rejected(line, "no_phone"))
        elif number is None:
            result.rejected.append(Rejected(line, "bad_phone", raw))
        elif not name and not organisation:
            result.rejected.append(Rejected(line, "no_name", raw))
        elif number in first_line:
            result.rejected.append(Rejected(line, "duplicate", str(first_line[number])))
        else:
            first_line[number] = line
            result.entries[number] = PhonebookEntry(
                name=name or organisation or "",
                organisation=organisation if name else None,
            )
    return result


def _column(columns: list[str], names: tuple[str, ...]) -> int | None:
    return next((i for i, column in enumerate(columns) if column in names), None)


def _cell(row: list[str], at: int | None) -> str:
    return row[at].strip() if at is not None and at < len(row) else ""


class Phonebook:
    """The phonebook in Redis: one hash, replaced whole by each import."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def find(self, number: str) -> Contact | None:
        return self.parse(await self._redis.hget(self._keys.phonebook(), number))

    def queue_find(self, pipe: Pipeline, number: str) -> None:
        """Add :meth:`find`'s read to ``pipe``; :meth:`parse` its answer."""
        pipe.hget(self._keys.phonebook(), number)

    @staticmethod
    def parse(raw: str | bytes | None) -> Contact | None:
        return PhonebookEntry.model_validate_json(raw).contact() if raw else None

    async def size(self) -> int:
        return int(await self._redis.hlen(self._keys.phonebook()))

    async def replace(self, entries: dict[str, PhonebookEntry]) -> None:
        """Make ``entries`` the phonebook at once: readers see the old one or the new."""
        key = self._keys.phonebook()
        if not entries:
            await self._redis.delete(key)
            return
        staging = f"{key}:import"
        await self._redis.delete(staging)
        items = list(entries.items())
        for start in range(0, len(items), WRITE_BATCH):
            batch = items[start : start + WRITE_BATCH]
            await self._redis.hset(
                staging, mapping={number: entry.model_dump_json() for number, entry in batch}
            )
        await self._redis.rename(staging, key)


REASONS = {
    "no_phone": "no phone number",
    "bad_phone": "{value!r} is not a phone number",
    "no_name": "no name or organisation",
    "duplicate": "the same number as line {value}",
}


def import_report(found: PhonebookFile) -> str:
    """What ``pbxgram phonebook import`` prints: rows imported and each row rejected."""
    if found.problem == "no_header":
        return (
            "the file's first row must name the columns: phone and name (and optionally "
            "organisation); nothing was imported, the phonebook is unchanged"
        )
    if not found.entries and found.rejected:
        head = (
            f"no row could be imported ({len(found.rejected)} rejected); the phonebook is unchanged"
        )
    else:
        head = (
            f"Phonebook replaced: {len(found.entries)} rows imported, "
            f"{len(found.rejected)} rejected."
        )
    lines = [head]
    lines += [
        f"  line {row.line}: {REASONS[row.reason].format(value=row.value)}"
        for row in found.rejected
    ]
    return "\n".join(lines)
