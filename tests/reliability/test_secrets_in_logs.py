"""No configured secret ever appears in a log line, an error text or a Telegram message.

Injected: the full app (web + worker) with every logger at DEBUG (aiogram, httpx, aiohttp,
redis included) and a secret in every place one can be configured — the bot token, MANGO's
key and salt, MTS's API token and callback key, Mobilon's token, the relay secret, and a
password in REDIS_URL. It is driven through a MANGO call (good signatures), forged
webhooks for every provider, /call, /balance, a PBX error, Telegram answering 429 and 500,
a bot token Telegram rejects, and ``pbxgram check-config`` on a valid and on broken files.
Every Bot API call goes through a SOCKS5 proxy whose password is in TELEGRAM_PROXY.

Must hold: none of the secrets — as is, or URL-encoded — is in the captured log output,
stdout/stderr, any Bot API request the bot made, any answer the web tier gave, or any
output of the command line.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import App, running
from bot.config import Settings
from bot.domain import Role
from bot.errors import ConfigError
from bot.logs import configure_logging
from bot.pbx.mango.signing import sign, signed_form
from bot.storage.embedded import EmbeddedRedis
from sandbox.mango import Employee, Line, MangoLimits, MangoSimulator
from sandbox.telegram import Limits, TelegramEmulator
from tests.cli.helpers import run_pbxgram
from tests.e2e.conftest import FAST, LINE, REP_ANNA, drained
from tests.proxy import LoopbackProxy
from tests.reliability.figures import record
from tests.secret_keys import TEST_SECRET_KEY

BOT_TOKEN = "7100200300:AAHsecretBotToken-For_Redaction9"
REJECTED_TOKEN = "7100200301:AAHrejectedBotToken-Never_Logged7"
MANGO_KEY = "mangoSecretApiKey4f1c9a"
MANGO_SALT = "mangoSecretSalt+Plus=Eq77"
MTS_TOKEN = "mtsSecretApiToken-5b2e8d"
MTS_CALLBACK_KEY = "mtsSecretCallbackKey-0c7f"
MOBILON_TOKEN = "mobilonSecretToken-93ad1e"
RELAY_SECRET = "relaySecret+Plus=Eq_0123456789"
REDIS_USER, REDIS_PASSWORD = "pbxgram", "redisSecretPassword-6e4b"
PROXY_USER, PROXY_PASSWORD = "pbxgram", "proxySecret+Pass@word/5d"
SECRETS = {
    "bot token": BOT_TOKEN,
    "rejected bot token": REJECTED_TOKEN,
    "MANGO api_key": MANGO_KEY,
    "MANGO api_salt": MANGO_SALT,
    "MTS api_token": MTS_TOKEN,
    "MTS callback_key": MTS_CALLBACK_KEY,
    "Mobilon api_token": MOBILON_TOKEN,
    "relay secret": RELAY_SECRET,
    "Redis password": REDIS_PASSWORD,
    "Telegram proxy password": PROXY_PASSWORD,
}
CLIENT = "79001234567"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CLOSED_PORT_URL = "http://127.0.0.1:9/"  # nothing listens: every request there fails


def accounts(mango_url: str) -> list[dict[str, Any]]:
    return [
        {"id": "main", "provider": "mango", "api_key": MANGO_KEY, "api_salt": MANGO_SALT,
         "api_url": mango_url},
        {"id": "mts", "provider": "mts", "api_token": MTS_TOKEN,
         "callback_key": MTS_CALLBACK_KEY, "api_url": CLOSED_PORT_URL},
        {"id": "mobilon", "provider": "mobilon", "api_token": MOBILON_TOKEN,
         "api_url": CLOSED_PORT_URL},
        {"id": "relay", "provider": "relay", "secret": RELAY_SECRET},
    ]  # fmt: skip


def spellings(secret: str) -> set[str]:
    """The secret as is and as it looks inside a URL or a form."""
    return {secret, quote(secret), quote(secret, safe=""), quote_plus(secret)}


def leaks(texts: dict[str, str]) -> list[str]:
    """``secret name in source`` for every secret spelling found in any text."""
    found = []
    for source, text in texts.items():
        for name, secret in SECRETS.items():
            if any(spelling in text for spelling in spellings(secret)):
                found.append(f"{name} in {source}")
    return found


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Every log record at DEBUG, through pbxgram's own handler and redaction filter."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        yield io.StringIO()
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


@pytest_asyncio.fixture
async def protected_redis(tmp_path: Path) -> AsyncIterator[str]:
    """A dedicated Redis that only lets in a user with a password; its REDIS_URL."""
    server = EmbeddedRedis(tmp_path / "redis")
    await server.start()
    try:
        admin = Redis.from_url(server.url)
        await admin.acl_setuser(
            REDIS_USER,
            enabled=True,
            passwords=[f"+{REDIS_PASSWORD}"],
            categories=["+@all"],
            keys=["*"],
            channels=["*"],
        )
        await admin.aclose()
        port = urlsplit(server.url).port
        yield f"redis://{REDIS_USER}:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    finally:
        await server.stop()


def capture_into(buffer: io.StringIO, settings: Settings) -> None:
    """pbxgram's logging set-up for ``settings``, writing into ``buffer``."""
    configure_logging(settings)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)


