"""The events stream: verified, normalised PBX events waiting for the workers.

Use :class:`EventStream.put` from the web tier (one ``XADD`` per event) and
:func:`decode_event` to read an entry back.
"""

from __future__ import annotations

from collections.abc import Sequence

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


class EventStream:
    """Append events to the Redis stream the workers read."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self.name = keys.events_stream()

    async def put(self, events: Sequence[PbxEvent]) -> list[str]:
        """Store every event durably (one transaction); return the entry ids."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for event in events:
                pipe.xadd(
                    self.name,
                    {"event": encode_event(event), "dedupe": event.dedupe_key},
                    maxlen=STREAM_MAXLEN,
                    approximate=True,
                )
            ids = await pipe.execute()
        return [str(entry_id) for entry_id in ids]
