"""MTS "Найди меня" (section 4.11): where an abonent's calls also ring, or go instead.

The PBX keeps three kinds of rules, each a list in the ``GET /api/findMe/{userId}`` answer
(:class:`FindMeRules`): parallel (the numbers ring together), sequential (one after
another, ``timeout`` rings each) and redirect (calls go to another number). Use
:class:`FindMe` for what people see and set, one mode and its numbers; the client's
``set_find_me`` turns it into rules (and removes the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.pbx.base import InvalidRequest

RULE_NAME = "pbxgram"  # ruleName and number names: who set the rule, in the portal
MAX_NUMBERS = 10  # "ограничение 10 правил на один тип маршрутизации"
DEFAULT_RINGS = 3  # sequential: rings on each number before the next one


class FindMeMode(StrEnum):
    OFF = "off"
    PARALLEL = "parallel"
    SEQUENTIAL = "sequential"
    REDIRECT = "redirect"


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class RuleNumber(_Answer):
    """One number of a parallel or sequential rule; ``status`` False: switched off."""

    rule_id: int | None = Field(None, alias="ruleId")
    number: str
    status: bool = True
    name: str | None = None
    timeout: int | None = None


class ParallelRule(_Answer):
    id: int
    rule_name: str | None = Field(None, alias="ruleName")
    called_number: str | None = Field(None, alias="calledNumber")
    rule_numbers: list[RuleNumber] = Field(default_factory=list, alias="ruleNumbers")

    @field_validator("rule_numbers", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    def active(self) -> list[str]:
        """The numbers switched on, in order."""
        return [n.number for n in self.rule_numbers if n.status and n.number]


class SequentialRule(ParallelRule):
    continue_search_if_busy: bool | None = Field(None, alias="continueSearchIfBusy")


class RedirectRule(_Answer):
    id: int
    rule_name: str | None = Field(None, alias="ruleName")
    called_number: str | None = Field(None, alias="calledNumber")
    always_redirect: str | None = Field(None, alias="alwaysRedirect")
    if_busy_redirect: str | None = Field(None, alias="ifBusyRedirect")
    if_no_answer_redirect: str | None = Field(None, alias="ifNoAnswerRedirect")
    if_no_answer_timeout: int | str | None = Field(None, alias="ifNoAnswerTimeout")
    if_no_access_redirect: str | None = Field(None, alias="ifNoAccessRedirect")
    conditional: str | None = None
    schedule_id: int | None = Field(None, alias="scheduleId")

    def active(self) -> list[str]:
        """Where calls go: the unconditional number first, then the conditional ones."""
        targets = (
            self.always_redirect,
            self.if_busy_redirect,
            self.if_no_answer_redirect,
            self.if_no_access_redirect,
        )
        return list(dict.fromkeys(t for t in targets if t))


class FindMeRules(_Answer):
    """The ``GET /api/findMe/{userId}`` answer."""

    parallel_rules: list[ParallelRule] = Field(default_factory=list, alias="parallelRules")
    sequential_rules: list[SequentialRule] = Field(default_factory=list, alias="sequentialRules")
    redirect_rules: list[RedirectRule] = Field(default_factory=list, alias="redirectRules")

    @field_validator("parallel_rules", "sequential_rules", "redirect_rules", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    def ids(self, mode: FindMeMode) -> list[int]:
        """The ids of the rules of ``mode`` (none for OFF)."""
        rules: list[ParallelRule] | list[SequentialRule] | list[RedirectRule] = []
        if mode is FindMeMode.PARALLEL:
            rules = self.parallel_rules
        elif mode is FindMeMode.SEQUENTIAL:
            rules = self.sequential_rules
        elif mode is FindMeMode.REDIRECT:
            rules = self.redirect_rules
        return [rule.id for rule in rules]


class FindMe(BaseModel):
    """An abonent's "Найди меня" as one mode and its numbers (none when OFF)."""

    model_config = ConfigDict(frozen=True)

    mode: FindMeMode = FindMeMode.OFF
    numbers: tuple[str, ...] = ()

    @classmethod
    def of(cls, rules: FindMeRules) -> FindMe:
        """The mode in force: a redirect wins over sequential, sequential over parallel
        (the doc does not say which wins; this order is ours), and a rule with every
        number switched off does not count."""
        kinds: list[tuple[FindMeMode, Sequence[ParallelRule | RedirectRule]]] = [
            (FindMeMode.REDIRECT, rules.redirect_rules),
            (FindMeMode.SEQUENTIAL, rules.sequential_rules),
            (FindMeMode.PARALLEL, rules.parallel_rules),
        ]
        for mode, found in kinds:
            numbers = [number for rule in found for number in rule.active()]
            if numbers:
                return cls(mode=mode, numbers=tuple(dict.fromkeys(numbers)))
        return cls()


def find_me_number(value: str) -> str:
    """A number as the rules take it: an extension as it is, a Russian number as 8 and ten
    digits (as BlindTransfer takes them), another country's as ``+<country><number>``.
    InvalidRequest for anything else."""
    plain = value.strip()
    digits = "".join(ch for ch in plain if ch.isdigit())
    international = plain.startswith("+")
    if len(digits) == 11 and (digits[0] == "7" or (digits[0] == "8" and not international)):
        return "8" + digits[1:]
    if len(digits) == 10 and not international:
        return "8" + digits
    if 1 <= len(digits) <= 6 and not international:
        return digits
    if international and 10 <= len(digits) <= 15:
        return "+" + digits
    raise InvalidRequest(
        f"MTS findMe: {value!r} is not a number",
        message_key="mts.errors.bad_request",
        params={"code": 400},
    )


def rule_body(
    mode: FindMeMode, numbers: list[str], *, rings: int, rule_id: int | None = None
) -> dict[str, Any]:
    """The POST (or, with ``rule_id``, PUT) body of a rule of ``mode`` (section 4.11.2-3)."""
    body: dict[str, Any] = {} if rule_id is None or mode is FindMeMode.PARALLEL else {"id": rule_id}
    body |= {"ruleName": RULE_NAME, "calledNumber": None}
    if mode is FindMeMode.REDIRECT:
        return body | {
            "alwaysRedirect": numbers[0],
            "ifBusyRedirect": "",
            "ifNoAnswerRedirect": "",
            "ifNoAnswerTimeout": "",
            "ifNoAccessRedirect": "",
            "conditional": "",
            "scheduleId": None,
        }
    entries: list[dict[str, Any]] = [
        {"number": number, "status": True, "name": RULE_NAME} for number in numbers
    ]
    if mode is FindMeMode.SEQUENTIAL:
        body["continueSearchIfBusy"] = True
        for entry in entries:
            entry["timeout"] = rings
    return body | {"ruleNumbers": entries}
