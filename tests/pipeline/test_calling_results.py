"""Command results shown in the announcing message, whatever order things arrive in."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from bot.domain import CommandTicket, Language
from bot.events import CommandResultEvent, SmsStatusEvent
from bot.pbx.mango.codes import message_key
from bot.pipeline.command_results import CommandKind, CommandReport, CommandResults
from bot.services.dialing import find_number, split_number
from bot.storage import Keys, Repositories
from bot.telegram.outbox import Outbox, OutMessage
from bot.texts import Texts

CHAT = 2001
MESSAGE = 17
NUMBER = "+79001234567"


def results(redis: Redis) -> tuple[CommandResults, Outbox]:
    keys = Keys()
    outbox = Outbox(redis, keys)
    return CommandResults(
        redis, keys, Repositories.over(redis, keys).commands, outbox, Texts()
    ), outbox


def ticket(command: str) -> CommandTicket:
    return CommandTicket(account="main", command=command, command_id=f"pbxgram-{command}-1")


def result_event(command: str, code: int) -> CommandResultEvent:
    return CommandResultEvent(
        account="main",
        provider="mango",
        command=command,
        command_id=ticket(command).command_id,
        code=code,
        success=code == 1000,
        message_key=message_key(code),
    )


def delivery_event(code: int) -> SmsStatusEvent:
    return SmsStatusEvent(
        account="main",
        provider="mango",
        command_id=ticket("sms").command_id,
        code=code,
        delivered=code == 1000,
        at=datetime.now(UTC),
    )


async def adopted(commands: CommandResults, kind: CommandKind, text: str = "") -> CommandReport:
    slot = await commands.adopt(CHAT, MESSAGE, "announcement")
    return CommandReport(
        kind=kind,
        chat_id=CHAT,
        slot=slot,
        language=Language.EN,
        extension="101",
        number=NUMBER,
        text=text,
    )


async def shown(redis: Redis, slot: str) -> tuple[str, int, int]:
    """(text, version, sent version) of a slot."""
    state = await redis.hgetall(Keys().slot(slot))
    content = OutMessage.model_validate_json(state["content"])
    return content.text, int(state["version"]), int(state.get("sent_version", 0))


async def test_adopted_message_looks_delivered(redis: Redis) -> None:
    commands, outbox = results(redis)
    report = await adopted(commands, CommandKind.CALL)
    assert await shown(redis, report.slot) == ("announcement", 1, 1)
    assert await outbox.sent_message(report.slot) == (CHAT, MESSAGE)
    assert json.loads((await redis.hgetall(Keys().slot(report.slot)))["content"])["chat_id"] == CHAT


async def test_a_result_that_overtakes_the_ticket_is_still_shown(redis: Redis) -> None:
    commands, _ = results(redis)
    report = await adopted(commands, CommandKind.CALL)
    await commands.on_result(result_event("callback", 2240))  # nobody waits for it yet
    assert (await shown(redis, report.slot))[1] == 1

    await commands.track(ticket("callback"), report)
    text, version, sent = await shown(redis, report.slot)
    assert text == (
        "❌ The call to +7 900 123-45-67 did not go through. Not enough funds on the PBX account."
    )
    assert (version, sent) == (2, 1)  # queued for the sender to edit


async def test_redelivered_result_queues_nothing(redis: Redis) -> None:
    commands, _ = results(redis)
    report = await adopted(commands, CommandKind.CALL)
    await commands.track(ticket("callback"), report)
    assert (await shown(redis, report.slot))[1] == 1  # nothing known yet: left as sent
    for _ in range(3):
        await commands.on_result(result_event("callback", 1000))
    text, version, _ = await shown(redis, report.slot)
    assert text.startswith("📞 The PBX is calling you on 101.")
    assert version == 2


async def test_sms_delivery_before_acceptance_stays_delivered(redis: Redis) -> None:
    commands, _ = results(redis)
    report = await adopted(commands, CommandKind.SMS, text="Hi")
    await commands.track(ticket("sms"), report)
    await commands.on_sms_status(delivery_event(1000))
    await commands.on_result(result_event("sms", 1000))
    text, version, _ = await shown(redis, report.slot)
    assert text == "✅ The SMS to +7 900 123-45-67 was delivered.\n<blockquote>Hi</blockquote>"
    assert version == 2


async def test_results_of_other_commands_are_left_alone(redis: Redis) -> None:
    commands, _ = results(redis)
    repos = Repositories.over(redis, Keys())
    other = ticket("call/hangup")
    await repos.commands.remember(other, telegram_id=CHAT)
    await commands.on_result(result_event("call/hangup", 1000))
    await commands.on_result(result_event("callback", 1000))  # never tracked
    assert await redis.keys("pbxgram:slot:*") == []


@pytest.mark.parametrize(
    ("args", "number", "rest"),
    [
        ("+7 900 123-45-67 Hello there", NUMBER, "Hello there"),
        ("8 900 123 45 67", NUMBER, ""),
        ("89001234567 123 is your code", NUMBER, "123 is your code"),
        ("89001234567 Line one\nline two", NUMBER, "Line one\nline two"),
        ("tomorrow 89001234567", None, "tomorrow 89001234567"),
    ],
)
def test_split_number(args: str, number: str | None, rest: str) -> None:
    assert split_number(args, "RU") == (number, rest)


def test_find_number_in_a_sentence() -> None:
    assert find_number("Client: 8 (900) 123-45-67, after lunch", "RU") == NUMBER
    assert find_number("no digits here", "RU") is None
