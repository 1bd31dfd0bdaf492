"""Who may act on which side of a call: the employee on it, or a manager of its account."""

from __future__ import annotations

from bot.domain import Language, Link, Role, User
from bot.services.call_control import CallSide, acting_link
from bot.telegram.identity import Identity

ANNAS_SIDE = CallSide("main", "E1", "101")


def person(extension: str, role: Role, account: str = "main") -> Identity:
    link = Link(account=account, extension=extension, telegram_id=7)
    return Identity(User(telegram_id=7), role, (link,), Language.EN)


def test_the_employee_on_the_call_may_act_on_it() -> None:
    assert acting_link(person("101", Role.REP), ANNAS_SIDE) is not None


def test_a_rep_may_not_act_on_a_colleagues_side() -> None:
    assert acting_link(person("102", Role.REP), ANNAS_SIDE) is None


def test_a_manager_may_act_on_any_call_of_their_account_only() -> None:
    assert acting_link(person("103", Role.MANAGER), ANNAS_SIDE) is not None
    assert acting_link(person("103", Role.ADMIN), ANNAS_SIDE) is not None
    assert acting_link(person("103", Role.MANAGER, account="other"), ANNAS_SIDE) is None
