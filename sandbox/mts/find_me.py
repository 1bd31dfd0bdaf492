"""The "Найди меня" rules of each abonent (section 4.11), kept as ``GET /api/findMe/{userId}``
shows them: ``parallelRules``, ``sequentialRules`` and ``redirectRules``.

Use :class:`FindMeBook` from the server's handlers: ``add`` (POST ``…/{mode}``) and
``update`` (PUT ``…/{mode}/{id}``) check the body against the doc's field list and answer
the rule as GET shows it, with its ``id`` and its numbers' ``ruleId``; ``remove`` is DELETE.
A body the field list does not allow is refused with HTTP 400, an unknown rule with 404.
"""

from __future__ import annotations

import itertools
import re
from typing import Annotated, Any

from aiohttp import web
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

MODES = ("parallel", "sequential", "redirect")
LISTS = {"parallel": "parallelRules", "sequential": "sequentialRules", "redirect": "redirectRules"}
NAME_LIMIT = 30  # ruleName: "ограничение на длину 30 символов"
MAX_NUMBERS = 10  # "ограничение 10 правил на один тип маршрутизации"
MAX_RULES = 10
# An extension (the doc's samples: "003", "500", "650"), 8 and ten digits (as BlindTransfer
# takes them) or +<country><number> (as click-to-call takes them).
NUMBER = re.compile(r"\d{1,6}|8\d{10}|\+\d{10,15}")
FIRST_ID = 1066  # the doc's sample ids


def _number(value: str) -> str:
    if not NUMBER.fullmatch(value):
        raise ValueError("a number is an extension, 8 and ten digits, or +<country><number>")
    return value


def _optional(value: str | None) -> str | None:
    """The redirect numbers: the POST sample sends ``""`` for none, GET shows ``null``."""
    return None if value is None or value == "" else _number(value)


def _rings(value: Any) -> Any:
    """``ifNoAnswerTimeout``: ``""`` (the POST sample) is none, digits are a count."""
    if value == "":
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


Number = Annotated[str, AfterValidator(_number)]
OptionalNumber = Annotated[str | None, AfterValidator(_optional)]
Rings = Annotated[Annotated[int, Field(ge=1)] | None, BeforeValidator(_rings)]


class _Strict(BaseModel):
    model_config = ConfigDict(populate_by_name=True, strict=True)


class ParallelNumber(_Strict):
    rule_id: int | None = Field(None, alias="ruleId")
    number: Number
    status: bool
    name: str = Field("", max_length=NAME_LIMIT)


class SequentialNumber(ParallelNumber):
    timeout: int = Field(ge=1)  # rings before the next number


class _Rule(_Strict):
    id: int | None = None
    rule_name: str = Field(alias="ruleName", min_length=1, max_length=NAME_LIMIT)
    called_number: OptionalNumber = Field(None, alias="calledNumber")


class ParallelRule(_Rule):
    rule_numbers: list[ParallelNumber] = Field(
        alias="ruleNumbers", min_length=1, max_length=MAX_NUMBERS
    )


class SequentialRule(_Rule):
    continue_search_if_busy: bool = Field(False, alias="continueSearchIfBusy")
    rule_numbers: list[SequentialNumber] = Field(
        alias="ruleNumbers", min_length=1, max_length=MAX_NUMBERS
    )


class RedirectRule(_Rule):
    always_redirect: OptionalNumber = Field(None, alias="alwaysRedirect")
    if_busy_redirect: OptionalNumber = Field(None, alias="ifBusyRedirect")
    if_no_answer_redirect: OptionalNumber = Field(None, alias="ifNoAnswerRedirect")
    if_no_answer_timeout: Rings = Field(None, alias="ifNoAnswerTimeout")
    if_no_access_redirect: OptionalNumber = Field(None, alias="ifNoAccessRedirect")
    conditional: str | None = ""
    # The POST sample spells it schedudyId; GET and PUT say scheduleId.
    schedule_id: int | None = Field(None, validation_alias=AliasChoices("scheduleId", "schedudyId"))

    @model_validator(mode="after")
    def _somewhere(self) -> RedirectRule:
        targets = (
            self.always_redirect,
            self.if_busy_redirect,
            self.if_no_answer_redirect,
            self.if_no_access_redirect,
        )
        if not any(targets):
            raise ValueError("a redirect rule needs a number to redirect to")
        if self.if_no_answer_redirect and self.if_no_answer_timeout is None:
            raise ValueError("ifNoAnswerRedirect needs ifNoAnswerTimeout")
        return self


