"""The events stream: verified, normalised PBX events waiting for the workers.

Use :class:`EventStream.put` from the web tier (one ``XADD`` per event) and
:func:`decode_event` to read an entry back; :func:`entry_call` says which call an entry
belongs to (the workers handle a call's entries one after another).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from redis.asyncio import Redis

from bot.events import PbxEvent
from bot.storage import Keys

EVENT_ADAPTER: TypeAdapter[PbxEvent] = TypeAdapter(PbxEvent)
STREAM_MAXLEN = 200_000


def encode_event(event: PbxEvent) -> str:
    return EVENT_ADAPTER.dump_json(event).decode()


def decode_event(data: str | bytes) -> PbxEvent:
    return EVENT_ADAPTER.validate_json(data)


def entry_fields(event: PbxEvent) -> dict[str, str]:
    """The fields of ``event``'s stream entry: the event itself, and the call it is of."""
    fields = {"event": encode_event(event), "dedupe": event.dedupe_key}
    call_id = getattr(event, "call_id", None)
    if call_id:
        fields["call"] = f"{event.account}:{call_id}"
    return fields


def entry_call(fields: dict[str, str]) -> str | None:
    """The call a stream entry is of (``account:call_id``), None for other events and for
    entries written before the field existed."""
    return fields.get("call")


class EventStream:
    """Append events to the Redis stream the workers read.

    Calls to :meth:`put` that arrive while a write is in flight are written together in
    the next one: one round trip and one transaction for many webhooks under load, and no
    waiting at all when there is no write in flight.
    """

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self.name = keys.events_stream()
        self._waiting: list[tuple[list[dict[Any, Any]], asyncio.Future[list[str]]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def put(self, events: Sequence[PbxEvent]) -> list[str]:
        """Store every event durably (in one transaction); return the entry ids."""
        fields = [entry_fields(event) for event in events]
        if not fields:
            return []
        done: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self._waiting.append((fields, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all(), name="event-stream-writer")
        return await done

    def _add(self, client: Redis, fields: dict[Any, Any]) -> Any:
        return client.xadd(self.name, fields, maxlen=STREAM_MAXLEN, approximate=True)

    async def _write_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(
        self, batch: list[tuple[list[dict[Any, Any]], asyncio.Future[list[str]]]]
    ) -> None:
        try:
            if len(batch) == 1 and len(batch[0][0]) == 1:  # one XADD is atomic on its own
                results: list[Any] = [await self._add(self._redis, batch[0][0][0])]
            else:  # a transaction when some call has several events, else just a pipeline
                several = any(len(fields) > 1 for fields, _ in batch)
                async with self._redis.pipeline(transaction=several) as pipe:
                    for fields, _ in batch:
                        for entry in fields:
                            self._add(pipe, entry)
                    results = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        except BaseException:
            for _, done in batch:
                done.cancel()
            raise
        start = 0
        for fields, done in batch:
            mine = results[start : start + len(fields)]
            start += len(fields)
            error = next((r for r in mine if isinstance(r, Exception)), None)
            if done.done():
                continue
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result([str(entry_id) for entry_id in mine])
