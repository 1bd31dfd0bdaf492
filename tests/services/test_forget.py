"""Forgetting a number: nothing of it is left in Redis, the audit names it only by a
salted hash, and the retention setting gives the call log and missed calls their TTLs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.accounts import AccountBase
from bot.cli import _forget
from bot.config import Settings
from bot.domain import CallNote
from bot.services.audit import AuditLog
from bot.services.call_log import CallLog
from bot.services.forget import Forgetter, forget_number, number_forms, number_hash
from bot.services.missed_calls import MissedCall, MissedCalls, missed_ref
from bot.services.phonebook import Phonebook, PhonebookEntry
from bot.storage import Keys
from bot.telegram.outbox import Outbox, OutMessage, Priority
from tests.pipeline.test_sessions import T0
from tests.services.test_call_log import _finished

E164 = "+79001234567"
FORMS = ("+79001234567", "79001234567", "89001234567", "+7 900 123-45-67")
OTHER = "+79007654321"


@pytest.fixture
def accounts(make_settings: Callable[..., Settings]) -> Sequence[AccountBase]:
    return make_settings().accounts


async def leftovers(redis: Redis, forms: tuple[str, ...] = FORMS) -> list[str]:
    """Every key whose name or value holds one of ``forms``."""
    found: list[str] = []
    async for key in redis.scan_iter(count=1000):
        kind = await redis.type(key)
        values: list[Any]
        if kind == "string":
            values = [await redis.get(key) or ""]
        elif kind == "hash":
            values = [str(k) + "=" + str(v) for k, v in (await redis.hgetall(key)).items()]
        elif kind == "set":
            values = list(await redis.smembers(key))
        elif kind == "zset":
            values = [*await redis.zrange(key, 0, -1)]
        elif kind == "list":
            values = list(await redis.lrange(key, 0, -1))
        elif kind == "stream":
            values = [str(fields) for _, fields in await redis.xrange(key) or []]
        else:
            values = []
        text = "\n".join([str(key), *map(str, values)])
        found += [f"{key}: {form}" for form in forms if form in text]
    return found


async def fill(redis: Redis, keys: Keys) -> None:
    """Two calls with the client (one missed, with a note), one with another number, a
    phonebook entry, a cached look-up, a spam mark and a queued message."""
    log, missed = CallLog(redis, keys), MissedCalls(redis, keys)
    for call_id, answered, number in (("A1", True, E164), ("M1", False, E164), ("X1", True, OTHER)):
        session = _finished(call_id, answered=answered)
        session.client_number = number
        session.notes = (
            [CallNote(author="Maria", author_id=2003, text=f"call {E164} back", at=T0)]
            if not answered
            else []
        )
        session.tags = ["sale"] if answered else []
        await log.record(session)
        await redis.set(keys.call_session("main", call_id), session.model_dump_json())
    first = await log.get("main", "M1")
    assert first is not None
    alert = MissedCall(
        account="main",
        call_id="M1",
        client_number=E164,
        at=first.started_at,
        copies=[(1000, "missed:x:1000")],
    )
    await missed.save(alert)
    await missed.mark_spam("main", E164, by="Maria")
    await missed.first_text_today("main", E164, "2026-11-24")
    await Phonebook(redis, keys).replace(
        {E164: PhonebookEntry(name="Ivan"), OTHER: PhonebookEntry(name="Olga")}
    )
    await redis.set(keys.caller_identity("main", E164), '{"name": "Ivan"}')
    outbox = Outbox(redis, keys)
    await outbox.put(
        "missed:x:1000", OutMessage(chat_id=1000, text="Missed: +7 900 123-45-67"), Priority.MISSED
    )
    await outbox.put("other:1", OutMessage(chat_id=1000, text="Hello"), Priority.DIGEST)
    await redis.xadd(keys.events_stream(), {"event": f'{{"caller": "{E164[1:]}"}}'})
    await redis.xadd(keys.events_stream(), {"event": '{"caller": "79007654321"}'})


async def test_forgetting_a_number_leaves_no_form_of_it(
    redis: Redis, accounts: Sequence[AccountBase]
) -> None:
    keys = Keys()
    await fill(redis, keys)
    assert await leftovers(redis)

    forgotten = await Forgetter(redis, keys, accounts).forget("8 (900) 123-45-67")

    assert forgotten is not None and forgotten.numbers == [E164]
    assert await leftovers(redis) == []
    counts = forgotten.counts
    assert (counts["calls"], counts["missed"], counts["notes"], counts["tags"]) == (2, 1, 1, 1)
    assert (counts["phonebook"], counts["lookups"], counts["spam"], counts["texts"]) == (1, 1, 1, 1)
    assert (counts["sessions"], counts["queued"], counts["events"]) == (2, 1, 1)
    assert forgotten.sent == 0
    # The other client is untouched.
    assert [c.call_id for c in await CallLog(redis, keys).recent("main", number=OTHER)] == ["X1"]
    assert await Phonebook(redis, keys).find(OTHER) is not None
    assert await redis.exists(keys.slot("other:1"))
    assert await redis.xlen(keys.events_stream()) == 1


async def test_a_sent_message_is_counted_and_its_link_to_the_call_dropped(
    redis: Redis, accounts: Sequence[AccountBase]
) -> None:
    keys = Keys()
    await fill(redis, keys)
    slot = keys.slot("missed:x:1000")
    await redis.hset(slot, mapping={"sent_version": 1, "chat_id": 1000, "message_id": 7})
    await redis.set(keys.message_about(1000, 7), "main M1")
    # A card of the call, sent, named after it but in no outbox stream any more.
    card = keys.slot("card:main:A1:101")
    for sent in (card, keys.slot("card:main:X1:101")):
        await redis.hset(
            sent,
            mapping={
                "content": "{}",
                "version": 1,
                "sent_version": 1,
                "chat_id": 2001,
                "message_id": 8,
            },
        )

    forgotten = await Forgetter(redis, keys, accounts).forget(E164)

    assert forgotten is not None
    assert (forgotten.sent, forgotten.counts["queued"]) == (2, 0)
    assert not await redis.exists(slot, card, keys.message_about(1000, 7))
    assert await redis.exists(keys.slot("card:main:X1:101"))  # another client's call


async def test_what_is_no_number_is_refused(redis: Redis, accounts: Sequence[AccountBase]) -> None:
    assert await Forgetter(redis, Keys(), accounts).forget("hello") is None


async def test_the_audit_names_the_number_only_by_a_salted_hash(
    redis: Redis, accounts: Sequence[AccountBase]
) -> None:
    keys = Keys()
    await fill(redis, keys)
    audit = AuditLog(redis, keys)
    await audit.record("spam_marked", actor=1000, account="main", details={"number": E164})
    await audit.record("role_changed", actor=1000, details={"role": "manager"})
    forgetter = Forgetter(redis, keys, accounts)

    await forget_number(forgetter, audit, "+7 900 123-45-67", actor=1000, salt="s3")

    # The spam mark that named the number is gone with it; the rest of the trail stays.
    [entry, kept] = await audit.entries()
    assert kept.action == "role_changed"
    assert entry.action == "number_forgotten"
    assert entry.details["number_hash"] == number_hash(E164, "s3")
    assert number_hash(E164, "s3") != number_hash(E164, "other salt")
    assert await leftovers(redis, tuple(number_forms(E164))) == []


async def test_the_retention_setting_is_the_ttl_of_the_call_log_and_missed_calls(
    redis: Redis,
) -> None:
    keys = Keys()
    week = timedelta(days=7)
    log = CallLog(redis, keys, retention=week)
    missed = MissedCalls(redis, keys, retention=week)
    session = _finished("R1", answered=False)
    call = await log.record(session)
    assert call is not None
    await missed.save(
        MissedCall(account="main", call_id="R1", client_number=E164, at=call.started_at)
    )
    await missed.first_text_today("main", E164, "2026-11-24")

    day = call.started_at.strftime("%Y-%m-%d")
    for key in (
        keys.call_log_entry("main", "R1"),
        keys.call_ref(call.ref),
        keys.call_log("main"),
        keys.call_log_by_number("main", call.client_number or ""),
        keys.missed(missed_ref("main", call.call_id)),
        keys.missed_day("main", day),
        keys.missed_open("main", E164),
    ):
        assert 0 < await redis.ttl(key) <= week.total_seconds(), key
    assert 0 < await redis.ttl(keys.missed_sms_sent("main", E164, "2026-11-24")) <= 2 * 86400


async def test_missed_calls_are_never_kept_longer_than_before(
    redis: Redis, accounts: Sequence[AccountBase]
) -> None:
    missed = MissedCalls(redis, Keys(), retention=timedelta(days=365))
    assert missed.retention == timedelta(days=14)
    assert CallLog(redis, Keys()).retention == timedelta(days=35)


async def test_the_command_line_forgets_and_reports(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    keys = Keys()
    await fill(redis, keys)
    settings = make_settings(telegram_webhook_secret="salt-of-tests")

    printed = await _forget(settings, "89001234567", None)

    assert printed.startswith("Forgotten.")
    assert "  calls: 2" in printed
    assert await leftovers(redis) == []
    [entry] = await AuditLog(redis, keys).entries()
    assert (entry.action, entry.actor) == ("number_forgotten", "cli")
    assert entry.details["number_hash"] == number_hash(E164, "salt-of-tests")
