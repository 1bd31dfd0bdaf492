"""Calls being followed until the journal says how they ended, kept in Redis.

The incoming-call webhook carries only the caller's number and the key of the employee
it rang. Webhooks for the same number within :data:`RING_WINDOW` seconds are one call (a
ring group rings several people; a hunt group one after another): the first one opens a
call id, later ones join it. Each call lives in a hash: ``data`` (the JSON of
:class:`FollowedCall`, written once by the webhook and then only by the poller) and one
``ring:<extension>`` field per employee it rang, so concurrent webhooks never overwrite
one another.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.pbx.mobilon.redis_keys import MobilonKeys
from bot.storage import Keys

RING_WINDOW = 90  # seconds after a ring in which another ring from the number joins the call
CALL_TTL = 3 * 24 * 3600
CLAIM_TTL = 3 * 24 * 3600

# KEYS[1] the number's "ringing" key; ARGV: a new call id, window seconds.
_OPEN_OR_JOIN = """
local id = redis.call('GET', KEYS[1])
if not id then id = ARGV[1] end
redis.call('SET', KEYS[1], id, 'EX', ARGV[2])
return id
"""
# KEYS[1] the number's "ringing" key; ARGV[1] the call id: close it only if still open.
_CLOSE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class FollowedCall(BaseModel):
    """What the bot knows of one call it waits to see in the journal."""

    call_id: str
    direction: Literal["inbound", "outbound"]
    number: str  # the client's number as the PBX gave it
    client: str  # the same, normalised (E.164) when it reads as a phone number
    opened_at: datetime
    rings: dict[str, datetime] = {}  # extension -> when the webhook for it arrived
    extension: str | None = None  # outbound: the employee who asked for the call
    command_id: str | None = None
    callid: str | None = None  # Mobilon's id: outbound at once, inbound once matched
    finished_at: datetime | None = None  # when the outcome was reported
    answered: bool = False
    answered_by: str | None = None
    recording_sent: bool = False

    @property
    def first_ring(self) -> datetime:
        return min(self.rings.values(), default=self.opened_at)

    @property
    def last_ring(self) -> datetime:
        return max(self.rings.values(), default=self.opened_at)


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


class CallBook:
    """Open, join, load, save and schedule followed calls of Mobilon accounts."""

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self._redis = redis
        self._keys = keys or Keys()

    async def ring(
        self, account: str, number: str, client: str, extension: str, at: datetime
    ) -> str:
        """Record that ``client`` rang ``extension``; the id of the call it belongs to."""
        ringing = MobilonKeys.of(self._keys, account).ringing(client)
        fresh = f"mob-{uuid.uuid4().hex[:20]}"
        call_id = str(await self._redis.eval(_OPEN_OR_JOIN, 1, ringing, fresh, RING_WINDOW))
        key = MobilonKeys.of(self._keys, account).call(call_id)
        data = FollowedCall(
            call_id=call_id, direction="inbound", number=number, client=client, opened_at=at
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "data", data.model_dump_json())
            pipe.hsetnx(key, f"ring:{extension}", at.isoformat())
            pipe.expire(key, CALL_TTL)
            pipe.zadd(
                MobilonKeys.of(self._keys, account).followed(), {call_id: _epoch(at)}, nx=True
            )
            await pipe.execute()
        return call_id

    async def follow_outbound(self, account: str, call: FollowedCall) -> None:
        """Follow a call the bot placed (its ``callid`` known), and keep the inbound
        matching from taking its journal entry."""
        assert call.callid is not None
        await self.claim(account, call.callid, call.call_id)
        await self.save(account, call)
        await self.schedule(account, call.call_id, time.time())

    async def load(self, account: str, call_id: str) -> FollowedCall | None:
        fields = await self._redis.hgetall(MobilonKeys.of(self._keys, account).call(call_id))
        if not fields:
            return None
        text = {str(name): str(value) for name, value in fields.items()}
        if "data" not in text:
            return None
        call = FollowedCall.model_validate_json(text["data"])
        rings = {
            name.removeprefix("ring:"): datetime.fromisoformat(value)
            for name, value in text.items()
            if name.startswith("ring:")
        }
        return call.model_copy(update={"rings": {**call.rings, **rings}})

    async def save(self, account: str, call: FollowedCall) -> None:
        key = MobilonKeys.of(self._keys, account).call(call.call_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "data", call.model_dump_json(exclude={"rings"}))
            for extension, at in call.rings.items():
                pipe.hsetnx(key, f"ring:{extension}", at.isoformat())
            pipe.expire(key, CALL_TTL)
            await pipe.execute()

    async def close_ringing(self, account: str, call: FollowedCall) -> None:
        """A later ring from the number starts a new call."""
        ringing = MobilonKeys.of(self._keys, account).ringing(call.client)
        await self._redis.eval(_CLOSE, 1, ringing, call.call_id)

    async def claim(self, account: str, callid: str, call_id: str) -> bool:
        """Match a journal ``callid`` to ``call_id``; False when another call has it."""
        key = MobilonKeys.of(self._keys, account).claimed(callid)
        if await self._redis.set(key, call_id, nx=True, ex=CLAIM_TTL):
            return True
        return str(await self._redis.get(key)) == call_id

    async def claimed(self, account: str, callid: str) -> str | None:
        """The call a journal ``callid`` was matched to, if any."""
        found = await self._redis.get(MobilonKeys.of(self._keys, account).claimed(callid))
        return str(found) if found else None

    async def following(self, account: str) -> list[FollowedCall]:
        """Every call still followed (not yet matched to its journal record)."""
        ids = await self._redis.zrange(MobilonKeys.of(self._keys, account).followed(), 0, -1)
        found = [await self.load(account, str(call_id)) for call_id in ids]
        return [call for call in found if call is not None]

    async def due(self, account: str, now: float, limit: int) -> list[str]:
        """Call ids whose next poll is due, oldest due first."""
        found = await self._redis.zrangebyscore(
            MobilonKeys.of(self._keys, account).followed(), "-inf", now, start=0, num=limit
        )
        return [str(call_id) for call_id in found]

    async def schedule(self, account: str, call_id: str, at: float) -> None:
        await self._redis.zadd(MobilonKeys.of(self._keys, account).followed(), {call_id: at})

    async def forget(self, account: str, call_id: str) -> None:
        """Stop polling ``call_id`` (its record stays until it expires)."""
        await self._redis.zrem(MobilonKeys.of(self._keys, account).followed(), call_id)


def utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
