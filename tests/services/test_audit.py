"""The audit trail: recorded, capped by count and by age, filtered, paged, exported, and
never holding a secret."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.services.audit import AuditEntry, AuditLog
from bot.storage import Keys

KEYS = Keys()


async def test_an_entry_keeps_who_what_where(redis: Redis) -> None:
    audit = AuditLog(redis, KEYS)
    before = datetime.now(UTC) - timedelta(seconds=1)
    await audit.record(
        "link", actor=1000, account="main", chat=-100500, details={"extension": "101"}
    )
    await audit.record("config_reveal", actor="cli")
    await audit.record("link", actor=None, account="main")

    newest, cli, linked = await audit.entries()
    assert (linked.action, linked.actor, linked.account, linked.chat) == (
        "link",
        1000,
        "main",
        -100500,
    )
    assert linked.details == {"extension": "101"}
    assert linked.at >= before and linked.at.tzinfo is not None
    assert (cli.actor, cli.account, cli.chat, cli.details) == ("cli", None, None, {})
    assert newest.actor is None
    assert await redis.type(KEYS.audit()) == "stream"


async def test_the_stream_is_capped(redis: Redis) -> None:
    audit = AuditLog(redis, KEYS, max_entries=100)
    for n in range(350):
        await audit.record("role", actor=n)
    assert await redis.xlen(KEYS.audit()) <= 200  # MAXLEN ~: whole nodes of 100 go
    assert (await audit.entries(actor=0)) == []
    [last] = await audit.entries(limit=1)
    assert last.actor == 349


async def test_entries_older_than_the_retention_are_trimmed(redis: Redis) -> None:
    now = datetime.now(UTC)
    for days in (400, 366, 10):
        millis = int((now - timedelta(days=days)).timestamp() * 1000)
        fields = {"action": f"old_{days}", "actor": "1", "details": "{}"}
        await redis.xadd(KEYS.audit(), fields, id=f"{millis}-0")  # type: ignore[arg-type]
    await AuditLog(redis, KEYS, retention_days=365).record("link", actor=1)
    assert [e.action for e in await AuditLog(redis, KEYS).entries()] == ["link", "old_10"]


async def test_filters_by_person_and_by_action(redis: Redis) -> None:
    audit = AuditLog(redis, KEYS)
    await audit.record("spam_mark", actor=2003, account="main")
    await audit.record("spam_block", actor=2003, account="main")
    await audit.record("spam_unblock", actor=1000, account="main")
    await audit.record("spammy", actor=1000)  # no "spam_" prefix: not a spam action
    await audit.record("subscribe", actor=1000, chat=-1)

    assert [e.action for e in await audit.entries(actor=2003)] == ["spam_block", "spam_mark"]
    assert [e.action for e in await audit.entries(action="spam")] == [
        "spam_unblock",
        "spam_block",
        "spam_mark",
    ]
    assert [e.action for e in await audit.entries(action="spam_block")] == ["spam_block"]
    assert [e.action for e in await audit.entries(actor=1000, action="spam")] == ["spam_unblock"]
    assert await audit.entries(actor=42) == []


async def test_pages_go_back_from_the_last_id_shown(redis: Redis) -> None:
    audit = AuditLog(redis, KEYS)
    for n in range(25):
        await audit.record("role" if n % 2 else "link", actor=n)
    first = await audit.entries(limit=10)
    second = await audit.entries(limit=10, before=first[-1].id)
    third = await audit.entries(limit=10, before=second[-1].id)
    assert [e.actor for e in first + second + third] == list(range(24, -1, -1))
    assert len(third) == 5
    # filtered pages read past what they leave out (more than one read batch)
    for _ in range(450):
        await audit.record("noise", actor=7)
    links = await audit.entries(action="link", limit=10)
    older = await audit.entries(action="link", limit=10, before=links[-1].id)
    assert [e.actor for e in links + older] == list(range(24, -1, -2))


async def test_export_is_every_entry_oldest_first_from_a_day(redis: Redis) -> None:
    audit = AuditLog(redis, KEYS)
    day = datetime.now(UTC) - timedelta(days=3)
    old = int((day - timedelta(days=1)).timestamp() * 1000)
    await redis.xadd(KEYS.audit(), {"action": "old", "actor": "cli"}, id=f"{old}-0")
    for n in range(450):
        await audit.record("role", actor=n)

    everything = [entry async for entry in audit.export()]
    assert [e.action for e in everything[:2]] == ["old", "role"]
    assert [e.actor for e in everything[1:]] == list(range(450))
    since = [entry async for entry in audit.export(since=day)]
    assert len(since) == 450
    line = json.loads(since[0].model_dump_json())
    assert set(line) == {"id", "at", "action", "actor", "account", "chat", "details"}
    assert AuditEntry.model_validate(line) == since[0]


async def test_no_secret_is_ever_stored(redis: Redis) -> None:
    audit = AuditLog(redis, KEYS)
    await audit.record(
        "invite_created",
        actor=1000,
        account="main",
        details={
            "extension": "101",
            "code": "AbCdEf-invite-code",
            "api_key": "test-api-key",
            "api_salt": "test-api-salt",
            "bot_token": "123:secret",
            "Password": "hunter2",
            "note": "x" * 500 + "\nsecond line",
        },
    )
    [entry] = await audit.entries()
    assert set(entry.details) == {"extension", "note"}
    assert len(entry.details["note"]) <= 120 and "\n" not in entry.details["note"]
    stored = json.dumps(await redis.xrange(KEYS.audit()))
    for secret in ("AbCdEf", "test-api-key", "test-api-salt", "123:secret", "hunter2"):
        assert secret not in stored
