"""Telegram through TELEGRAM_PROXY: a real HTTP or SOCKS5 proxy on loopback in front of the
emulator; cards, recordings (multipart uploads) and commands all pass through it."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from aiogram.exceptions import TelegramNetworkError

from bot.config import Settings
from bot.domain import Role
from bot.telegram.factory import create_bot
from sandbox.mango import MangoSimulator
from sandbox.telegram import TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import LINE, REP_ANNA, drained
from tests.proxy import LoopbackProxy
from tests.reliability.figures import record as record_figures

USER, PASSWORD = "pbx-bot", "proxyPass:w@rd/9"  # characters a URL has to escape
CLIENT = "79001234567"


@pytest_asyncio.fixture(params=["http", "socks5"])
async def proxy(request: pytest.FixtureRequest) -> AsyncIterator[LoopbackProxy]:
    """The company's proxy, with a login; the only way the bot reaches Telegram."""
    async with LoopbackProxy(request.param, username=USER, password=PASSWORD) as server:
        yield server


def _calls(emulator: TelegramEmulator) -> Counter[str]:
    """Bot API calls the emulator answered, long polling left out (one may be in flight)."""
    return Counter(name for name, _ in emulator.requests if name != "getUpdates")


async def test_cards_recordings_and_commands_go_through_the_proxy(
    proxy: LoopbackProxy,
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    start_app: StartApp,
) -> None:
    mango.balance = (Decimal("963592.45"), "RUB")
    app = await start_app(telegram_proxy=proxy.url())
    emulator.send_text(REP_ANNA, "/start")
    await emulator.wait_for_message(REP_ANNA)
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)

    record = await mango.play_inbound(
        LINE, CLIENT, ring=["101"], answered_by="101", talk_seconds=5, record=True
    )
    assert record.recording_id is not None
    await mango.wait_idle()
    await drained(app)
    emulator.send_text(REP_ANNA, "/balance")
    await emulator.wait_for_message(REP_ANNA, lambda m: "963" in m.text)
    await drained(app)

    messages = emulator.bot_messages(REP_ANNA)
    [card] = [m for m in messages if "+7 900 123-45-67" in m.text and not m.file]
    assert card.edited
    [audio] = [m for m in messages if m.file]
    assert audio.file is not None and audio.file["kind"] == "audio"
    assert audio.file["size"] == len(mango.recordings.items[record.recording_id].data) > 0
    assert proxy.rejected == 0
    assert proxy.connections >= 1
    assert set(proxy.targets) == {emulator.base_url.split("://")[1].split("/")[0]}
    seen = Counter(name for name in proxy.methods if name != "getUpdates")
    assert {"getMe", "sendMessage", "editMessageText", "sendAudio"} <= set(seen), seen
    assert seen == _calls(emulator)  # every call the emulator answered came through the proxy
    assert "getUpdates" in proxy.methods
    record_figures(
        f"Telegram through a {proxy.kind} proxy",
        f"TELEGRAM_PROXY set to a loopback {proxy.kind} proxy with a login (the password has "
        "characters a URL escapes), the only way to the Telegram emulator; a recorded call, "
        "then /balance",
        "the card (sent, then edited), the recording (a multipart upload), the command and "
        "its answer, and long polling all go through the proxy; the emulator answers nothing "
        "else",
        {
            "Bot API calls through the proxy": len(proxy.methods),
            "besides long polling": ", ".join(f"{name} {n}" for name, n in sorted(seen.items())),
            "recording uploaded": f"{audio.file['size']} bytes",
            "calls around the proxy": 0,
            "refused by the proxy": proxy.rejected,
        },
    )


async def test_a_wrong_proxy_password_stops_every_call(
    proxy: LoopbackProxy,
    emulator: TelegramEmulator,
    make_settings: Callable[..., Settings],
) -> None:
    wrong = proxy.url(password=PASSWORD + "x")
    bot = create_bot(
        make_settings(
            bot_token=emulator.token, telegram_api_url=emulator.base_url, telegram_proxy=wrong
        )
    )
    try:
        with pytest.raises(TelegramNetworkError) as refused:
            await bot.get_me()
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(REP_ANNA, "hello")
    finally:
        await bot.session.close()

    assert proxy.rejected == 2
    assert proxy.targets == [] and proxy.methods == []
    assert emulator.requests == []
    assert PASSWORD not in str(refused.value) and "w%40rd" not in str(refused.value)

    right = create_bot(
        make_settings(
            bot_token=emulator.token, telegram_api_url=emulator.base_url, telegram_proxy=proxy.url()
        )
    )
    try:
        await right.get_me()
    finally:
        await right.session.close()
    assert proxy.methods == ["getMe"]


async def test_the_http_proxy_also_forwards_absolute_uri_requests(
    emulator: TelegramEmulator,
) -> None:
    async with (
        LoopbackProxy("http", username=USER, password=PASSWORD) as proxy,
        httpx.AsyncClient(proxy=proxy.url()) as client,
    ):
        answer = await client.post(f"{emulator.base_url}/bot{emulator.token}/getMe")
    assert answer.json()["ok"] is True
    assert proxy.methods == ["getMe"] and proxy.rejected == 0
