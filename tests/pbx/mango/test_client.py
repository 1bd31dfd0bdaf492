"""The MANGO client and provider against the MANGO simulator over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.domain import CampaignStatus, Language
from bot.pbx.base import InvalidRequest, NotReady, PbxRateLimited, PbxRejected, ProviderDeps
from bot.pbx.mango.account import MangoAccount
from bot.pbx.mango.provider import MangoProvider
from bot.ratelimit import SharedRateLimiter
from bot.texts import Texts
from sandbox.mango import Campaign, Contact, Employee, MangoLimits, MangoSimulator
from sandbox.mango.blacklist import Entry

KEY, SALT = "test-api-key", "test-api-salt"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(KEY, SALT, limits=MangoLimits.disabled()) as simulator:
        simulator.auto_play = False
        simulator.add_employee(
            Employee(extension="101", name="Anna Petrova", phones=["79991112233"], groups=[1])
        )
        simulator.add_employee(
            Employee(extension="102", name="Boris Ivanov", phones=["79992223344"])
        )
        yield simulator


@pytest_asyncio.fixture
async def provider(sim: MangoSimulator, redis: Redis) -> AsyncIterator[MangoProvider]:
    account = MangoAccount(
        id="main", provider="mango", api_key=KEY, api_salt=SALT, api_url=sim.base_url
    )
    async with httpx.AsyncClient() as http:
        yield MangoProvider(
            account,
            ProviderDeps(http=http, limiter=SharedRateLimiter(redis)),
            stats_poll_interval=0.05,
            retry_delays=(0.01, 0.02),
        )


async def test_callback_is_signed_from_the_extension(
    sim: MangoSimulator, provider: MangoProvider
) -> None:
    first = await provider.callback("101", "74955404444")
    second = await provider.callback("101", "74955404444", line_number="74951234567")

    assert first.command_id != second.command_id
    sent = sim.commands("commands/callback")
    assert sent[0] == {
        "command_id": first.command_id,
        "from": {"extension": "101"},
        "to_number": "74955404444",
    }
    assert sent[1]["line_number"] == "74951234567"
    assert all(r.verified for r in sim.requests)


@pytest.mark.parametrize("http_status", [None, 420])
async def test_error_codes_become_sentences(
    sim: MangoSimulator, provider: MangoProvider, http_status: int | None
) -> None:
    sim.fail_next("commands/callback", code=2240, http_status=http_status)

    with pytest.raises(PbxRejected) as caught:
        await provider.callback("101", "74955404444")

    assert caught.value.vendor_code == 2240
    texts = Texts()
    assert texts.label(Language.EN, caught.value.message_key)
    assert texts.label(Language.RU, caught.value.message_key)
    assert caught.value.message_key == "pbx_codes.mango.2240"


async def test_bad_parameters_code(sim: MangoSimulator, provider: MangoProvider) -> None:
    sim.fail_next("commands/callback", code=3100)
    with pytest.raises(PbxRejected) as caught:
        await provider.callback("101", "not-a-number")
    assert caught.value.message_key == "pbx_codes.mango.3100"


async def test_rate_limit_503_is_retried(sim: MangoSimulator, provider: MangoProvider) -> None:
    sim.fail_next("account/balance", http_status=503, times=2)
    balance = await provider.balance()
    assert balance.amount == sim.balance[0]
    assert [r.status for r in sim.requests] == [503, 503, 200]

    sim.fail_next("account/balance", http_status=503, times=5)
    with pytest.raises(PbxRateLimited):
        await provider.balance()


async def test_sms_length_is_checked_before_sending(
    sim: MangoSimulator, provider: MangoProvider
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await provider.send_sms("101", "79990000000", "я" * 269)
    assert caught.value.params == {"length": 269, "limit": 268}
    await provider.send_sms("101", "79990000000", "я" * 268)
    await provider.send_sms("101", "79990000000", "a" * 612)
    with pytest.raises(InvalidRequest):
        await provider.send_sms("101", "79990000000", "a" * 613)
    assert len(sim.commands("commands/sms")) == 2


async def test_directory_balance_and_lines(sim: MangoSimulator, provider: MangoProvider) -> None:
    employees = {e.extension: e for e in await provider.list_employees()}
    assert employees["101"].name == "Anna Petrova"
    assert employees["101"].phones == ("+79991112233",)
    assert "103" not in employees

    balance = await provider.balance()
    assert isinstance(balance.amount, Decimal)
    assert balance.currency == sim.balance[1]


async def test_recording_is_streamed_once_ready(
    sim: MangoSimulator, provider: MangoProvider
) -> None:
    audio = b"ID3" + bytes(range(256)) * 1000
    sim.add_recording("rec-1", audio, ready_after=1)

    with pytest.raises(NotReady):
        await provider.recording("rec-1")
    stream = await provider.recording("rec-1")
    received = b"".join([chunk async for chunk in stream.chunks])

    assert received == audio
    assert stream.content_type.startswith("audio/")


async def test_call_history_polls_stats(sim: MangoSimulator, provider: MangoProvider) -> None:
    sim.stats_ready_after = 2
    end = datetime.now(UTC)
    records = await provider.call_history(end - timedelta(days=1), end)
    assert isinstance(records, list)
    request = sim.commands("stats/request")[0]
    assert int(request["date_to"]) - int(request["date_from"]) == 86400
    assert len(sim.commands("stats/result")) == 3


async def test_long_history_is_split_by_month(sim: MangoSimulator, provider: MangoProvider) -> None:
    sim.stats_ready_after = 0
    end = datetime.now(UTC)
    await provider.call_history(end - timedelta(days=45), end)
    assert len(sim.commands("stats/request")) == 2


async def test_campaigns(sim: MangoSimulator, provider: MangoProvider) -> None:
    sim.add_campaign(Campaign(campaign_id=16064, name="Spring", status=1, tasks_count=10))

    [campaign] = await provider.campaigns()
    assert (campaign.id, campaign.name, campaign.status) == (
        "16064",
        "Spring",
        CampaignStatus.PLANNED,
    )
    assert campaign.tasks_total == 10
    assert await provider.start_campaign("16064") is CampaignStatus.RUNNING
    assert await provider.stop_campaign("16064") in (
        CampaignStatus.STOPPED,
        CampaignStatus.STOPPING,
    )


async def test_signed_recording_link_downloads(
    sim: MangoSimulator, provider: MangoProvider
) -> None:
    sim.add_recording("rec-2", b"ID3-link")
    link = provider.recording_link("rec-2")
    assert link.startswith(sim.base_url + "queries/recording/link/rec-2/download/")
    async with httpx.AsyncClient(follow_redirects=True) as http:
        answer = await http.get(link)
        forged = await http.get(link[:-4] + "0000", follow_redirects=False)
    assert answer.content == b"ID3-link"
    assert forged.status_code != 200


async def test_address_book_look_ups_keep_to_the_spec_limits(
    sim: MangoSimulator, provider: MangoProvider
) -> None:
    sim.limits = MangoLimits()  # the spec's: 10 a second in all, ab/contact 50 a second
    sim.limiter.limits = sim.limits
    for index in range(25):
        sim.add_contact(Contact(name=f"Client {index}", phones=[f"+7 900 000-00-{index:02d}"]))

    found = await asyncio.gather(
        *(provider.find_contact(f"+790000000{index:02d}") for index in range(25))
    )

    assert [c.name if c else None for c in found] == [f"Client {i}" for i in range(25)]
    statuses = [r.status for r in sim.requests if r.path == "ab/contact/init"]
    assert statuses == [200] * 25  # never turned away with 503


async def test_black_list_add_and_remove_by_id(
    sim: MangoSimulator, provider: MangoProvider
) -> None:
    await provider.block_number("+79001234567", "pbxgram: Maria")
    sim.bwlists.numbers["black"].append(Entry(1, "7900*", "a mask stays"))

    assert await provider.unblock_number("+79001234567")
    assert not await provider.unblock_number("+79001234567")
    assert sim.bwlists.on("black") == ["7900*"]
    [added] = sim.commands("bwlists/number/add")
    assert added == {
        "list_type": "black",
        "number": "79001234567",
        "number_type": "tel",
        "comment": "pbxgram: Maria",
    }
