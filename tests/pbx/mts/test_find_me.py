"""The MTS client's "Найди меня" against the simulator: reading the rules as one mode and
its numbers, setting each mode (one rule, the others removed), refusing what does not fit
before asking, and the PBX's errors as the client's usual ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.pbx.base import InvalidRequest, PbxRejected, PbxUnavailable
from bot.pbx.mts.account import MtsAccount
from bot.pbx.mts.client import MtsClient
from bot.pbx.mts.find_me import FindMe, FindMeMode, FindMeRules, find_me_number
from sandbox.mts import Abonent, MtsSimulator

TOKEN = "215ef687-e898-419d-810c-2864efc0b1d0"
USER = 1735

# The doc's GET answer (4.11.1) without the ellipses.
DOC_RULES: dict[str, Any] = {
    "parallelRules": [
        {
            "id": 1066,
            "ruleName": "параллельный",
            "calledNumber": None,
            "ruleNumbers": [
                {"ruleId": 1069, "number": "003", "status": True, "name": "Основной"},
                {"ruleId": 1070, "number": "500", "status": False, "name": "Дополнительный"},
            ],
        }
    ],
    "sequentialRules": [
        {
            "id": 1093,
            "ruleName": "Последовательный",
            "calledNumber": None,
            "continueSearchIfBusy": True,
            "ruleNumbers": [
                {"ruleId": 1102, "number": "003", "status": True, "name": "Основной", "timeout": 3},
                {"ruleId": 1103, "number": "500", "status": False, "name": "Доп.", "timeout": 5},
            ],
        }
    ],
    "redirectRules": [
        {
            "id": 1256,
            "ruleName": "Переадресация",
            "calledNumber": None,
            "alwaysRedirect": "650",
            "ifBusyRedirect": None,
            "ifNoAnswerRedirect": None,
            "ifNoAnswerTimeout": None,
            "ifNoAccessRedirect": None,
            "conditional": "",
            "scheduleId": None,
        }
    ],
}


@pytest_asyncio.fixture
async def pbx() -> AsyncIterator[MtsSimulator]:
    async with MtsSimulator(TOKEN, step_delay=0.001) as sim:
        sim.add_abonent(Abonent(USER, "101", "Anna", "Petrova", "+79991112233"))
        yield sim


@pytest_asyncio.fixture
async def client(pbx: MtsSimulator) -> AsyncIterator[MtsClient]:
    account = MtsAccount.model_validate(
        {
            "id": "mts",
            "provider": "mts",
            "api_url": pbx.base_url,
            "api_token": TOKEN,
            "callback_key": "k" * 16,
        }
    )
    async with httpx.AsyncClient() as http:
        yield MtsClient(account, http, retry_delays=(0.01,))


def test_the_doc_sample_reads_as_rules_and_a_mode() -> None:
    rules = FindMeRules.model_validate(DOC_RULES)

    assert [n.number for n in rules.parallel_rules[0].rule_numbers] == ["003", "500"]
    assert rules.sequential_rules[0].rule_numbers[1].timeout == 5
    assert rules.redirect_rules[0].always_redirect == "650"
    # a redirect wins; numbers switched off do not count
    assert FindMe.of(rules) == FindMe(mode=FindMeMode.REDIRECT, numbers=("650",))
    no_redirect = FindMeRules.model_validate({**DOC_RULES, "redirectRules": None})
    assert FindMe.of(no_redirect) == FindMe(mode=FindMeMode.SEQUENTIAL, numbers=("003",))
    switched_off = {"ruleId": 1, "number": "500", "status": False}
    only_off = {"parallelRules": [{"id": 1066, "ruleNumbers": [switched_off]}]}
    assert FindMe.of(FindMeRules.model_validate(only_off)) == FindMe()


def test_numbers_as_the_rules_take_them() -> None:
    assert find_me_number("+7 900 123-45-67") == "89001234567"
    assert find_me_number("8 (900) 123-45-67") == "89001234567"
    assert find_me_number("9001234567") == "89001234567"
    assert find_me_number("003") == "003"
    assert find_me_number("+49 30 89045511") == "+493089045511"
    for bad in ("", "abc", "1234567", "+12"):
        with pytest.raises(InvalidRequest):
            find_me_number(bad)


async def test_setting_each_mode(client: MtsClient, pbx: MtsSimulator) -> None:
    assert await client.find_me(USER) == FindMe()

    parallel = await client.set_find_me(USER, FindMeMode.PARALLEL, ["+7 900 123-45-67", "102"])
    assert parallel == FindMe(mode=FindMeMode.PARALLEL, numbers=("89001234567", "102"))
    [rule] = pbx.find_me.of(USER)["parallelRules"]
    assert rule["ruleName"] == "pbxgram"
    assert [n["status"] for n in rule["ruleNumbers"]] == [True, True]

    sequential = await client.set_find_me(USER, FindMeMode.SEQUENTIAL, ["102", "103"], rings=4)
    assert sequential == FindMe(mode=FindMeMode.SEQUENTIAL, numbers=("102", "103"))
    rules = pbx.find_me.of(USER)
    assert rules["parallelRules"] == []
    [rule] = rules["sequentialRules"]
    assert [n["timeout"] for n in rule["ruleNumbers"]] == [4, 4]

    again = await client.set_find_me(USER, FindMeMode.SEQUENTIAL, ["104"])
    assert again.numbers == ("104",)
    assert [r["id"] for r in pbx.find_me.of(USER)["sequentialRules"]] == [rule["id"]]
    [put] = pbx.calls_to("PUT", f"/api/findMe/{USER}/sequential/{rule['id']}")
    assert put.json["id"] == rule["id"]

    redirect = await client.set_find_me(USER, FindMeMode.REDIRECT, ["89001234567"])
    assert redirect == FindMe(mode=FindMeMode.REDIRECT, numbers=("89001234567",))
    assert pbx.find_me.of(USER)["sequentialRules"] == []

    assert await client.set_find_me(USER, FindMeMode.OFF) == FindMe()
    assert pbx.find_me.of(USER) == {"parallelRules": [], "sequentialRules": [], "redirectRules": []}


async def test_rules_made_in_the_portal_are_replaced(client: MtsClient, pbx: MtsSimulator) -> None:
    for mode in ("parallel", "parallel", "redirect"):
        body = {k: v for k, v in DOC_RULES[f"{mode}Rules"][0].items() if k != "id"}
        if mode == "parallel":
            body["ruleNumbers"] = [
                {k: v for k, v in n.items() if k != "ruleId"} for n in body["ruleNumbers"]
            ]
        pbx.find_me.add(USER, mode, body)
    assert (await client.find_me(USER)).mode is FindMeMode.REDIRECT

    result = await client.set_find_me(USER, FindMeMode.PARALLEL, ["003"])

    assert result == FindMe(mode=FindMeMode.PARALLEL, numbers=("003",))
    [kept] = pbx.find_me.of(USER)["parallelRules"]
    assert [n["number"] for n in kept["ruleNumbers"]] == ["003"]
    assert pbx.find_me.of(USER)["redirectRules"] == []


@pytest.mark.parametrize(
    ("mode", "numbers", "rings"),
    [
        (FindMeMode.OFF, ["102"], 3),
        (FindMeMode.PARALLEL, [], 3),
        (FindMeMode.REDIRECT, ["102", "103"], 3),
        (FindMeMode.PARALLEL, [str(n) for n in range(100, 111)], 3),
        (FindMeMode.SEQUENTIAL, ["102"], 0),
        (FindMeMode.REDIRECT, ["not a number"], 3),
    ],
)
async def test_what_does_not_fit_is_refused_before_asking(
    client: MtsClient, pbx: MtsSimulator, mode: FindMeMode, numbers: list[str], rings: int
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        await client.set_find_me(USER, mode, numbers, rings=rings)
    assert refused.value.message_key == "mts.errors.bad_request"
    assert pbx.requests == []


async def test_the_pbx_errors(client: MtsClient, pbx: MtsSimulator) -> None:
    with pytest.raises(PbxRejected) as unknown:
        await client.find_me(999)
    assert unknown.value.message_key == "mts.errors.not_found"

    pbx.fail_next("POST", f"/api/findMe/{USER}/redirect", 400)
    with pytest.raises(InvalidRequest) as bad:
        await client.set_find_me(USER, FindMeMode.REDIRECT, ["102"])
    assert bad.value.vendor_code == 400

    pbx.fail_next("GET", f"/api/findMe/{USER}", 503)
    with pytest.raises(PbxUnavailable):
        await client.find_me(USER)


async def test_an_answer_that_is_not_rules(client: MtsClient, pbx: MtsSimulator) -> None:
    pbx.find_me.rules[USER] = {"parallelRules": [{"ruleName": "no id"}]}
    with pytest.raises(PbxUnavailable):
        await client.find_me(USER)


async def test_a_refused_change_leaves_the_old_settings(
    client: MtsClient, pbx: MtsSimulator
) -> None:
    await client.set_find_me(USER, FindMeMode.REDIRECT, ["102"])
    pbx.fail_next("POST", f"/api/findMe/{USER}/parallel", 400)

    with pytest.raises(InvalidRequest):
        await client.set_find_me(USER, FindMeMode.PARALLEL, ["103"])

    assert await client.find_me(USER) == FindMe(mode=FindMeMode.REDIRECT, numbers=("102",))
