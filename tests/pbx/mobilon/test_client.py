"""The Mobilon client and provider against the Mobilon simulator over real HTTP:
click-to-call with each employee's key, its error codes as sentences, call info and the
journal in the doc's XML (and the answers refused), recordings and history."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from bot.domain import Language
from bot.events import CommandResultEvent
from bot.formatting import reason
from bot.pbx.base import (
    InvalidRequest,
    NotReady,
    PbxError,
    PbxRejected,
    PbxUnavailable,
    ProviderDeps,
)
from bot.pbx.mobilon.account import MobilonAccount
from bot.pbx.mobilon.provider import MobilonProvider
from bot.pipeline.stream import decode_event
from bot.ratelimit import SharedRateLimiter
from bot.storage import Keys
from bot.texts import Texts
from sandbox.mobilon import MobilonSimulator, Subscriber
from tests.pbx.mobilon.doc_examples import INFO, JOURNAL
from tests.pbx.mobilon.test_journal_xml import BILLION_LAUGHS
from tests.secret_keys import TEST_BOX

TOKEN = "account-token-1234"
ANNA_KEY = "anna-key-0001"
CLIENT = "79001234567"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MobilonSimulator]:
    async with MobilonSimulator(TOKEN, step_delay=0.01) as simulator:
        simulator.outbound_ends = False
        simulator.add_subscriber(Subscriber(extension="101", key=ANNA_KEY))
        simulator.add_subscriber(Subscriber(extension="102", key="offline-key", registered=False))
        simulator.add_subscriber(
            Subscriber(extension="103", key="nobody-key", has_subscriber=False)
        )
        yield simulator


@pytest_asyncio.fixture
async def provider(sim: MobilonSimulator, redis: Redis) -> AsyncIterator[MobilonProvider]:
    account = MobilonAccount(id="mob", provider="mobilon", api_token=TOKEN, api_url=sim.base_url)
    async with httpx.AsyncClient() as http:
        found = MobilonProvider(
            account,
            ProviderDeps(
                http=http, redis=redis, limiter=SharedRateLimiter(redis), secret_box=TEST_BOX
            ),
        )
        await found.employee_keys.set("mob", "101", ANNA_KEY)
        await found.employee_keys.set("mob", "102", "offline-key")
        await found.employee_keys.set("mob", "103", "nobody-key")
        await found.employee_keys.set("mob", "104", "revoked-key")
        yield found


def sentences(error: PbxError) -> tuple[str, str]:
    texts = Texts()
    return tuple(  # type: ignore[return-value]
        reason(texts.bind(language), error.message_key, **error.params)
        for language in (Language.EN, Language.RU)
    )


async def test_call_uses_the_employees_own_key_and_reports_it_accepted(
    sim: MobilonSimulator, provider: MobilonProvider, redis: Redis
) -> None:
    ticket = await provider.callback("101", "+" + CLIENT)

    assert sim.calls_to_subscriber() == [{"key": ANNA_KEY, "outboundNumber": CLIENT}]
    entries = await redis.xrange(Keys().events_stream()) or []
    [result] = [decode_event(str(fields["event"])) for _, fields in entries if fields]
    assert isinstance(result, CommandResultEvent)
    assert (result.command, result.command_id, result.success) == (
        "callback",
        ticket.command_id,
        True,
    )


@pytest.mark.parametrize(
    ("extension", "number", "code", "english", "russian"),
    [
        (
            "102",
            CLIENT,
            1,
            "The employee's phone is not registered in the PBX right now: "
            "check that the softphone or desk phone is online.",
            "Телефон сотрудника сейчас не зарегистрирован в АТС: "
            "проверьте, что софтфон или телефон в сети.",
        ),
        (
            "104",
            CLIENT,
            2,
            "The PBX did not accept the employee's API key. "
            "An admin should set the current key with /mobilonkey.",
            "АТС не приняла API-ключ сотрудника. "
            "Администратору нужно задать действующий ключ командой /mobilonkey.",
        ),
        (
            "103",
            CLIENT,
            5,
            "This key belongs to a Mobilon portal user who has no subscriber or operator: "
            "link the user to one in the Mobilon portal.",
            "Этот ключ принадлежит пользователю портала Мобилон без абонента и оператора: "
            "свяжите пользователя с абонентом в портале.",
        ),
    ],
)
async def test_error_codes_become_sentences(
    sim: MobilonSimulator,
    provider: MobilonProvider,
    extension: str,
    number: str,
    code: int,
    english: str,
    russian: str,
) -> None:
    with pytest.raises(PbxRejected) as caught:
        await provider.callback(extension, number)

    assert caught.value.vendor_code == code
    assert sentences(caught.value) == (english, russian)
    assert len(sim.calls_to_subscriber()) == 1


async def test_code_3_from_the_pbx_and_refused_before_sending(
    sim: MobilonSimulator, provider: MobilonProvider
) -> None:
    expected = (
        "The number may contain only digits and Latin letters.",
        "Номер может состоять только из цифр и латинских букв.",
    )
    with pytest.raises(InvalidRequest) as before:
        await provider.callback("101", "7900 123")
    assert sentences(before.value) == expected
    assert sim.calls_to_subscriber() == []

    sim.fail_next("/api/call/CallToSubscriber", code=3)
    with pytest.raises(PbxRejected) as answered:
        await provider.callback("101", CLIENT)
    assert answered.value.vendor_code == 3
    assert sentences(answered.value) == expected


async def test_code_4_internal_error(sim: MobilonSimulator, provider: MobilonProvider) -> None:
    sim.fail_next("/api/call/CallToSubscriber", code=4)

    with pytest.raises(PbxRejected) as caught:
        await provider.callback("101", CLIENT)

    assert caught.value.vendor_code == 4
    assert sentences(caught.value) == (
        "The PBX had an internal error. Try again in a minute.",
        "Внутренняя ошибка АТС. Попробуйте ещё раз через минуту.",
    )


async def test_no_key_for_the_extension_is_explained_without_a_request(
    sim: MobilonSimulator, provider: MobilonProvider
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await provider.callback("105", CLIENT)

    assert sim.calls_to_subscriber() == []
    english, russian = sentences(caught.value)
    assert english == (
        "No Mobilon key is set for extension 105, so the PBX cannot call from it. "
        "Ask an admin to set it: /mobilonkey 105 <key>."
    )
    assert russian.startswith("Для внутреннего номера 105 не задан ключ Мобилон")


async def test_keys_never_reach_errors_or_logs(
    sim: MobilonSimulator, provider: MobilonProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PbxRejected) as caught:
        await provider.callback("104", CLIENT)
    await provider.client.journal("2015-04-28")

    assert "revoked-key" not in str(caught.value)
    assert "revoked-key" not in caplog.text and TOKEN not in caplog.text
    assert "key=***" in caplog.text


async def test_call_info_and_journal_show_finished_calls(
    sim: MobilonSimulator, provider: MobilonProvider
) -> None:
    placed = await provider.callback("101", CLIENT)
    assert placed.command == "callback"
    [callid] = list(sim.calls)
    assert await provider.client.call_info(callid) is None  # still going

    sim.finish(sim.calls[callid], answered_by="101", talk=42)
    info = await provider.client.call_info(callid)
    assert info is not None and info.answered and info.caller == "101"
    assert info.callee == CLIENT and info.duration >= 42
    assert info.record_url == f"/api/call/record?token={TOKEN}&callid={callid}"
    assert info.time == sim.calls[callid].started
    day = sim.day_of(sim.calls[callid])
    assert [e.callid for e in await provider.client.journal(day)] == [callid]
    assert await provider.client.journal("2015-04-28") == []
    asked = sim.received("/api/call/info") + sim.received("/api/call/journal")
    assert {q["format"] for q in asked} == {"xml"}


async def test_the_docs_examples_are_read_over_http(
    sim: MobilonSimulator, provider: MobilonProvider
) -> None:
    """mobilon-api.md lines 118-127 (info) and 151-170 (journal), answered verbatim."""
    sim.answer_next("/api/call/info", INFO)
    sim.answer_next("/api/call/journal", JOURNAL)

    info = await provider.client.call_info("1324324.8997834")
    records = await provider.client.journal("2015-04-28")

    assert info is not None and (info.callid, info.duration) == ("1324324.8997834", 203)
    assert info.record_url == "/api/call/record?token={token}&callid={callid}"
    assert [(r.callid, r.record_url is None) for r in records] == [
        ("32423423.324324", True),
        ("32423423.323242", False),
    ]
    assert records[0].time == datetime(2015, 4, 28, 10, 12, tzinfo=UTC)  # 13:12 Moscow


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        (
            "/api/call/journal",
            BILLION_LAUGHS.decode(),
            "document type declarations are not accepted",
        ),
        ("/api/call/info", "<call><callid>1</callid>", "not well-formed XML (no element found)"),
        ("/api/call/journal", f"<result>{TOKEN}</result>", "the answer is not <calls>"),
        (
            "/api/call/info",
            "<call><callid>1</callid><time>x</time></call>",
            "a <call> without callid or status",
        ),
    ],
    ids=["entity-bomb", "malformed", "other-root", "no-status"],
)
async def test_answers_the_doc_does_not_show_are_refused_in_plain_words(
    sim: MobilonSimulator,
    provider: MobilonProvider,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: str,
    detail: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.answer_next(path, body)

    client = provider.client
    ask = client.call_info("1") if path == "/api/call/info" else client.journal("2015-04-28")

    with pytest.raises(PbxUnavailable) as caught:
        await ask

    assert str(caught.value) == f"Mobilon {path.lstrip('/')}: {detail}"
    assert TOKEN not in str(caught.value) and TOKEN not in caplog.text


async def test_a_journal_that_fails_is_an_error_and_info_that_fails_is_no_record(
    sim: MobilonSimulator, provider: MobilonProvider
) -> None:
    sim.fail_next("/api/call/journal")
    with pytest.raises(PbxUnavailable, match="the PBX answered FAIL"):
        await provider.client.journal("2015-04-28")
    assert await provider.client.call_info("no-such-call") is None


async def test_recording_is_streamed_once_ready(
    sim: MobilonSimulator, provider: MobilonProvider
) -> None:
    sim.recording_ready_after = 1
    await provider.callback("101", CLIENT)
    [callid] = list(sim.calls)
    with pytest.raises(NotReady):
        await provider.recording(callid)  # the call is not over
    sim.finish(sim.calls[callid], answered_by="101")
    with pytest.raises(NotReady):
        await provider.recording(callid)  # record_url answers 404 at first

    stream = await provider.recording(callid)
    data = b"".join([chunk async for chunk in stream.chunks])
    assert data.startswith(b"ID3") and stream.size == len(data)
    assert stream.content_type == "audio/mpeg"


async def test_history_from_the_journal(sim: MobilonSimulator, provider: MobilonProvider) -> None:
    await provider.callback("101", CLIENT)
    [callid] = list(sim.calls)
    sim.finish(sim.calls[callid], answered_by="101", talk=42)
    now = datetime.now(UTC)
    start, end = now - timedelta(days=2), now + timedelta(minutes=1)

    records = await provider.call_history(start, end)

    [record] = records
    assert (record.call_id, record.direction, record.extension) == (callid, "outbound", "101")
    assert record.answered and record.talk_seconds >= 42
    assert record.recording_ids == (callid,)
    journal_days = [q["date"] for q in sim.received("/api/call/journal")]
    first, last = (moment.astimezone(ZoneInfo("Europe/Moscow")).date() for moment in (start, end))
    expected = [str(first + timedelta(days=n)) for n in range((last - first).days + 1)]
    assert journal_days == expected  # each Moscow day the span touches, once, in order


async def test_history_reads_times_and_asks_days_in_the_journal_zone(redis: Redis) -> None:
    async with MobilonSimulator(TOKEN, step_delay=0, zone="Asia/Vladivostok") as sim:
        sim.outbound_ends = False
        sim.add_subscriber(Subscriber(extension="101", key=ANNA_KEY))
        account = MobilonAccount(
            id="mob",
            provider="mobilon",
            api_token=TOKEN,
            api_url=sim.base_url,
            journal_zone="Asia/Vladivostok",
        )
        async with httpx.AsyncClient() as http:
            provider = MobilonProvider(
                account, ProviderDeps(http=http, redis=redis, secret_box=TEST_BOX)
            )
            await provider.employee_keys.set("mob", "101", ANNA_KEY)
            await provider.callback("101", CLIENT)
            [call] = sim.calls.values()
            sim.finish(call, answered_by="101", talk=5)
            now = datetime.now(UTC)
            [record] = await provider.call_history(
                now - timedelta(hours=1), now + timedelta(hours=1)
            )

    assert record.started_at == call.started
    assert sim.day_of(call) in [q["date"] for q in sim.received("/api/call/journal")]
