"""The Telegram emulator against a real aiogram Bot: shapes, Telegram's refusals, failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, html
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from aiohttp import web

from sandbox.telegram import Limits, TelegramEmulator
from sandbox.telegram.html_parse import parse_html
from tests.sandbox.telegram.conftest import ANN, BOB, GROUP, FakeClock

MB = 1024 * 1024


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d)] for t, d in pairs]
    )


class ZeroFile(InputFile):
    """An upload of ``size`` zero bytes produced chunk by chunk, never held whole."""

    def __init__(self, size: int, filename: str) -> None:
        super().__init__(filename=filename)
        self.size = size

    async def read(self, bot: Bot) -> AsyncGenerator[bytes, None]:
        chunk = bytes(MB)
        remaining = self.size
        while remaining > 0:
            yield chunk[: min(remaining, MB)]
            remaining -= MB


# --- the basics -----------------------------------------------------------------------


async def test_get_me(bot: Bot, emu: TelegramEmulator) -> None:
    me = await bot.get_me()

    assert me.id == emu.bot_id == 123456
    assert me.is_bot and me.username == "pbxgram_bot"
    assert me.can_join_groups is True
    assert emu.requests[-1] == ("getMe", {})


async def test_button_press_reaches_the_bot_and_answer_is_recorded(
    bot: Bot, emu: TelegramEmulator
) -> None:
    sent = await bot.send_message(ANN, "Approve <b>Bob</b>?", reply_markup=keyboard(("Yes", "y")))
    shown = emu.transcript(ANN)[-1]
    assert (shown.text, shown.html, shown.button_texts()) == (
        "Approve Bob?",
        sent.html_text,
        ["Yes"],
    )
    assert shown.find_button("Ye").callback_data == "y"

    query_id = emu.press_button(ANN, ANN, sent.message_id, "y")
    updates = await bot.get_updates(timeout=1)

    query = updates[-1].callback_query
    assert query is not None and query.id == query_id and query.data == "y"
    assert query.from_user.id == ANN and query.message is not None
    await bot.answer_callback_query(query_id, text="Done", show_alert=True)
    assert await emu.wait_for_callback_answer(query_id) == {"text": "Done", "show_alert": True}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id, text="again")


async def test_pressing_a_button_that_is_not_there_is_refused(
    bot: Bot, emu: TelegramEmulator
) -> None:
    sent = await bot.send_message(ANN, "Pick", reply_markup=keyboard(("A", "a")))

    with pytest.raises(ValueError, match="no button"):
        emu.press_button(ANN, ANN, sent.message_id, "b")
    with pytest.raises(ValueError, match="no message"):
        emu.press_button(ANN, ANN, 999, "a")


async def test_edit_shows_as_edited_and_identical_edit_is_refused(
    bot: Bot, emu: TelegramEmulator
) -> None:
    sent = await bot.send_message(ANN, "Ringing…", reply_markup=keyboard(("Hang up", "h")))

    await bot.edit_message_text("Call <i>ended</i>", chat_id=ANN, message_id=sent.message_id)

    [message] = emu.bot_messages(ANN)
    assert (message.text, message.edited, message.buttons) == ("Call ended", True, [])
    assert "edit_date" in message.raw
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Call <i>ended</i>", chat_id=ANN, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ANN, message_id=999)


async def test_reply_markup_edit_delete_and_replies(bot: Bot, emu: TelegramEmulator) -> None:
    emu.send_text(ANN, "hello")
    first = await bot.send_message(
        ANN,
        "Pick",
        reply_markup=keyboard(("A", "a")),
        reply_parameters=ReplyParameters(message_id=1),
    )
    assert first.reply_to_message is not None and first.reply_to_message.text == "hello"

    await bot.edit_message_reply_markup(
        chat_id=ANN, message_id=first.message_id, reply_markup=keyboard(("B", "b"))
    )
    assert emu.transcript(ANN)[-1].button_texts() == ["B"]
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(ANN, "x", reply_parameters=ReplyParameters(message_id=99))

    await bot.delete_message(ANN, first.message_id)
    assert [(m.from_bot, m.text) for m in emu.transcript(ANN)] == [(False, "hello")]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ANN, first.message_id)


async def test_reply_keyboard_is_what_the_person_sees(bot: Bot, emu: TelegramEmulator) -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📱 Share", request_contact=True)]], resize_keyboard=True
    )
    await bot.send_message(ANN, "Share your number", reply_markup=markup)

    message = await emu.wait_for_message(ANN)
    assert message.reply_keyboard == [[{"text": "📱 Share", "request_contact": True}]]
    assert "reply_markup" not in message.raw


# --- Telegram's refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("a <b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
    ],
)
async def test_malformed_html_is_refused(bot: Bot, text: str, error: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as caught:
        await bot.send_message(ANN, text)
    assert error in caught.value.message


def test_html_becomes_plain_text_with_utf16_entities() -> None:
    text, entities = parse_html(
        '😀 <b>Hi</b> &lt;you&gt; &amp; AT&T &#33;<a href="https://x.y/?a=1&amp;b=2">link</a>'
        '<pre><code class="language-py">x = 1</code></pre><blockquote expandable>q</blockquote>'
    )

    assert text == "😀 Hi <you> & AT&T !linkx = 1q"
    assert {"type": "bold", "offset": 3, "length": 2} in entities
    assert {"type": "text_link", "offset": 20, "length": 4, "url": "https://x.y/?a=1&b=2"} in (
        entities
    )
    assert {"type": "pre", "offset": 24, "length": 5, "language": "py"} in entities
    assert {"type": "expandable_blockquote", "offset": 29, "length": 1} in entities


async def test_length_limits_count_plain_text(bot: Bot, emu: TelegramEmulator) -> None:
    await bot.send_message(ANN, "<b>" + "x" * 4096 + "</b>")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ANN, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ANN, "😀" * 2049)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ANN, "<b> </b>")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(ANN, BufferedInputFile(b"x", "a.txt"), caption="c" * 1025)


async def test_button_data_and_urls_are_checked(bot: Bot, emu: TelegramEmulator) -> None:
    await bot.send_message(ANN, "ok", reply_markup=keyboard(("64", "d" * 64)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ANN, "x", reply_markup=keyboard(("65", "d" * 65)))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(ANN, "x", reply_markup=keyboard(("ж", "ж" * 33)))
    bad_url = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="u", url="ftp://example.org")]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_URL_INVALID"):
        await bot.send_message(ANN, "x", reply_markup=bad_url)
    text_only = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="t")]])
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(ANN, "x", reply_markup=text_only)


async def test_who_the_bot_may_write_to(bot: Bot, emu: TelegramEmulator) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(4242, "hi")
    emu.add_user(4243, "Shy", started=False)
    with pytest.raises(TelegramForbiddenError, match="bot can't initiate conversation"):
        await bot.send_message(4243, "hi")
    emu.block(BOB)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(BOB, "hi")
    emu.send_text(BOB, "/start")
    await bot.send_message(BOB, "welcome back")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(GROUP, "hi")


# --- files ----------------------------------------------------------------------------------


async def test_audio_upload_shows_name_and_size(bot: Bot, emu: TelegramEmulator) -> None:
    sent = await bot.send_audio(
        ANN, BufferedInputFile(b"\x00" * 12345, "call-42.mp3"), caption="<b>Record</b>"
    )

    message = await emu.wait_for_message(ANN, lambda m: m.file is not None)
    assert message.file is not None
    assert (message.file["kind"], message.file["name"], message.file["size"]) == (
        "audio",
        "call-42.mp3",
        12345,
    )
    assert message.file["mime"] == "audio/mpeg"
    assert message.text == "Record"
    assert sent.audio is not None and sent.audio.file_size == 12345
    assert emu.requests[-1][1]["audio"] == {
        "name": "call-42.mp3",
        "size": 12345,
        "mime": "audio/mpeg",
    }

    await bot.send_document(ANN, sent.audio.file_id)
    await bot.send_photo(ANN, "https://example.org/pic.jpg", caption="pic")
    assert [m.file["name"] for m in emu.bot_messages(ANN) if m.file] == [
        "call-42.mp3",
        "call-42.mp3",
        "pic.jpg",
    ]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(ANN, "no-such-file-id")
    await bot.edit_message_caption(chat_id=ANN, message_id=sent.message_id, caption="Call 42")
    assert emu.transcript(ANN)[0].text == "Call 42"


async def test_uploads_over_telegram_limits_are_refused(bot: Bot, emu: TelegramEmulator) -> None:
    with pytest.raises(TelegramEntityTooLarge):
        await bot.send_document(ANN, ZeroFile(50 * MB + 1, "huge.bin"))
    with pytest.raises(TelegramBadRequest, match="PHOTO_SAVE_FILE_INVALID"):
        await bot.send_photo(ANN, ZeroFile(10 * MB + 1, "huge.jpg"))
    assert emu.bot_messages(ANN) == []
    assert emu.requests[0][1]["document"]["size"] == 50 * MB + 1


# --- flood control --------------------------------------------------------------------------


async def test_per_chat_burst_then_retry_after(
    limited: tuple[TelegramEmulator, Bot], clock: FakeClock
) -> None:
    emu, bot = limited
    for n in range(3):
        await bot.send_message(ANN, f"burst {n}")

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ANN, "one too many")
    assert caught.value.retry_after == 1
    assert emu.failures[-1] == ("sendMessage", "Too Many Requests: retry after 1")
    await bot.send_message(BOB, "other chats are fine")

    clock.now += 1.0
    await bot.send_message(ANN, "after waiting")
    assert len(emu.bot_messages(ANN)) == 4


async def test_group_limit_is_per_minute(
    limited: tuple[TelegramEmulator, Bot], clock: FakeClock
) -> None:
    emu, bot = limited
    emu.add_bot_to_group(GROUP, ANN)
    for n in range(20):
        await bot.send_message(GROUP, f"n{n}")
        clock.now += 1.0

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(GROUP, "21st")
    assert caught.value.retry_after == 40


async def test_edits_have_their_own_burst(
    limited: tuple[TelegramEmulator, Bot], clock: FakeClock
) -> None:
    emu, bot = limited
    sent = await bot.send_message(ANN, "v0")
    for n in range(1, 6):
        await bot.edit_message_text(f"v{n}", chat_id=ANN, message_id=sent.message_id)

    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_text("v6", chat_id=ANN, message_id=sent.message_id)
    emu.limits = Limits.disabled()
    await bot.edit_message_text("v6", chat_id=ANN, message_id=sent.message_id)


async def test_bot_wide_limit(limited: tuple[TelegramEmulator, Bot]) -> None:
    emu, bot = limited
    emu.limits = Limits(per_bot_per_second=2)
    await bot.send_message(ANN, "1")
    await bot.send_message(BOB, "2")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(ANN, "3")


# --- injected failures ----------------------------------------------------------------------


async def test_injected_errors_and_drops(bot: Bot, emu: TelegramEmulator) -> None:
    emu.inject_error("sendMessage", 500)
    emu.inject_error("sendMessage", 429, retry_after=7)
    emu.inject_drop("sendMessage")
    emu.inject_error(None, 502, count=2)

    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(ANN, "a")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(ANN, "b")
    assert caught.value.retry_after == 7
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(ANN, "c")
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.get_me()
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(ANN, "d")

    await bot.send_message(ANN, "e")
    assert [m.text for m in emu.bot_messages(ANN)] == ["e"]
    assert [name for name, _ in emu.requests].count("sendMessage") == 5


# --- updates: long polling, webhook, a real Dispatcher ------------------------------------


async def test_long_poll_wakes_on_new_update_and_offsets_confirm(
    bot: Bot, emu: TelegramEmulator
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    update = emu.send_text(ANN, "/call@pbxgram_bot 123")
    [got] = await poll
    assert time.monotonic() - started < 2
    assert got.update_id == update["update_id"]
    assert got.message is not None and got.message.text == "/call@pbxgram_bot 123"
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 17}]

    assert len(await bot.get_updates(offset=got.update_id, timeout=0)) == 1
    assert await bot.get_updates(offset=got.update_id + 1, timeout=0) == []
    assert emu.pending_updates() == []


async def test_allowed_updates_and_competing_pollers(bot: Bot, emu: TelegramEmulator) -> None:
    sent = await bot.send_message(ANN, "Pick", reply_markup=keyboard(("A", "a")))
    emu.press_button(ANN, ANN, sent.message_id, "a")
    emu.share_contact(ANN, "+79991112233", contact_user_id=ANN, first_name="Ann")

    [update] = await bot.get_updates(allowed_updates=["message"], timeout=0)
    assert update.message is not None and update.message.contact is not None
    assert update.message.contact.user_id == ANN

    first = asyncio.create_task(bot.get_updates(offset=update.update_id + 1, timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    assert await second == []


@dataclass
class Hook:
    """What a test webhook endpoint received."""

    url: str = ""
    requests: list[web.Request] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)


@asynccontextmanager
async def receiver(fail_first: int = 0) -> AsyncIterator[Hook]:
    """A tiny webhook endpoint recording requests and bodies; fails the first ``fail_first``."""
    hook = Hook()

    async def handle(request: web.Request) -> web.Response:
        hook.requests.append(request)
        if len(hook.requests) <= fail_first:
            return web.Response(status=500)
        hook.bodies.append(await request.json())
        hook.delivered.set()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield hook
    finally:
        await runner.cleanup()


async def test_webhook_mode(bot: Bot, emu: TelegramEmulator) -> None:
    async with receiver(fail_first=1) as hook:
        await bot.set_webhook(hook.url, secret_token="s3cret", allowed_updates=["message"])
        assert emu.webhook is not None
        assert (emu.webhook["url"], emu.webhook["secret_token"]) == (hook.url, "s3cret")
        assert emu.webhook["allowed_updates"] == ["message"]

        update = emu.send_text(ANN, "hi")
        await asyncio.wait_for(hook.delivered.wait(), 3)

        assert hook.bodies == [update]
        assert len(hook.requests) == 2
        assert hook.requests[-1].headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        info = await bot.get_webhook_info()
        assert info.url == hook.url and info.pending_update_count == 0
        assert info.last_error_message is not None

    await bot.delete_webhook()
    assert emu.webhook is None
    emu.send_text(ANN, "polling again")
    assert len(await bot.get_updates(timeout=0)) == 1


async def test_dispatcher_polling_answers_start(bot: Bot, emu: TelegramEmulator) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        name = message.from_user.first_name if message.from_user else "?"
        await message.answer(f"Hello, <b>{html.quote(name)}</b>! Args: {html.quote('<none>')}")

    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
    )
    try:
        emu.send_text(ANN, "/start abc")
        reply = await emu.wait_for_message(ANN)
    finally:
        await dp.stop_polling()
        await polling

    assert reply.text == "Hello, Ann! Args: <none>"
    assert [(m.from_bot, m.text) for m in emu.transcript(ANN)] == [
        (False, "/start abc"),
        (True, "Hello, Ann! Args: <none>"),
    ]


async def test_wait_for_message_timeout_shows_the_chat(bot: Bot, emu: TelegramEmulator) -> None:
    await bot.send_message(ANN, "Something else")
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(ANN, "<oops>")

    with pytest.raises(TimeoutError) as caught:
        await emu.wait_for_message(ANN, lambda m: "welcome" in m.text, timeout=0.05)
    assert "Something else" in str(caught.value)
    assert "Unsupported start tag" in str(caught.value)


async def test_callback_query_expires_after_15_minutes(clock: FakeClock) -> None:
    from tests.sandbox.telegram.conftest import add_people, make_bot

    async with TelegramEmulator(limits=Limits.disabled(), clock=clock) as emu:
        add_people(emu)
        bot = make_bot(emu)
        try:
            sent = await bot.send_message(ANN, "Pick", reply_markup=keyboard(("A", "a")))
            query_id = emu.press_button(ANN, ANN, sent.message_id, "a")
            clock.now += 15 * 60 + 1
            with pytest.raises(TelegramBadRequest, match="query is too old"):
                await bot.answer_callback_query(query_id)
            with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
                await bot.answer_callback_query("nope")
        finally:
            await bot.session.close()


# --- groups, chats, commands ----------------------------------------------------------------


async def test_groups_join_post_and_leave(bot: Bot, emu: TelegramEmulator) -> None:
    joined = emu.add_bot_to_group(GROUP, ANN)
    assert joined["my_chat_member"]["new_chat_member"]["status"] == "member"
    emu.send_text(BOB, "/subscribe missed", chat_id=GROUP)
    updates = await bot.get_updates(timeout=0)
    assert [u.event_type for u in updates] == ["my_chat_member", "message"]

    await bot.send_message(GROUP, "Hi all")
    chat = await bot.get_chat(GROUP)
    assert (chat.type, chat.title) == ("group", "Sales")
    assert (await bot.get_chat_member(GROUP, ANN)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, BOB)).status == "member"
    assert [m.user.id for m in await bot.get_chat_administrators(GROUP)] == [ANN]

    left = emu.remove_bot_from_group(GROUP, ANN)
    assert left["my_chat_member"]["new_chat_member"]["status"] == "left"
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the group chat"):
        await bot.send_message(GROUP, "still here?")
    assert [m.text for m in emu.transcript(GROUP)] == ["/subscribe missed", "Hi all"]


async def test_commands_by_scope_and_language(bot: Bot, emu: TelegramEmulator) -> None:
    await bot.set_my_commands(
        [BotCommand(command="start", description="Начать")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="ru",
    )
    await bot.set_my_commands(
        [BotCommand(command="users", description="Users")], scope=BotCommandScopeChat(chat_id=ANN)
    )
    await bot.set_my_commands([BotCommand(command="help", description="Help")])

    assert emu.commands == {
        ("all_private_chats", "ru"): [{"command": "start", "description": "Начать"}],
        (f"chat:{ANN}", ""): [{"command": "users", "description": "Users"}],
        ("default", ""): [{"command": "help", "description": "Help"}],
    }
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="ru")
    assert [c.command for c in got] == ["start"]
    await bot.delete_my_commands()
    assert ("default", "") not in emu.commands
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


# --- raw HTTP: other encodings, auth, the control side --------------------------------------


async def test_raw_http_encodings_auth_and_control(emu: TelegramEmulator) -> None:
    base = emu.base_url
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/bot1:wrong/getMe") as resp:
            assert resp.status == 401
            assert await resp.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{base}/bot{emu.token}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found"
        async with http.get(f"{base}/bot{emu.token}/GETME") as resp:
            assert (await resp.json())["result"]["username"] == "pbxgram_bot"
        markup = '{"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}'
        form = {"chat_id": str(ANN), "text": "form", "reply_markup": markup}
        async with http.post(f"{base}/bot{emu.token}/sendmessage", data=form) as resp:
            sent = (await resp.json())["result"]
        async with http.post(
            f"{base}/bot{emu.token}/sendMessage", json={"chat_id": ANN, "text": "json"}
        ) as resp:
            assert (await resp.json())["ok"] is True

        async with http.post(f"{base}/_emulator/users/77", json={"first_name": "Zed"}) as resp:
            assert resp.status == 200
        async with http.post(f"{base}/_emulator/users/77/text", json={"text": "/start"}) as resp:
            assert (await resp.json())["message"]["chat"]["id"] == 77
        press = {"chat_id": ANN, "message_id": sent["message_id"], "callback_data": "go"}
        async with http.post(f"{base}/_emulator/users/{ANN}/press", json=press) as resp:
            assert (await resp.json())["callback_query_id"]
        press["callback_data"] = "missing"
        async with http.post(f"{base}/_emulator/users/{ANN}/press", json=press) as resp:
            assert resp.status == 400
        async with http.get(f"{base}/_emulator/chats/{ANN}/transcript") as resp:
            transcript = await resp.json()

    assert [m["text"] for m in transcript] == ["form", "json"]
    assert transcript[0]["buttons"] == [[{"text": "Go", "callback_data": "go", "url": None}]]
    assert [name for name, _ in emu.requests] == ["getMe", "sendMessage", "sendMessage"]
