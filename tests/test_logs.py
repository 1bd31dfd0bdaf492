"""LOG_FORMAT=json: one object a line with its context fields, secrets redacted everywhere
(message, fields, traceback); Sentry events get the same redaction."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.log_context import ContextFields, log_fields
from bot.logs import JsonRecords, RedactSecrets, configure_logging
from bot.pipeline.consumer import ConsumerOptions, StreamConsumer
from bot.sentry import before_send, init_sentry

SECRET = "tok-123:SECRET-abc"
log = logging.getLogger("pbxgram.test")


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Records of ``pbxgram.test`` as the JSON handler writes them, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    redact = RedactSecrets([SECRET])
    handler.setFormatter(JsonRecords(redact))
    handler.addFilter(ContextFields())
    handler.addFilter(redact)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        log.removeHandler(handler)


def test_a_record_is_one_json_object_with_its_context(
    lines: Callable[[], list[dict[str, Any]]],
) -> None:
    with (
        log_fields(account="main", call="c-1", chat=None),
        log_fields(stream="pbxgram:events", entry="1-0"),  # nested: both sets of fields
    ):
        log.warning("call %s ended", "c-1", extra={"chat": 42})
    log.info("outside")

    inside, outside = lines()
    assert inside["level"] == "WARNING" and inside["logger"] == "pbxgram.test"
    assert inside["message"] == "call c-1 ended" and inside["time"]
    assert {k: inside[k] for k in ("account", "call", "stream", "entry", "chat")} == {
        "account": "main",
        "call": "c-1",
        "stream": "pbxgram:events",
        "entry": "1-0",
        "chat": 42,  # extra= wins over the context
    }
    assert "account" not in outside


def test_secrets_are_redacted_in_message_fields_and_traceback(
    lines: Callable[[], list[dict[str, Any]]],
) -> None:
    try:
        raise RuntimeError(f"Unauthorized for {SECRET}")
    except RuntimeError:
        log.exception("request to /bot%s failed", SECRET, extra={"url": f"https://x/{SECRET}"})

    [record] = lines()
    text = json.dumps(record)
    assert SECRET not in text
    assert record["message"] == "request to /bot*** failed"
    assert record["url"] == "https://x/***"
    assert "Unauthorized for ***" in record["exc_info"]


def test_log_format_json_is_chosen_by_the_setting(make_settings: Callable[..., Settings]) -> None:
    root = logging.getLogger()
    before, level = root.handlers[:], root.level
    try:
        configure_logging(make_settings(log_format="json"))
        assert isinstance(root.handlers[0].formatter, JsonRecords)
        configure_logging(make_settings())
        assert not isinstance(root.handlers[0].formatter, JsonRecords)
    finally:
        root.handlers[:], root.level = before, level


async def test_a_stream_entry_is_named_in_what_its_handler_logs(redis: Redis) -> None:
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Collect()
    handler.addFilter(ContextFields())
    log.addHandler(handler)
    done = asyncio.Event()

    async def handle(entry_id: str, fields: dict[str, str]) -> None:
        log.warning("handling")
        done.set()

    entry_id = await redis.xadd("s", {"n": "1"})
    consumer = StreamConsumer(
        redis, "s", "g", "c", handle, dead_letter_stream="s:dead", options=ConsumerOptions()
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        stop.set()
        await task
        log.removeHandler(handler)
    assert (getattr(seen[0], "stream", None), getattr(seen[0], "entry", None)) == ("s", entry_id)


def test_sentry_events_are_redacted() -> None:
    hook = before_send(RedactSecrets([SECRET]))
    event = {
        "message": f"failed {SECRET}",
        "exception": {"values": [{"value": f"401 {SECRET}", "frames": [{"vars": {"t": SECRET}}]}]},
        "breadcrumbs": {"values": [{"message": f"GET /bot{SECRET}/getMe"}]},
        "level": "error",
        "count": 3,
    }
    scrubbed = hook(event, {})
    assert SECRET not in json.dumps(scrubbed)
    assert scrubbed["message"] == "failed ***" and scrubbed["count"] == 3


def test_sentry_starts_only_with_a_dsn(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    redact = RedactSecrets([SECRET])
    assert init_sentry(make_settings(), redact) is False
    sentry_sdk = pytest.importorskip("sentry_sdk")
    started: dict[str, Any] = {}
    monkeypatch.setattr(sentry_sdk, "init", lambda **kwargs: started.update(kwargs))

    assert init_sentry(make_settings(sentry_dsn="https://k@sentry.example/1"), redact) is True
    assert started["dsn"] == "https://k@sentry.example/1"
    assert started["before_send"]({"message": SECRET}, {}) == {"message": "***"}
