"""The MTS client and provider against the simulator: the token on every request, each
documented method, error statuses as sentences, recordings that are not ready at first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bot.domain import Language
from bot.pbx.base import (
    Capability,
    InvalidRequest,
    NotReady,
    PbxError,
    PbxRateLimited,
    PbxRejected,
    PbxUnavailable,
    ProviderDeps,
    UnsupportedError,
)
from bot.pbx.mts.account import MtsAccount
from bot.pbx.mts.client import MtsClient
from bot.pbx.mts.provider import MtsProvider, transfer_address
from bot.texts import Texts
from sandbox.mts import Abonent, MtsSimulator

TOKEN = "215ef687-e898-419d-810c-2864efc0b1d0"


@pytest_asyncio.fixture
async def pbx() -> AsyncIterator[MtsSimulator]:
    async with MtsSimulator(TOKEN, step_delay=0.001) as sim:
        sim.add_abonent(Abonent(1735, "101", "Anna", "Petrova", "+79991112233", group_id=7))
        sim.add_abonent(Abonent(1736, "102", "Boris", "Ivanov", group_id=7))
        sim.add_group(7, "Sales")
        yield sim


def account(pbx: MtsSimulator, token: str = TOKEN, **extra: Any) -> MtsAccount:
    return MtsAccount.model_validate(
        {
            "id": "mts",
            "provider": "mts",
            "api_url": pbx.base_url,
            "api_token": token,
            "callback_key": "k" * 16,
            **extra,
        }
    )


@pytest_asyncio.fixture
async def provider(pbx: MtsSimulator) -> AsyncIterator[MtsProvider]:
    async with httpx.AsyncClient() as http:
        yield MtsProvider(account(pbx), ProviderDeps(http=http), retry_delays=(0.01,))


async def test_directory_and_groups(provider: MtsProvider, pbx: MtsSimulator) -> None:
    employees = await provider.list_employees()
    groups = await provider.list_groups()

    assert [(e.extension, e.name, e.phones) for e in employees] == [
        ("101", "Anna Petrova", ("+79991112233",)),
        ("102", "Boris Ivanov", ()),
    ]
    assert [(g.id, g.name, g.members) for g in groups] == [("7", "Sales", ("101", "102"))]
    assert {r.path for r in pbx.requests} == {"/api/abonents", "/api/groups"}
    assert await provider.client.abonents(extension="102") == [pbx.abonents[1736].as_api()]


async def test_a_wrong_token_is_a_sentence(pbx: MtsSimulator) -> None:
    async with httpx.AsyncClient() as http:
        client = MtsClient(account(pbx, token="wrong"), http)
        with pytest.raises(PbxRejected) as caught:
            await client.abonents()
    assert caught.value.vendor_code == 401
    assert caught.value.message_key == "mts.errors.token"
    texts = Texts()
    assert "API" in texts.label(Language.EN, caught.value.message_key)
    assert "ключ API" in texts.label(Language.RU, caught.value.message_key)


async def test_click_to_call_rings_the_abonent_then_the_client(
    provider: MtsProvider, pbx: MtsSimulator
) -> None:
    ticket = await provider.callback("102", "79001234567")
    await pbx.wait_idle()

    [dial] = pbx.calls_to("POST", "/api/user/1736/calls")
    assert dial.query == {"address": "tel:+79001234567"}
    assert dial.status == 201
    assert ticket.command == "callback"
    assert [p.event["eventType"] for p in pbx.posted] == []  # no callback URL enabled yet
    with pytest.raises(InvalidRequest) as unknown:
        await provider.callback("999", "79001234567")
    assert unknown.value.message_key == "mts.errors.no_abonent"


async def test_calls_hang_up_and_transfer(provider: MtsProvider, pbx: MtsSimulator) -> None:
    pbx.auto_answer = False
    await provider.callback("101", "79001234567")
    await pbx.wait_idle()
    [active] = await provider.client.active_calls(1735)
    info = await provider.client.call_info(1735, active["callId"])
    assert info["remotePartyAddress"] == "tel:+79001234567"
    assert info["state"] == "Alerting"

    await provider.transfer(f"1735:{active['callId']}", "+7 900 765-43-21")
    assert pbx.transfers == [(1735, active["callId"], "89007654321")]
    assert await provider.client.active_calls(1735) == []

    await provider.callback("101", "79001234567")
    [again] = await provider.client.active_calls(1735)
    await provider.hangup(f"1735:{again['callId']}")
    assert pbx.calls_to("DELETE", f"/api/user/1735/calls/{again['callId']}")[0].status == 200
    with pytest.raises(PbxRejected) as gone:
        await provider.hangup(f"1735:{again['callId']}")
    assert gone.value.message_key == "mts.errors.not_found"
    with pytest.raises(InvalidRequest):
        await provider.hangup("not-a-leg")


async def test_consult_transfer_joins_two_calls(provider: MtsProvider, pbx: MtsSimulator) -> None:
    pbx.auto_answer = False
    await provider.callback("101", "79001234567")
    await provider.callback("101", "79007654321")
    first, second = (c["callId"] for c in await provider.client.active_calls(1735))

    await provider.transfer(f"1735:{first}", f"1735:{second}", consult=True)

    assert pbx.calls_to("PUT", f"/api/user/1735/calls/{first}/ConsultTransfer/{second}")
    with pytest.raises(InvalidRequest):
        await provider.transfer(f"1735:{first}", f"1736:{second}", consult=True)


async def test_call_return_and_redial(provider: MtsProvider, pbx: MtsSimulator) -> None:
    with pytest.raises(PbxRejected):
        await provider.redial("101")
    await provider.callback("101", "79001234567")
    await provider.redial("101")
    await pbx.ring_group("+79121112233", ["101"])
    await provider.call_return("101")
    await pbx.wait_idle()

    assert pbx.last_dialled[1735] == "+79121112233"
    assert pbx.calls_to("POST", "/api/user/1735/calls/LastNumberRedial")[-1].status == 200
    assert pbx.calls_to("POST", "/api/user/1735/calls/CallReturn")[-1].status == 200


async def test_recordings_stream_once_ready(provider: MtsProvider, pbx: MtsSimulator) -> None:
    await pbx.ring_group("+79121112233", ["101"], answered_by="101", record=True, not_ready=2)
    [track] = pbx.recordings

    for _ in range(2):
        with pytest.raises(NotReady):
            await provider.recording(track)
    audio = await provider.recording(track)
    data = b"".join([chunk async for chunk in audio.chunks])

    assert data == pbx.recordings[track]
    assert audio.content_type == "audio/mpeg"
    assert pbx.requests[-1].path == f"/api/callRecording/mp3/{track}"
    pbx.fail_next("GET", f"/api/callRecording/mp3/{track}", 503)
    with pytest.raises(NotReady):
        await provider.recording(track)


async def test_history_reads_every_page(provider: MtsProvider, pbx: MtsSimulator) -> None:
    for _ in range(3):
        await pbx.ring_group("+79121112233", ["101", "102"], answered_by="102")
    await pbx.ring_group("+79121112233", ["101"])
    now = datetime.now(UTC)
    provider.client.page_size = 3

    records = await provider.call_history(now - timedelta(hours=1), now + timedelta(minutes=1))
    every = await provider.client.call_history("enterprise")

    assert len(records) == 7
    assert len(every) == 7
    answered = [r for r in records if r.answered]
    assert {r.extension for r in answered} == {"102"}
    assert all(r.direction == "inbound" and r.caller == "+79121112233" for r in records)
    assert len({r.call_id for r in records}) == 4  # halves grouped into calls
    [query] = {
        tuple(sorted(r.query))
        for r in pbx.calls_to("GET", "/api/v1/callHistory/enterprise")
        if "dateFrom" in r.query
    }
    assert query == ("dateFrom", "dateTo", "page", "size")
    pages = [r.query["page"] for r in pbx.calls_to("GET", "/api/v1/callHistory/enterprise")]
    assert pages == ["0", "1", "2"] * 2


async def test_enabling_the_services(provider: MtsProvider, pbx: MtsSimulator) -> None:
    await provider.client.enable("apicrm", "https://bot.example/pbx/mts/events", "k" * 16)
    await provider.client.enable("webhook", "https://bot.example/pbx/mts/events", "k" * 16)

    assert pbx.services == {
        "apicrm": ("https://bot.example/pbx/mts/events", "k" * 16),
        "webhook": ("https://bot.example/pbx/mts/events", "k" * 16),
    }
    assert pbx.requests[0].json == {
        "callbackUrl": "https://bot.example/pbx/mts/events",
        "clientApiKey": "k" * 16,
    }


async def test_subscriptions(provider: MtsProvider, pbx: MtsSimulator) -> None:
    made = await provider.client.subscribe(1735)
    info = await provider.client.subscription(1735, made["subscriptionId"])
    renewed = await provider.client.renew(1735, made["subscriptionId"])
    await provider.client.unsubscribe(1735, made["subscriptionId"])

    assert made["expires"] == info["expires"] == renewed["expires"] == 3600
    assert pbx.subscriptions == {}
    with pytest.raises(PbxRejected):
        await provider.client.renew(1735, made["subscriptionId"])


@pytest.mark.parametrize(
    ("status", "error", "key"),
    [
        (400, InvalidRequest, "mts.errors.bad_request"),
        (403, PbxRejected, "mts.errors.forbidden"),
        (404, PbxRejected, "mts.errors.not_found"),
        (409, PbxRejected, "mts.errors.refused"),
        (502, PbxUnavailable, "pbx_errors.unavailable"),
    ],
)
async def test_error_statuses(
    provider: MtsProvider, pbx: MtsSimulator, status: int, error: type[PbxError], key: str
) -> None:
    pbx.fail_next("POST", "/api/user/1735/calls", status)
    with pytest.raises(error) as caught:
        await provider.callback("101", "79001234567")
    assert caught.value.message_key == key
    Texts().label(Language.RU, key, code=status)  # a sentence exists


async def test_rate_limits_are_retried_then_reported(
    provider: MtsProvider, pbx: MtsSimulator
) -> None:
    pbx.fail_next("GET", "/api/groups", 429)
    assert await provider.list_groups()
    pbx.fail_next("GET", "/api/groups", 429, times=2)
    with pytest.raises(PbxRateLimited):
        await provider.list_groups()


async def test_what_mts_cannot_do(provider: MtsProvider) -> None:
    assert not provider.supports(Capability.SMS)
    assert not provider.supports(Capability.BALANCE)
    assert not provider.supports(Capability.CAMPAIGNS)
    for refused in (provider.balance(), provider.send_sms("101", "79001234567", "hi")):
        with pytest.raises(UnsupportedError):
            await refused


def test_transfer_addresses_are_eight_and_ten_digits() -> None:
    assert transfer_address("+79007654321") == "89007654321"
    assert transfer_address("9007654321") == "89007654321"
    assert transfer_address("102") == "102"


async def test_a_call_half_s_recording_id_is_fetched_in_the_documented_form(
    provider: MtsProvider, pbx: MtsSimulator
) -> None:
    """Section 4.9's example is ``callRecording/mp3/11122233:1`` (line 958): an id kept
    with its ``callhalf-`` part is asked for without it."""
    base = await pbx.ring_group("+79121112233", ["101"], answered_by="101", record=True)
    [half] = [leg.ext_tracking_id for leg in pbx.legs.values() if leg.base == base]

    audio = await provider.recording(half)
    await audio.aclose()

    assert pbx.requests[-1].path == f"/api/callRecording/mp3/{base}"
    assert pbx.requests[-1].status == 200
