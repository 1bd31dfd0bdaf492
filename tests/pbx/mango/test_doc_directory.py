"""The employee directory (3.6.1 ``config/users/request``): a number switched off matches
nobody (line numbers are those of mango-office-api.txt)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from bot.pbx.base import ProviderDeps
from bot.pbx.mango import company
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.provider import MangoProvider
from bot.ratelimit import SharedRateLimiter
from sandbox.mango import Employee, MangoLimits, MangoSimulator

KEY, SALT = "test-api-key", "test-api-salt"

# Lines 2385-2430, example 1's answer, as printed (both employees carry extension "1234").
EXAMPLE_1 = """{
  "users": [
    {
      "general":
        {
          "name": "Ivan",
          "email": "john@mango-office.com",
          "department": "IT",
          "position": "lead developer"
        },
      "telephony":
        {
          "extension": "1234",
          "outgoingline" : "749512345678",
          "numbers":
            [
              { "number" : "sip:ivan@apidomain.mangosip.ru",
                "protocol": "sip", "order": "0", "wait_sec" : "12", "status": "on" },
              { "number" : "74952223311", "order": "1", "protocol": "tel",
                "wait_sec" : "5", "status": "on" }
            ]
        }
    },
    {
      "general":
        {
          "name": "Pavel",
          "email": "pavel@mango-office.com",
          "department": "IT",
          "position": "developer"
        },
      "telephony":
        {
          "extension": "1234",
          "outgoingline" : "749512345678",
          "numbers":
            [
              { "number" : "sip:pavel@apidomain.mangosip.ru",
                "protocol": "sip", "order": "0", "wait_sec" : "12", "status": "on" },
              { "number" : "78121000000", "protocol": "tel", "order": "1",
                "wait_sec" : "12", "status": "off" }
            ]
        }
    }
  ]
}"""


def test_the_doc_example_leaves_the_switched_off_number_out() -> None:
    """Line 2347: "status – статус номера, возможные значения: on – активен, off –
    выключен"; in the answer of lines 2385-2430 Ivan's 74952223311 is "on" (line 2404) and
    Pavel's 78121000000 "off" (line 2425)."""
    ivan, pavel = company.employees(json.loads(EXAMPLE_1), "main", "RU")
    assert (ivan.name, ivan.phones) == ("Ivan", ("+74952223311",))
    assert (pavel.name, pavel.phones) == ("Pavel", ())


def test_a_switched_off_number_is_not_brought_back_as_the_mobile() -> None:
    """Line 2347 marks the number itself off; ``mobile`` (line 2350) names no
    status, so the directory's "off" wins for the same number."""
    data = json.loads(EXAMPLE_1)
    data["users"][1]["general"]["mobile"] = "78121000000"
    data["users"][0]["general"]["mobile"] = "79161234567"
    ivan, pavel = company.employees(data, "main", "RU")
    assert ivan.phones == ("+74952223311", "+79161234567")
    assert pavel.phones == ()


def test_a_number_listed_on_elsewhere_still_counts() -> None:
    """Line 2347 gives the status per entry of ``numbers``: one entry switched on keeps
    the number even when another lists it off."""
    data = json.loads(EXAMPLE_1)
    numbers = data["users"][1]["telephony"]["numbers"]
    numbers.append({"number": "78121000000", "protocol": "tel", "status": "on"})
    _, pavel = company.employees(data, "main", "RU")
    assert pavel.phones == ("+78121000000",)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(KEY, SALT, limits=MangoLimits.disabled()) as simulator:
        yield simulator


async def test_the_provider_reads_the_simulators_status(sim: MangoSimulator, redis: Redis) -> None:
    """Lines 2312 and 2347, over HTTP: the simulator's directory carries each number's
    status and ``list_employees`` keeps only the numbers switched on."""
    sim.add_employee(
        Employee(
            extension="101",
            name="Anna Petrova",
            phones=["79991112233", "79991110000"],
            switched_off=["79991110000"],
        )
    )
    account = MangoAccount(
        id="main", provider="mango", api_key=KEY, api_salt=SALT, api_url=sim.base_url
    )
    async with httpx.AsyncClient() as http:
        provider = MangoProvider(account, ProviderDeps(http=http, limiter=SharedRateLimiter(redis)))
        [anna] = await provider.list_employees()
    assert anna.phones == ("+79991112233",)
