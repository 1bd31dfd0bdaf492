"""``commands/sms`` and its ``sms_sender``: optional in the spec (mango-office-api.txt),
mandatory and empty in the FAQ (mango-office-api-faq.txt): pbxgram always sends it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from redis.asyncio import Redis

from bot.pbx.base import ProviderDeps
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.provider import MangoProvider
from bot.ratelimit import SharedRateLimiter
from sandbox.mango import Employee, MangoLimits, MangoSimulator

KEY, SALT = "test-api-key", "test-api-salt"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(KEY, SALT, limits=MangoLimits.disabled()) as simulator:
        simulator.auto_play = False
        simulator.add_employee(Employee(extension="222", name="Anna", phones=["79991112233"]))
        yield simulator


async def _send(sim: MangoSimulator, redis: Redis, sender: str | None) -> dict[str, object]:
    account = MangoAccount(
        id="main",
        provider="mango",
        api_key=KEY,
        api_salt=SALT,
        api_url=sim.base_url,
        sms_sender=sender,
    )
    async with httpx.AsyncClient() as http:
        provider = MangoProvider(account, ProviderDeps(http=http, limiter=SharedRateLimiter(redis)))
        ticket = await provider.send_sms("222", "74955404444", "Hello world!")
    [payload] = sim.commands("commands/sms")
    assert payload["command_id"] == ticket.command_id
    return payload


async def test_no_sender_name_goes_out_empty(sim: MangoSimulator, redis: Redis) -> None:
    """FAQ line 278: "sms_sender" => "" // ОБЯЗАТЕЛЬНЫЙ ПАРАМЕТР ... Если не заполнено -
    будет использоваться имя отправителя, выбранное в ЛК"; spec line 1066 calls it
    optional with the same fallback: an empty one satisfies both."""
    payload = await _send(sim, redis, None)
    assert payload == {
        "command_id": payload["command_id"],
        "text": "Hello world!",
        "from_extension": "222",
        "to_number": "74955404444",
        "sms_sender": "",
    }


async def test_the_accounts_sender_name_goes_out(sim: MangoSimulator, redis: Redis) -> None:
    """Spec 3.2.4, the example of lines 1084-1093: "sms_sender" : "PRO-TAXI" with
    "from_extension": "222"."""
    payload = await _send(sim, redis, "PRO-TAXI")
    assert payload["sms_sender"] == "PRO-TAXI"
    assert payload["from_extension"] == "222"
