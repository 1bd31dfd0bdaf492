"""The demo company: its people, their extensions, the PBX directory and the clients.

Use :func:`furnish_pbx` to give a :class:`MangoSimulator` the company's directory, and
:func:`add_people` to make the same people exist in the Telegram emulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain import Role
from sandbox.mango import Campaign, Contact, Employee, Group, Line, MangoSimulator
from sandbox.mango.campaigns import RUNNING, STOPPED
from sandbox.telegram import TelegramEmulator

ACCOUNT_ID = "main"
API_KEY = "demo-api-key"
API_SALT = "demo-api-salt"
LINE = "74950000000"
SALES_GROUP_ID = 1
SALES_GROUP_EXTENSION = "500"
GROUP_CHAT = -1001
GROUP_TITLE = "Sales team"
SPRING_PROMO, WINTER_SALE = 16064, 16065


@dataclass(frozen=True)
class Person:
    """Someone at the company who uses Telegram; ``extension`` None for the admin."""

    telegram_id: int
    first_name: str
    username: str
    full_name: str
    role: Role
    extension: str | None = None
    phone: str | None = None

    @property
    def label(self) -> str:
        """How the transcript heading names them."""
        job = {Role.ADMIN: "admin", Role.MANAGER: "manager", Role.REP: "sales rep"}[self.role]
        where = f", extension {self.extension}" if self.extension else ""
        return f"{self.full_name} ({job}{where})"


OLGA = Person(1000, "Olga", "olga", "Olga Orlova", Role.ADMIN)
MARIA = Person(2003, "Maria", "maria", "Maria Smirnova", Role.MANAGER, "103", "79993334455")
ANNA = Person(2001, "Anna", "anna", "Anna Petrova", Role.REP, "101", "79991112233")
BORIS = Person(2002, "Boris", "boris", "Boris Ivanov", Role.REP, "102", "79992223344")
PEOPLE = (OLGA, MARIA, ANNA, BORIS)
STAFF = (MARIA, ANNA, BORIS)  # the people with an extension, in the order they are invited


@dataclass(frozen=True)
class Client:
    """A customer who calls the company (digits as the PBX sends them, and as shown)."""

    number: str
    shown: str


CLIENT_ANSWERED = Client("79001234567", "+7 900 123-45-67")  # in the PBX's address book
CLIENT_ANSWERED_NAME = "Elena Volkova · Romashka LLC"
CLIENT_GROUP = Client("79005556677", "+7 900 555-66-77")
CLIENT_TRANSFERRED = Client("79035550101", "+7 903 555-01-01")
CLIENT_MISSED = Client("79007778899", "+7 900 777-88-99")
CLIENT_DIALED = Client("79161234567", "+7 916 123-45-67")
CLIENT_WAITING = Client("79263334455", "+7 926 333-44-55")
CALLBACK_WITHIN = "15m"  # the account's deadline to call a missed call back


def add_people(emulator: TelegramEmulator, language: str) -> None:
    """Register everyone (and the group chat) with the emulated Telegram."""
    for person in PEOPLE:
        emulator.add_user(
            person.telegram_id,
            person.first_name,
            username=person.username,
            last_name=person.full_name.split()[-1],
            language_code=language,
        )
    emulator.add_group(GROUP_CHAT, GROUP_TITLE)


def furnish_pbx(sim: MangoSimulator) -> None:
    """The company's MANGO OFFICE: three employees, the sales ring group, one line,
    two outbound-dialing campaigns and some money on the account.
    """
    for person in STAFF:
        assert person.extension is not None
        in_sales = person.role is Role.REP
        sim.add_employee(
            Employee(
                extension=person.extension,
                name=person.full_name,
                phones=[person.phone] if person.phone else [],
                groups=[SALES_GROUP_ID] if in_sales else [],
            )
        )
    sim.add_group(
        Group(
            id=SALES_GROUP_ID,
            name="Sales",
            extension=SALES_GROUP_EXTENSION,
            members=[p.extension for p in (ANNA, BORIS) if p.extension],
        )
    )
    sim.add_line(Line(number=LINE, name="Main line"))
    sim.add_contact(
        Contact(name="Elena Volkova", org_name="Romashka LLC", phones=["+7 (900) 123-45-67"])
    )
    sim.add_campaign(
        Campaign(
            SPRING_PROMO,
            name="Spring promo",
            status=STOPPED,
            tasks_count=40,
            finished_tasks_count=12,
        )
    )
    sim.add_campaign(
        Campaign(
            WINTER_SALE, name="Winter sale", status=RUNNING, tasks_count=25, finished_tasks_count=9
        )
    )
    sim.balance = (Decimal("48210.75"), "RUB")