async def drive_webhooks(app: App, mango: MangoSimulator) -> dict[str, str]:
    """A real MANGO call, then forged requests to every provider's routes; the answers."""
    await mango.play_inbound(LINE, CLIENT, ring=["101"], answered_by="101", talk_seconds=5)
    await mango.wait_idle()
    text = '{"entry_id":"x","call_id":"y","seq":1,"call_state":"Appeared","timestamp":1}'
    forged: list[tuple[str, str, dict[str, str], str]] = [
        ("POST", "/pbx/main/events/call", FORM,
         f"vpbx_api_key={MANGO_KEY}&sign={'0' * 64}&json={quote_plus(text)}"),
        ("POST", "/pbx/main/events/call", FORM,
         f"vpbx_api_key={MANGO_KEY}&sign={sign(MANGO_KEY, text, 'wrong')}&json={text}"),
        ("POST", "/pbx/main/events/call", FORM,
         "vpbx_api_key=&sign=&json=" + quote_plus(text)),
        ("POST", "/pbx/main/events/call", FORM,  # signed, but not an event
         "&".join(f"{k}={quote_plus(v)}" for k, v in
                  signed_form(MANGO_KEY, MANGO_SALT, {"call_state": 7}).items())),
        ("POST", "/pbx/mts/events", {"X-AUTH-TOKEN": MTS_CALLBACK_KEY[:-1]}, "{}"),
        ("POST", "/pbx/mts/events", {"X-AUTH-TOKEN": MTS_CALLBACK_KEY}, "{not json"),
        ("GET", f"/pbx/mobilon/incoming?number={CLIENT}&key={MOBILON_TOKEN}x", {}, ""),
        ("POST", f"/pbx/relay/calls/{quote(RELAY_SECRET[:-1])}", FORM, "action=create_call"),
        ("POST", f"/pbx/relay/calls/{quote(RELAY_SECRET, safe='')}", FORM, "action=nonsense"),
    ]  # fmt: skip
    answers = {}
    async with httpx.AsyncClient(base_url=str(app.web_url)) as client:
        for index, (method, path, headers, body) in enumerate(forged):
            response = await client.request(method, path, headers=headers, content=body)
            assert 400 <= response.status_code < 500, (path, response.status_code)
            answers[f"web answer {index} ({response.status_code})"] = response.text
    return answers


