"""The scripted morning: calls played by the PBX simulator (signed webhooks to the bot),
and people acting through the Telegram emulator. Each step waits for what a person would
see and raises :class:`DemoFailed` when it does not appear.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiogram.filters.callback_data import CallbackData

from bot.telegram.callbacks import (
    CampaignAction,
    CampaignCallback,
    CardAct,
    CardCallback,
    MissedAction,
    MissedCallback,
    PickCallback,
    PickMode,
)
from sandbox.demo import cast
from sandbox.demo.stage import DIGEST_TIME, DemoFailed, Stage
from sandbox.telegram import ChatMessage

SMS_TEXT = "Hello! Your order 1042 is ready, we are open until 8 pm."
MISSED_RECIPIENTS = (cast.ANNA, cast.BORIS, cast.MARIA)
Data = TypeVar("Data", bound=CallbackData)


@dataclass(frozen=True)
class Step:
    """One scene of the morning, as the progress line names it."""

    title: str
    play: Callable[[Stage], Awaitable[None]]


def button(message: ChatMessage, wanted: Callable[[str], bool]) -> str | None:
    """The callback data of the first button whose data ``wanted`` accepts."""
    for row in message.buttons:
        for b in row:
            if b.callback_data is not None and wanted(b.callback_data):
                return b.callback_data
    return None


def unpacks_to(kind: type[Data], check: Callable[[Data], bool]) -> Callable[[str], bool]:
    """A button filter: the data is a ``kind`` for which ``check`` holds."""

    def wanted(data: str) -> bool:
        try:
            return check(kind.unpack(data))
        except (TypeError, ValueError):
            return False

    return wanted


def missed_button(action: MissedAction) -> Callable[[str], bool]:
    return unpacks_to(MissedCallback, lambda c: c.action is action)


def by_id(stage: Stage, chat: int, message_id: int) -> ChatMessage:
    return next(m for m in stage.emulator.bot_messages(chat) if m.message_id == message_id)


# the calls --------------------------------------------------------------------------------
async def answered_call(stage: Stage) -> None:
    client = cast.CLIENT_ANSWERED
    await stage.mango.play_inbound(
        cast.LINE, client.number, ring=["101"], answered_by="101", talk_seconds=95
    )
    await stage.settled()
    await stage.expect(
        cast.ANNA.telegram_id,
        "Anna's card of the answered call, ended",
        lambda m: client.shown in m.text and "Call ended" in m.text and m.edited,
    )
    await stage.expect(
        cast.GROUP_CHAT,
        "the call summary in the group",
        lambda m: client.shown in m.text and "Inbound call" in m.text,
    )


async def recording(stage: Stage) -> None:
    for chat, whose in ((cast.ANNA.telegram_id, "Anna's chat"), (cast.GROUP_CHAT, "the group")):
        await stage.expect(
            chat,
            f"the recording of Anna's call as audio in {whose}",
            lambda m: m.file is not None and m.file["kind"] == "audio" and m.file["size"] > 0,
        )


async def ring_group_call(stage: Stage) -> None:
    client = cast.CLIENT_GROUP
    await stage.mango.play_inbound(
        cast.LINE, client.number, group_id=cast.SALES_GROUP_ID, answered_by="102", record=False
    )
    await stage.settled()
    await stage.expect(
        cast.ANNA.telegram_id,
        "Anna's card saying Boris answered",
        lambda m: client.shown in m.text and "Answered by Boris Ivanov" in m.text and m.edited,
    )
    await stage.expect(
        cast.BORIS.telegram_id,
        "Boris's card of the call he answered, ended",
        lambda m: client.shown in m.text and "Call ended" in m.text,
    )


async def regular_client(stage: Stage) -> None:
    client = cast.CLIENT_ANSWERED
    await stage.mango.play_inbound(
        cast.LINE, client.number, ring=["102"], answered_by="102", record=False
    )
    await stage.settled()
    card = await stage.expect(
        cast.BORIS.telegram_id,
        "Boris's card naming the client, with her last call",
        lambda m: (
            f"{cast.CLIENT_ANSWERED_NAME}, {client.shown}" in m.text
            and "2nd call in 7 days · last: talked to Anna Petrova" in m.text
            and "Call ended" in m.text
        ),
    )
    stage.emulator.send_text(
        cast.BORIS.telegram_id, "Wants a quote for 20 office chairs", reply_to=card.message_id
    )
    await stage.expect(
        cast.BORIS.telegram_id,
        "the bot noting Boris's reply as a note on the call",
        lambda m: m.text.startswith("📝 Note added"),
    )
    await stage.settled()
    await stage.expect(
        cast.BORIS.telegram_id,
        "Boris's card with his note",
        lambda m: (
            m.message_id == card.message_id
            and "📝 Boris: Wants a quote for 20 office chairs" in m.text
        ),
    )


async def transfer(stage: Stage) -> None:
    client = cast.CLIENT_TRANSFERRED
    call = asyncio.create_task(
        stage.mango.play_live_inbound(cast.LINE, client.number, ring=["101"], answered_by="101")
    )
    anna, boris = cast.ANNA.telegram_id, cast.BORIS.telegram_id
    card = await stage.expect(
        anna,
        "Anna's card of the call she is on, with a Transfer button",
        lambda m: client.shown in m.text and "You are talking" in m.text,
    )
    wanted = unpacks_to(CardCallback, lambda c: c.act is CardAct.TRANSFER)
    await stage.answered(stage.press(cast.ANNA, card, button(card, wanted) or ""), "Transfer")
    picker = await stage.expect(
        anna, "the colleague picker", lambda m: m.text.startswith("Transfer the call with")
    )
    wanted = unpacks_to(PickCallback, lambda c: c.to == "102")
    await stage.answered(stage.press(cast.ANNA, picker, button(picker, wanted) or ""), "Boris")
    modes = await stage.expect(
        anna, "transfer now or consult first", lambda m: m.text.endswith("to Boris Ivanov:")
    )
    wanted = unpacks_to(PickCallback, lambda c: c.mode is PickMode.BLIND)
    await stage.answered(stage.press(cast.ANNA, modes, button(modes, wanted) or ""), "Now")
    await stage.expect(
        boris,
        "Boris's card: he is talking to the client",
        lambda m: client.shown in m.text and "You are talking" in m.text,
    )
    await stage.expect(
        anna,
        "Anna's card: transferred to Boris",
        lambda m: client.shown in m.text and "Transferred to Boris Ivanov." in m.text,
    )
    stage.mango.end_live_call()
    await call
    await stage.settled()
    await stage.expect(
        boris,
        "Boris's card of the call, ended",
        lambda m: client.shown in m.text and "Call ended" in m.text,
    )


async def missed_call(stage: Stage) -> None:
    client = cast.CLIENT_MISSED
    await stage.mango.play_inbound(
        cast.LINE, client.number, group_id=cast.SALES_GROUP_ID, answered_by=None
    )
    await stage.settled()
    alerts = {
        chat: await _one_alert(stage, chat, client)
        for chat in [p.telegram_id for p in MISSED_RECIPIENTS] + [cast.GROUP_CHAT]
    }

    mine = alerts[cast.BORIS.telegram_id]
    take = button(mine, missed_button(MissedAction.TAKE))
    if take is None:
        raise DemoFailed(f"the missed-call alert has no “I'll take it” button: {mine.buttons}")
    await stage.answered(stage.press(cast.BORIS, mine, take), "I'll take it")
    await stage.settled()
    for chat, alert in alerts.items():
        now = by_id(stage, chat, alert.message_id)
        if "Taken by Boris" not in now.text:
            raise DemoFailed(f"the missed-call alert in chat {chat} does not say Boris took it")

    mine = by_id(stage, cast.BORIS.telegram_id, mine.message_id)
    call_back = button(mine, missed_button(MissedAction.CALL))
    if call_back is None:
        raise DemoFailed(f"the taken alert has no “Call back” button: {mine.buttons}")
    await stage.answered(stage.press(cast.BORIS, mine, call_back), "Call back")
    await stage.expect(
        cast.BORIS.telegram_id,
        "the status of Boris's call back, edited with the PBX's answer",
        lambda m: client.shown in m.text and m.text.startswith("📞 The PBX is calling you on 102"),
    )
    await stage.settled()
    for chat, alert in alerts.items():
        now = by_id(stage, chat, alert.message_id)
        closed = re.search(r"Called back by Boris Ivanov at (\d{2}:\d{2})", now.text)
        if closed is None or now.buttons:
            raise DemoFailed(
                f"the missed-call alert in chat {chat} was not edited to “called back”:\n{now.text}"
            )


async def missed_call_reminded(stage: Stage) -> None:
    """Nobody takes a missed call; at the deadline the people it rang and the group are
    reminded; Anna calls back, and no reminder follows."""
    client = cast.CLIENT_WAITING
    await stage.mango.play_inbound(
        cast.LINE, client.number, group_id=cast.SALES_GROUP_ID, answered_by=None
    )
    await stage.settled()
    alert = await _one_alert(stage, cast.ANNA.telegram_id, client)
    stage.ladder_clock.skip(16 * 60)  # a quarter of an hour later, nobody has called back
    for chat, whose in ((cast.ANNA.telegram_id, "Anna"), (cast.GROUP_CHAT, "the group")):
        await stage.expect(
            chat,
            f"the reminder to {whose}, as a reply to the alert",
            lambda m: m.text.startswith("⏰ Not called back yet") and client.shown in m.text,
        )
    call_back = button(alert, missed_button(MissedAction.CALL))
    if call_back is None:
        raise DemoFailed(f"the alert has no “Call back” button: {alert.buttons}")
    await stage.answered(stage.press(cast.ANNA, alert, call_back), "Call back")
    await stage.settled()
    now = by_id(stage, cast.ANNA.telegram_id, alert.message_id)
    if "Called back by Anna Petrova" not in now.text:
        raise DemoFailed(f"the alert was not edited to “called back”:\n{now.text}")
    stage.ladder_clock.skip(60 * 60)  # an hour later: the ladder has stopped
    await asyncio.sleep(0.5)
    await stage.settled()
    reminders = [
        m for m in stage.emulator.bot_messages(cast.ANNA.telegram_id) if m.text.startswith("⏰")
    ]
    if len(reminders) != 1:
        raise DemoFailed(f"Anna got {len(reminders)} reminders instead of one")


async def _one_alert(stage: Stage, chat: int, client: cast.Client) -> ChatMessage:
    alert = await stage.expect(
        chat,
        "a missed-call alert with “I'll take it”",
        lambda m: (
            client.shown in m.text
            and "Missed call" in m.text
            and button(m, missed_button(MissedAction.TAKE)) is not None
        ),
    )
    copies = [
        m
        for m in stage.emulator.bot_messages(chat)
        if button(m, missed_button(MissedAction.TAKE)) is not None
    ]
    if len(copies) != 1:
        raise DemoFailed(f"chat {chat} got {len(copies)} missed-call alerts instead of one")
    return alert


# what people do from Telegram ------------------------------------------------------------
async def click_to_call(stage: Stage) -> None:
    client = cast.CLIENT_DIALED
    asked = stage.say(cast.ANNA, f"/call {client.shown}")
    await stage.expect(
        cast.ANNA.telegram_id,
        "the /call status edited with the PBX's answer",
        lambda m: (
            m.reply_to == asked
            and m.edited
            and m.text
            == f"📞 The PBX is calling you on 101. Pick up, and it will connect you to "
            f"{client.shown}."
        ),
    )
    await stage.settled()


async def sms(stage: Stage) -> None:
    client = cast.CLIENT_DIALED
    asked = stage.say(cast.ANNA, f"/sms {client.shown} {SMS_TEXT}")
    await stage.expect(
        cast.ANNA.telegram_id,
        "the /sms status edited to delivered",
        lambda m: (
            m.reply_to == asked
            and m.edited
            and m.text == f"✅ The SMS to {client.shown} was delivered.\n{SMS_TEXT}"
        ),
    )
    sent = [p["text"] for p in stage.mango.commands("commands/sms")]
    if sent != [SMS_TEXT]:
        raise DemoFailed(f"the PBX received these SMS texts instead of one: {sent}")


async def balance(stage: Stage) -> None:
    asked = stage.say(cast.MARIA, "/balance")
    await stage.expect(
        cast.MARIA.telegram_id,
        "Maria's balance",
        lambda m: m.message_id > asked and m.text.startswith("💰 Balance: RUB\u00a048,210.75"),
    )


async def campaigns(stage: Stage) -> None:
    chat = cast.MARIA.telegram_id
    asked = stage.say(cast.MARIA, "/campaigns")
    listing = await stage.expect(
        chat, "the campaign list with buttons", lambda m: m.message_id > asked and bool(m.buttons)
    )
    started = await _confirm(stage, listing, CampaignAction.START, "▶️ Campaign “Spring promo”")
    await _confirm(stage, started, CampaignAction.STOP, "⏹ Campaign “Spring promo”")
    wanted = [{"campaign_id": str(cast.SPRING_PROMO)}]
    for path in ("campaign/start", "campaign/stop"):
        if stage.mango.commands(path) != wanted:
            raise DemoFailed(f"the PBX got {stage.mango.commands(path)} on {path}")


async def _confirm(
    stage: Stage, message: ChatMessage, action: CampaignAction, outcome: str
) -> ChatMessage:
    """Press ``action`` for Spring promo, then “Yes”; the message once it shows ``outcome``."""
    spring = str(cast.SPRING_PROMO)
    ask = button(
        message,
        unpacks_to(
            CampaignCallback,
            lambda c: c.action is action and c.campaign_id == spring and not c.confirmed,
        ),
    )
    if ask is None:
        raise DemoFailed(f"no {action.name.lower()} button for Spring promo: {message.buttons}")
    stage.press(cast.MARIA, message, ask)
    question = await stage.expect(
        message.chat_id,
        f"the question before the {action.name.lower()}",
        lambda m: (
            m.message_id == message.message_id
            and button(m, unpacks_to(CampaignCallback, lambda c: c.confirmed)) is not None
        ),
    )
    yes = button(question, unpacks_to(CampaignCallback, lambda c: c.confirmed))
    assert yes is not None
    stage.press(cast.MARIA, question, yes)
    return await stage.expect(
        message.chat_id,
        f"the campaign list after the {action.name.lower()}",
        lambda m: m.message_id == message.message_id and m.text.startswith(outcome),
    )


async def digest(stage: Stage) -> None:
    stage.clock.move_to(DIGEST_TIME)
    await stage.expect(
        cast.GROUP_CHAT,
        "the daily digest with its chart",
        lambda m: (
            "Day summary" in m.text
            and m.file is not None
            and m.file["kind"] == "photo"
            and m.file["size"] > 0
        ),
    )
    await stage.settled()


MORNING = (
    Step("A client calls the main line; Anna answers", answered_call),
    Step("The recording of Anna's call arrives as audio", recording),
    Step("A call to the sales group; Boris answers, Anna's card says so", ring_group_call),
    Step(
        "The first client calls again: her name and last call on the card; a note", regular_client
    ),
    Step("A client asks for Boris: Anna transfers the call, both cards follow", transfer),
    Step("A missed call: Boris takes it and calls the client back", missed_call),
    Step("A missed call nobody takes: a reminder, then Anna calls back", missed_call_reminded),
    Step("Anna calls a client from Telegram: /call", click_to_call),
    Step("Anna texts the client: /sms", sms),
    Step("Maria checks the balance: /balance", balance),
    Step("Maria starts a campaign and stops it again: /campaigns", campaigns),
    Step(f"{DIGEST_TIME:%H:%M}: the daily digest reaches the group", digest),
)
