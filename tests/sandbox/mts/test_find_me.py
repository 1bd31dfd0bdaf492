"""The MTS simulator's "Найди меня" (section 4.11) over HTTP: the doc's sample bodies are
accepted and shown back as GET shows rules, edits and deletions by rule id, refusals of
bodies the field list does not allow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from sandbox.mts import Abonent, MtsSimulator

TOKEN = "t"
USER = 1735
EMPTY: dict[str, list[Any]] = {"parallelRules": [], "sequentialRules": [], "redirectRules": []}

# The doc's POST bodies (4.11.2), as printed.
PARALLEL = {
    "ruleName": "параллельный",
    "calledNumber": None,
    "ruleNumbers": [{"number": "003", "status": True, "name": "Основной"}],
}
SEQUENTIAL = {
    "ruleName": "Последовательный",
    "calledNumber": None,
    "continueSearchIfBusy": True,
    "ruleNumbers": [{"number": "003", "status": True, "name": "Основной", "timeout": 3}],
}
REDIRECT = {
    "ruleName": "Переадресация",
    "calledNumber": None,
    "alwaysRedirect": "650",
    "ifBusyRedirect": "",
    "ifNoAnswerRedirect": "",
    "ifNoAnswerTimeout": "",
    "ifNoAccessRedirect": "",
    "conditional": "",
    "schedudyId": None,
}


@pytest_asyncio.fixture
async def api() -> AsyncIterator[tuple[MtsSimulator, httpx.AsyncClient]]:
    async with MtsSimulator(TOKEN, step_delay=0.001) as sim:
        sim.add_abonent(Abonent(USER, "101", "Anna"))
        headers = {"X-AUTH-TOKEN": TOKEN}
        async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as client:
            yield sim, client


async def test_rules_are_added_shown_edited_and_deleted(
    api: tuple[MtsSimulator, httpx.AsyncClient],
) -> None:
    sim, client = api
    url = f"api/findMe/{USER}"
    assert (await client.get(url)).json() == EMPTY

    parallel = await client.post(f"{url}/parallel", json=PARALLEL)
    sequential = await client.post(f"{url}/sequential", json=SEQUENTIAL)
    redirect = await client.post(f"{url}/redirect", json=REDIRECT)

    assert parallel.status_code == sequential.status_code == redirect.status_code == 200
    shown = (await client.get(url)).json()
    assert shown == {
        "parallelRules": [parallel.json()],
        "sequentialRules": [sequential.json()],
        "redirectRules": [redirect.json()],
    }
    rule_id = parallel.json()["id"]
    [number] = parallel.json()["ruleNumbers"]
    assert parallel.json() == {
        "id": rule_id,
        "ruleName": "параллельный",
        "calledNumber": None,
        "ruleNumbers": [
            {"ruleId": number["ruleId"], "number": "003", "status": True, "name": "Основной"}
        ],
    }
    assert sequential.json()["continueSearchIfBusy"] is True
    assert sequential.json()["ruleNumbers"][0]["timeout"] == 3
    assert redirect.json() == {  # as GET shows it: nulls for the empty strings sent
        "id": redirect.json()["id"],
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

    edit = {
        "id": rule_id,
        "ruleName": "параллельный",
        "calledNumber": None,
        "ruleNumbers": [
            {"ruleId": number["ruleId"], "number": "003", "status": False, "name": "Основной"},
            {"number": "89001234567", "status": True, "name": "Мобильный"},
        ],
    }
    edited = await client.put(f"{url}/parallel/{rule_id}", json=edit)
    assert edited.status_code == 200
    kept, added = edited.json()["ruleNumbers"]
    assert (kept["ruleId"], kept["status"]) == (number["ruleId"], False)
    assert added["number"] == "89001234567" and added["ruleId"] not in (rule_id, kept["ruleId"])
    assert sim.find_me.of(USER)["parallelRules"] == [edited.json()]

    for mode, answer in (
        ("parallel", parallel),
        ("sequential", sequential),
        ("redirect", redirect),
    ):
        assert (await client.delete(f"{url}/{mode}/{answer.json()['id']}")).status_code == 200
    assert (await client.get(url)).json() == EMPTY
    assert (await client.delete(f"{url}/parallel/{rule_id}")).status_code == 404


def _with(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**body, **changes}


NUMBER = {"number": "003", "status": True, "name": "Основной"}


@pytest.mark.parametrize(
    ("mode", "body"),
    [
        ("parallel", _with(PARALLEL, ruleName="x" * 31)),
        ("parallel", _with(PARALLEL, ruleName="")),
        ("parallel", {"ruleNumbers": PARALLEL["ruleNumbers"]}),
        ("parallel", _with(PARALLEL, ruleNumbers=[])),
        ("parallel", _with(PARALLEL, ruleNumbers=[NUMBER] * 11)),
        ("parallel", _with(PARALLEL, ruleNumbers=[{**NUMBER, "number": "+7 900 123"}])),
        ("parallel", _with(PARALLEL, ruleNumbers=[{**NUMBER, "status": "true"}])),
        ("parallel", _with(PARALLEL, ruleNumbers=[{"status": True, "name": "Основной"}])),
        ("parallel", _with(PARALLEL, ruleNumbers=[{**NUMBER, "ruleId": 5}])),
        ("sequential", _with(SEQUENTIAL, ruleNumbers=[NUMBER])),
        ("sequential", _with(SEQUENTIAL, ruleNumbers=[{**NUMBER, "timeout": 0}])),
        ("redirect", _with(REDIRECT, alwaysRedirect="")),
        ("redirect", _with(REDIRECT, alwaysRedirect="", ifNoAnswerRedirect="650")),
        ("redirect", _with(REDIRECT, alwaysRedirect="six-five-zero")),
        ("redirect", ["not", "an", "object"]),
    ],
)
async def test_bodies_the_doc_does_not_allow_are_refused(
    api: tuple[MtsSimulator, httpx.AsyncClient], mode: str, body: Any
) -> None:
    sim, client = api
    refused = await client.post(f"api/findMe/{USER}/{mode}", json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]
    assert sim.find_me.of(USER) == EMPTY


async def test_refusals_by_rule_and_abonent(api: tuple[MtsSimulator, httpx.AsyncClient]) -> None:
    _, client = api
    url = f"api/findMe/{USER}"
    made = (await client.post(f"{url}/redirect", json=REDIRECT)).json()

    other = _with(REDIRECT, id=made["id"] + 1)
    assert (await client.put(f"{url}/redirect/{made['id']}", json=other)).status_code == 400
    assert (await client.put(f"{url}/parallel/{made['id']}", json=PARALLEL)).status_code == 404
    assert (await client.delete(f"{url}/sequential/{made['id']}")).status_code == 404
    assert (await client.get("api/findMe/999")).status_code == 404
    assert (await client.post("api/findMe/999/parallel", json=PARALLEL)).status_code == 404
    assert (await client.post(f"{url}/forward", json=PARALLEL)).status_code == 404
    no_answer = _with(REDIRECT, ifNoAnswerRedirect="89001234567", ifNoAnswerTimeout="5")
    changed = await client.put(f"{url}/redirect/{made['id']}", json=no_answer)
    assert changed.json()["ifNoAnswerTimeout"] == 5
    for _ in range(9):
        assert (await client.post(f"{url}/redirect", json=REDIRECT)).status_code == 200
    assert (await client.post(f"{url}/redirect", json=REDIRECT)).status_code == 400  # 11th