Rule = ParallelRule | SequentialRule | RedirectRule
BODIES: dict[str, type[Rule]] = {
    "parallel": ParallelRule,
    "sequential": SequentialRule,
    "redirect": RedirectRule,
}


class FindMeBook:
    """Every abonent's rules; ``rules[userId]`` is the GET answer."""

    def __init__(self) -> None:
        self.rules: dict[int, dict[str, list[dict[str, Any]]]] = {}
        self._ids = itertools.count(FIRST_ID)

    def of(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """The abonent's rules in the shape of the GET answer (empty lists at first)."""
        return self.rules.setdefault(user_id, {key: [] for key in LISTS.values()})

    def add(self, user_id: int, mode: str, body: Any) -> dict[str, Any]:
        """A new rule from a POST body; 400 when the body or the count is not allowed."""
        rules = self.of(user_id)[LISTS[mode]]
        rule = _parse(mode, body)
        if len(rules) >= MAX_RULES:
            raise web.HTTPBadRequest(reason=f"at most {MAX_RULES} {mode} rules")
        shown = self._shown(mode, next(self._ids), rule, known=set())
        rules.append(shown)
        return shown

    def update(self, user_id: int, mode: str, rule_id: int, body: Any) -> dict[str, Any]:
        """The rule ``rule_id`` replaced by a PUT body (its numbers keep the ``ruleId``
        they are sent with); 404 for an unknown rule."""
        rules = self.of(user_id)[LISTS[mode]]
        index = _index(rules, rule_id)
        rule = _parse(mode, body)
        if rule.id is not None and rule.id != rule_id:
            raise web.HTTPBadRequest(reason="id in the body is not the rule's id")
        known = {number["ruleId"] for number in rules[index].get("ruleNumbers", [])}
        rules[index] = self._shown(mode, rule_id, rule, known=known)
        return rules[index]

    def remove(self, user_id: int, mode: str, rule_id: int) -> None:
        rules = self.of(user_id)[LISTS[mode]]
        del rules[_index(rules, rule_id)]

    def _shown(self, mode: str, rule_id: int, rule: Rule, *, known: set[int]) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": rule_id,
            "ruleName": rule.rule_name,
            "calledNumber": rule.called_number,
        }
        if isinstance(rule, RedirectRule):
            return shown | {
                "alwaysRedirect": rule.always_redirect,
                "ifBusyRedirect": rule.if_busy_redirect,
                "ifNoAnswerRedirect": rule.if_no_answer_redirect,
                "ifNoAnswerTimeout": rule.if_no_answer_timeout,
                "ifNoAccessRedirect": rule.if_no_access_redirect,
                "conditional": rule.conditional,
                "scheduleId": rule.schedule_id,
            }
        numbers: list[dict[str, Any]] = []
        for number in rule.rule_numbers:
            if number.rule_id is not None and number.rule_id not in known:
                raise web.HTTPBadRequest(reason=f"ruleId {number.rule_id} is not this rule's")
            item = {
                "ruleId": number.rule_id if number.rule_id is not None else next(self._ids),
                "number": number.number,
                "status": number.status,
                "name": number.name,
            }
            if isinstance(number, SequentialNumber):
                item["timeout"] = number.timeout
            numbers.append(item)
        if isinstance(rule, SequentialRule):
            shown["continueSearchIfBusy"] = rule.continue_search_if_busy
        return shown | {"ruleNumbers": numbers}


def _parse(mode: str, body: Any) -> Rule:
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="JSON body expected")
    try:
        return BODIES[mode].model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "body"
        raise web.HTTPBadRequest(reason=f"{where}: {error['msg']}") from None


def _index(rules: list[dict[str, Any]], rule_id: int) -> int:
    for index, rule in enumerate(rules):
        if rule["id"] == rule_id:
            return index
    raise web.HTTPNotFound(reason="rule not found")
