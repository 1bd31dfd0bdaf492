"""A PBX that answers "Rate limit exceeded" (HTTP 503) and stops answering in time.

The MANGO simulator enforces the spec's request limits (section 1.4.1) and, on top, turns
requests away with 503 or holds them past the app's PBX timeout. /balance and /call from
several people at once must be retried within the published limits (the simulator counts
what arrives per second), succeed when the PBX recovers, be answered in words when it does
not, and leave nothing stuck: the next command works and every queue drains.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx
from redis.asyncio import Redis

from bot.app import App
from bot.domain import Role
from bot.pbx.mango.client import RETRY_DELAYS
from bot.phones import display
from sandbox.mango import MangoLimits, MangoSimulator
from sandbox.mango.server import ReceivedRequest
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import FAST, drained
from tests.helpers import until
from tests.reliability.conftest import StartApp
from tests.reliability.figures import record

PEOPLE = 6  # managers on extensions 101..106, all asking at once
FIRST_PERSON = 2100  # extension 1NN is Telegram user 2100 + NN
CLIENT = "79001234567"
CLIENT_SHOWN = display(CLIENT)
PBX_TIMEOUT = 1.0  # the app's PBX request timeout in this test
STALL = 3.0  # how long the simulator holds a request it is told to stall
ANSWER_WITHIN = 60.0  # generous: other test runs may share the machine's two cores
JITTER = 0.1  # seconds two requests may drift apart between the client's limiter and the PBX

NBSP = "\u00a0"
BALANCE = f"💰 Баланс: 1{NBSP}234,50{NBSP}₽\nДанные на "
BALANCE_BUSY = (
    "⚠️ Не удалось узнать баланс. АТС сейчас перегружена запросами. Попробуйте через минуту."
)
BALANCE_LATE = "⚠️ Не удалось узнать баланс. АТС не ответила вовремя. Попробуйте чуть позже."
CALL_BUSY = (
    f"❌ Звонок на {CLIENT_SHOWN} не состоялся. "
    "АТС сейчас перегружена запросами. Попробуйте через минуту."
)
CALL_LATE = (  # the PBX may have placed it after all: not called failed
    f"❓ АТС не ответила вовремя, поэтому звонок на {CLIENT_SHOWN} ещё может состояться. "
    "Если ваш телефон (102) не зазвонит в течение минуты, попробуйте снова."
)

# Requests per second the client must keep to (spec 1.4.1), by path; "*" is all of them.
SPEC_RATES = {"*": 10, "account/balance": 2, "commands/callback": 4}


def person(extension: int) -> int:
    return FIRST_PERSON + extension - 100


def ringing(extension: int) -> str:
    return (
        f"📞 АТС звонит вам на {extension}. Возьмите трубку, и она соединит вас с {CLIENT_SHOWN}."
    )


async def ask(emulator: TelegramEmulator, user: int, text: str, done: str) -> ChatMessage:
    """``user`` writes ``text``; the bot's answer to it once it reads ``done`` (a prefix).

    /call is answered in reply to the command (and edited); /balance right after it.
    """
    asked = int(emulator.send_text(user, text)["message"]["message_id"])

    def answered(message: ChatMessage) -> bool:
        if text.startswith("/call") and message.reply_to != asked:
            return False
        return message.message_id > asked and message.text.startswith(done)

    return await emulator.wait_for_message(user, answered, timeout=ANSWER_WITHIN)


def arrivals(mango: MangoSimulator, path: str) -> list[ReceivedRequest]:
    """Signed requests that reached the PBX (``*``: any path), in order."""
    return [r for r in mango.requests if r.verified and path in ("*", r.path)]


def busiest(requests: list[ReceivedRequest], window: float) -> int:
    """The most requests that arrived within any ``window`` seconds."""
    times = sorted(r.at for r in requests)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def caller(request: ReceivedRequest) -> str:
    """The extension a commands/callback request rings first."""
    assert request.payload is not None
    return str(request.payload["from"]["extension"])


def carried_out(mango: MangoSimulator, path: str) -> list[ReceivedRequest]:
    return [r for r in arrivals(mango, path) if r.status == 200]


async def test_pbx_rate_limits_and_timeouts(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    start_app: StartApp,
    redis: Redis,
) -> None:
    emulator, mango = emulator, mango
    mango.limits = MangoLimits()  # the spec's limits, enforced
    mango.limiter.limits = mango.limits
    tuning = replace(FAST, pbx_timeout=httpx.Timeout(PBX_TIMEOUT))
    app: App = await start_app(tuning)
    extensions = list(range(101, 101 + PEOPLE))
    for extension in extensions:
        emulator.add_user(person(extension), f"Manager {extension}", language_code="ru")
        await app.access.link("main", str(extension), person(extension), Role.MANAGER)
    started = time.monotonic()

    # 1. Everyone at once while the PBX turns the first requests away: retried, then fine.
    mango.fail_next("account/balance", http_status=503, times=2)
    mango.fail_next("commands/callback", http_status=503, times=2)
    answers = await asyncio.gather(
        *(ask(emulator, person(e), "/balance", BALANCE) for e in extensions),
        *(ask(emulator, person(e), f"/call {CLIENT}", ringing(e)) for e in extensions),
    )
    assert [m.text for m in answers[PEOPLE:]] == [ringing(e) for e in extensions]
    assert len(carried_out(mango, "account/balance")) == PEOPLE
    placed = sorted(caller(r) for r in carried_out(mango, "commands/callback"))
    assert placed == [str(e) for e in extensions]  # each call placed once, none twice

    # 2. The PBX keeps refusing, then does not answer in time: told in words, nothing placed.
    anna, boris = person(101), person(102)
    sent_before = len(arrivals(mango, "*"))
    mango.fail_next("account/balance", http_status=503, times=len(RETRY_DELAYS) + 1)
    mango.fail_next("commands/callback", http_status=503, times=len(RETRY_DELAYS) + 1)
    busy = await asyncio.gather(
        ask(emulator, anna, "/balance", "⚠️"), ask(emulator, boris, f"/call {CLIENT}", "❌")
    )
    assert [m.text for m in busy] == [BALANCE_BUSY, CALL_BUSY]
    retried = [r for r in arrivals(mango, "*")[sent_before:] if r.path in SPEC_RATES]
    assert [r.status for r in retried] == [503] * 2 * (len(RETRY_DELAYS) + 1)
    mango.stall_next("account/balance", STALL)
    mango.stall_next("commands/callback", STALL)
    late = await asyncio.gather(
        ask(emulator, anna, "/balance", "⚠️"), ask(emulator, boris, f"/call {CLIENT}", "❓")
    )
    assert [m.text for m in late] == [BALANCE_LATE, CALL_LATE]

    # 3. The PBX is back: the next commands work, and nothing is left behind.
    await until(lambda: len([r for r in mango.requests if r.status == 504]) == 2, ANSWER_WITHIN)
    back = await asyncio.gather(
        ask(emulator, anna, "/balance", BALANCE), ask(emulator, boris, f"/call {CLIENT}", "📞 АТС")
    )
    assert back[1].text == ringing(102)
    await mango.wait_idle(timeout=ANSWER_WITHIN)
    await drained(app, patience=ANSWER_WITHIN)
    elapsed = time.monotonic() - started
    assert len(carried_out(mango, "commands/callback")) == PEOPLE + 1

    # The client kept to the published limits: never more in any second than allowed
    # (counted over a slightly shorter window, for scheduling jitter on a busy machine).
    seen = {path: arrivals(mango, path) for path in SPEC_RATES}
    most = {path: busiest(requests, 1.0 - JITTER) for path, requests in seen.items()}
    assert all(most[path] <= rate for path, rate in SPEC_RATES.items()), most
    injected_503 = 2 * 2 + 2 * (len(RETRY_DELAYS) + 1)
    refused = len([r for r in seen["*"] if r.status == 503])
    # The PBX's own limits had (next to) nothing to turn away: one for a scheduling hiccup.
    assert refused - injected_503 <= 1, refused - injected_503
    record(
        "PBX answering 503 and timing out",
        f"MANGO simulator with the spec's request limits; {PEOPLE} managers send /balance "
        "and /call at once while the PBX answers 503 to the first requests; then 503 to "
        "every retry, then requests held past the app's PBX timeout",
        "retries stay within the published limits; each call placed once; the person is "
        "told in words when a command finally fails; the next command works; queues drain",
        {
            "commands": 2 * PEOPLE + 6,
            "PBX requests": len(seen["*"]),
            "503 injected": injected_503,
            "503 from the PBX's own limits": refused - injected_503,
            "timeouts": 2,
            "most requests in any second (all / balance / callback)": " / ".join(
                str(busiest(seen[path], 1.0)) for path in SPEC_RATES
            ),
            "time": f"{elapsed:.1f} s",
        },
    )