async def drive_commands(app: App, emulator: TelegramEmulator, mango: MangoSimulator) -> None:
    """/call, /balance, a PBX error, and Telegram refusing with 429 and then 500."""
    sent = len(emulator.bot_messages(REP_ANNA))
    emulator.send_text(REP_ANNA, "/call +7 900 123-45-67")
    await emulator.wait_for_message(REP_ANNA, lambda m: m.message_id > sent)
    await mango.wait_idle()
    emulator.send_text(REP_ANNA, "/balance")
    await emulator.wait_for_message(REP_ANNA, lambda m: "963" in m.text)
    mango.fail_next("account/balance", code=3105, http_status=420)
    emulator.send_text(REP_ANNA, "/balance")
    await emulator.wait_for_message(REP_ANNA, lambda m: "⚠️" in m.text)
    emulator.inject_error("sendMessage", 429, retry_after=1)
    emulator.inject_error("sendMessage", 500, description="Internal Server Error")
    before = len(emulator.failures)
    await mango.play_inbound(LINE, CLIENT, ring=["101"], talk_seconds=0)
    await mango.wait_idle()
    await drained(app, patience=30)
    assert len(emulator.failures) >= before + 2, emulator.failures[before:]


async def test_no_secret_in_logs_texts_or_answers(
    debug_log: io.StringIO,
    protected_redis: str,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    outputs: dict[str, str] = {}
    async with (
        TelegramEmulator(token=BOT_TOKEN, limits=Limits.disabled()) as emulator,
        MangoSimulator(MANGO_KEY, MANGO_SALT, limits=MangoLimits.disabled()) as mango,
        LoopbackProxy("socks5", username=PROXY_USER, password=PROXY_PASSWORD) as proxy,
    ):
        emulator.add_user(REP_ANNA, "Anna", username="anna", language_code="en")
        mango.add_employee(Employee(extension="101", name="Anna Petrova", phones=["79991112233"]))
        mango.add_line(Line(number=LINE, name="Main line"))
        mango.balance = (Decimal("963592.45"), "RUB")
        settings = Settings(
            bot_token=BOT_TOKEN,
            telegram_api_url=emulator.base_url,
            telegram_proxy=proxy.url(),
            redis_url=protected_redis,
            web_port=0,
            pbxgram_data_dir=tmp_path / "data",
            log_level="DEBUG",
            accounts=accounts(mango.base_url),
            pbxgram_secret_key=TEST_SECRET_KEY,
        )
        capture_into(debug_log, settings)
        async with running(settings, web_role=True, worker_role=True, tuning=FAST) as app:
            mango.webhook_url = f"{app.web_url}/pbx/main"
            emulator.send_text(REP_ANNA, "/start")
            await emulator.wait_for_message(REP_ANNA)
            await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
            outputs.update(await drive_webhooks(app, mango))
            await drive_commands(app, emulator, mango)
            await drained(app)
        rejected_settings = settings.model_copy(update={"bot_token": SecretStr(REJECTED_TOKEN)})
        capture_into(debug_log, rejected_settings)  # as a process started with that token
        with pytest.raises(ConfigError) as rejected:
            async with running(rejected_settings, web_role=False, worker_role=True):
                pass
        outputs["rejected token error"] = str(rejected.value)
        bot_requests = [f"{method} {params}" for method, params in emulator.requests]
        outputs["Bot API requests"] = "\n".join(bot_requests)
        outputs["Telegram failures"] = repr(emulator.failures)
        assert "sendMessage" in proxy.methods, "the bot did not go through the proxy"
    outputs.update(check_config_outputs(tmp_path, protected_redis))
    captured = capfd.readouterr()
    outputs["log (DEBUG)"] = debug_log.getvalue()
    outputs["stdout"], outputs["stderr"] = captured.out, captured.err

    log_lines = outputs["log (DEBUG)"].count("\n")
    assert log_lines > 100, "DEBUG logging was not captured"
    assert "aiogram" in outputs["log (DEBUG)"] and "httpx" in outputs["log (DEBUG)"]
    assert "***" in outputs["log (DEBUG)"], "nothing was redacted: is the filter in place?"
    found = leaks(outputs)
    lines = [
        line
        for line in outputs["log (DEBUG)"].splitlines()
        if any(spelling in line for secret in SECRETS.values() for spelling in spellings(secret))
    ]
    assert found == [], (found, lines[:5])
    record(
        "Secrets never appear in logs or error texts",
        "full app (web + worker) at DEBUG for every logger; a secret in each configurable "
        "place (bot token, MANGO key and salt, MTS token and callback key, Mobilon token, "
        "relay secret, Redis password in REDIS_URL, proxy password in TELEGRAM_PROXY, every Bot "
        "API call through that SOCKS5 proxy); good and forged webhooks for every "
        "provider, /call, /balance, a PBX error, Telegram 429 and 500, a rejected bot "
        "token, check-config on valid and broken files (a bad TELEGRAM_PROXY among them).",
        "no secret, as is or URL-encoded, in log output, stdout/stderr, Bot API requests, "
        "web answers or command-line output.",
        {
            "secrets": len(SECRETS),
            "log_lines": log_lines,
            "bot_api_requests": len(bot_requests),
            "texts_searched": len(outputs),
            "redacted_marks": outputs["log (DEBUG)"].count("***"),
            "leaks": len(found),
        },
    )


def check_config_outputs(tmp_path: Path, redis_url: str) -> dict[str, str]:
    """``pbxgram check-config`` on a valid file with secrets, and on broken ones."""
    lines = [
        "[[accounts]]",
        'id = "main"\nprovider = "mango"',
        f'api_key = "{MANGO_KEY}"\napi_salt = "{MANGO_SALT}"',
        "[[accounts]]",
        'id = "mts"\nprovider = "mts"',
        f'api_token = "{MTS_TOKEN}"\ncallback_key = "{MTS_CALLBACK_KEY}"',
        "[[accounts]]",
        'id = "mobilon"\nprovider = "mobilon"',
        f'api_token = "{MOBILON_TOKEN}"',
        "[[accounts]]",
        'id = "relay"\nprovider = "relay"',
        f'secret = "{RELAY_SECRET}"',
    ]
    valid = "\n".join(lines) + "\n"
    broken = {
        "short relay secret": valid.replace(RELAY_SECRET, RELAY_SECRET[:15]),
        "bad provider": valid.replace('provider = "mts"', 'provider = "mtx"'),
        "unknown field": valid.replace(f'api_token = "{MOBILON_TOKEN}"',
                                       f'api_tokn = "{MOBILON_TOKEN}"'),
        "TOML syntax": valid.replace(f'"{MANGO_SALT}"', f'"{MANGO_SALT}'),
    }  # fmt: skip
    proxy = f"socks5://{PROXY_USER}:{quote(PROXY_PASSWORD, safe='')}@127.0.0.1:9"
    env = {"BOT_TOKEN": BOT_TOKEN, "REDIS_URL": redis_url, "LOG_LEVEL": "DEBUG",
           "TELEGRAM_PROXY": proxy}  # fmt: skip
    outputs = {}
    for name, text in {"valid": valid, **broken}.items():
        path = tmp_path / f"{name.replace(' ', '-')}.toml"
        path.write_text(text, encoding="utf-8")
        result = run_pbxgram("check-config", cwd=tmp_path, env={**env, "PBXGRAM_CONFIG": str(path)})
        assert result.returncode == (0 if name == "valid" else 2), (name, result.stderr)
        outputs[f"check-config ({name})"] = result.stdout + result.stderr
    bad_proxy = {**env, "TELEGRAM_PROXY": proxy.replace("socks5", "socks9", 1)}
    result = run_pbxgram("check-config", cwd=tmp_path, env=bad_proxy)
    assert result.returncode == 2 and "TELEGRAM_PROXY:" in result.stderr, result.stderr
    outputs["check-config (bad TELEGRAM_PROXY)"] = result.stdout + result.stderr
    assert "<secret>" in outputs["check-config (valid)"]
    # That file's relay secret is its own, shorter one (a prefix of the others').
    assert RELAY_SECRET[:15] not in outputs["check-config (short relay secret)"]
    return outputs
