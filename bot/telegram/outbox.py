"""The outbox: every message the bot starts on its own goes through here.

A *slot* is one message as people should see it (a call card for one person, a missed
alert in one chat, …). :meth:`Outbox.put` stores the slot's newest content and queues the
slot on the stream of its priority; the sender then sends it, or edits the message it
already sent. Putting the same content twice queues nothing, and several edits queued
before the sender gets to them become one edit to the newest content.

While Telegram cannot be reached, slots wait in line in Redis (:meth:`Outbox.stall`),
however many there are; one of them at a time tries Telegram (the probe), and when it
gets through the whole line is queued again, missed alerts first and each chat in order.
"""

from __future__ import annotations

import base64
import hashlib
import time
from enum import IntEnum

from pydantic import BaseModel, ConfigDict
from redis.asyncio import Redis

from bot.storage import Keys
from bot.storage.write_batch import WriteBatch

SLOT_TTL_SECONDS = 3 * 24 * 3600
# Once a probe is queued, no other is for this long unless its delivery says otherwise.
PROBE_GUARD_SECONDS = 120.0
# Stalled slots queued again at once (atomically, so priorities hold across them); a longer
# line goes out in such batches.
RELEASE_BATCH = 5000

# KEYS[1] slot hash, KEYS[2] stream; ARGV[1] content, ARGV[2] ttl, ARGV[3] now,
# ARGV[4] priority, ARGV[5] chat, ARGV[6] '1' for a plain text (no file, not a reply). The
# entry names the slot's version it was queued for (and the slot's creation time, which
# tells a slot from a later one of the same name), and whether it is a plain text.
_PUT = """
if redis.call('HGET', KEYS[1], 'content') == ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'content', ARGV[1], 'priority', ARGV[4], 'chat', ARGV[5])
redis.call('HSETNX', KEYS[1], 'created', ARGV[3])
local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'slot', KEYS[1], 'chat', ARGV[5],
  'version', version, 'created', redis.call('HGET', KEYS[1], 'created'), 'plain', ARGV[6])
return 1
"""

# KEYS[1] stalled set, KEYS[2..] the outbox streams by priority; ARGV[1] how many at
# most. Moves the first stalled slots, in order, to the streams of their priorities.
_RELEASE = """
local released = 0
for _, slot in ipairs(redis.call('ZPOPMIN', KEYS[1], ARGV[1])) do
  if released % 2 == 0 then
    local found = redis.call('HMGET', slot, 'priority', 'chat')
    if found[1] then
      redis.call('XADD', KEYS[2 + tonumber(found[1])], '*', 'slot', slot, 'chat', found[2] or '')
    end
  end
  released = released + 1
end
return released / 2
"""

# KEYS[1] stalled set, KEYS[2] slot hash; ARGV[1] score, ARGV[2] now, ARGV[3..4] the slot's
# fields noting the wait. Joins the line only while there is one (it may have just left).
_STALL_BEHIND = """
if redis.call('ZCARD', KEYS[1]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], KEYS[2])
redis.call('HSETNX', KEYS[2], ARGV[3], 0)
redis.call('HSETNX', KEYS[2], ARGV[4], ARGV[2])
return 1
"""

# KEYS[1] probe time, KEYS[2] stalled set, KEYS[3..] the outbox streams; ARGV[1] now,
# ARGV[2] guard. Once the probe time has come, queues the first stalled slot as the probe.
_PROBE = """
local due = redis.call('GET', KEYS[1])
if due and tonumber(due) > tonumber(ARGV[1]) then
  return 0
end
local head = redis.call('ZPOPMIN', KEYS[2])
if #head == 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
local found = redis.call('HMGET', head[1], 'priority', 'chat')
if not found[1] then
  redis.call('SET', KEYS[1], ARGV[1])
  return 0
end
redis.call('SET', KEYS[1], tostring(tonumber(ARGV[1]) + tonumber(ARGV[2])))
redis.call('XADD', KEYS[3 + tonumber(found[1])], '*', 'slot', head[1], 'chat', found[2] or '',
  'probe', '1')
return 1
"""


class Priority(IntEnum):
    """Lower goes first: a ringing card before a missed alert before a summary…"""

    RINGING = 0
    MISSED = 1
    SUMMARY = 2
    RECORDING = 3
    DIGEST = 4


class Button(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    callback_data: str | None = None
    url: str | None = None


class AudioRef(BaseModel):
    """A recording to fetch from the PBX and send as audio."""

    model_config = ConfigDict(frozen=True)

    account: str
    recording_id: str
    title: str = ""


class PhotoRef(BaseModel):
    """A picture stored beside the outbox (see :meth:`Outbox.store_photo`), sent as a photo."""

    model_config = ConfigDict(frozen=True)

    sha256: str
    filename: str = "image.png"


class OutMessage(BaseModel):
    """What one slot should show: text (HTML) with buttons, or audio or a photo with a caption.

    A photo's text too long for a caption follows the photo as a message of its own.
    """

    model_config = ConfigDict(frozen=True)

    chat_id: int
    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to_slot: str | None = None
    # The message to reply to is still to come (a call's summary, after its recording):
    # wait for it a while rather than arrive on its own.
    reply_to_coming: bool = False
    audio: AudioRef | None = None
    photo: PhotoRef | None = None
    # Added below the text if the message could only go out after Telegram was unreachable
    # (e.g. a missed-call alert: people should know why it comes late).
    late_note: str = ""
    # "<account> <call id>" of the call the message is about: a reply to it is a note.
    about: str | None = None

    @property
    def plain(self) -> bool:
        """A text that goes out as soon as its turn comes: no file to fetch first, no
        message to wait for and reply to."""
        return self.audio is None and self.photo is None and self.reply_to_slot is None


class Outbox:
    """Queue slot contents for the sender."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._put = redis.register_script(_PUT)
        self._release = redis.register_script(_RELEASE)
        self._probe = redis.register_script(_PROBE)
        self._stall_behind = redis.register_script(_STALL_BEHIND)

    def slot_key(self, slot: str) -> str:
        return self._keys.slot(slot)

    def streams(self) -> list[str]:
        """Outbox streams, highest priority first."""
        return [self._keys.outbox(priority) for priority in Priority]

    async def put(
        self,
        slot: str,
        message: OutMessage,
        priority: Priority,
        *,
        shown: dict[str, str] | None = None,
        batch: WriteBatch | None = None,
    ) -> bool:
        """Queue ``message`` for ``slot``; False when the slot already shows exactly this.

        ``shown``: the digests of what the slots a caller alone writes were last given
        (kept with the caller's own state, e.g. a call session): the same content again
        is known without asking Redis. ``batch``: queue it with that batch's write (True
        then means it will be asked)."""
        content = message.model_dump_json()
        digest = hashlib.blake2b(content.encode(), digest_size=8).hexdigest()
        if shown is not None and shown.get(slot) == digest:
            return False
        keys = [self._keys.slot(slot), self._keys.outbox(priority)]
        args: list[str | int | float] = [
            content,
            SLOT_TTL_SECONDS,
            time.time(),
            int(priority),
            message.chat_id,
            int(message.plain),
        ]
        if batch is not None:
            batch.add(lambda pipe: pipe.eval(_PUT, len(keys), *keys, *args))
            added = True
        else:
            added = bool(await self._put(keys=keys, args=args))
        if shown is not None:
            shown[slot] = digest
        return added

    async def adopt(self, slot: str, chat_id: int, message_id: int, content: OutMessage) -> None:
        """Take over a message a handler sent itself, showing ``content``: the slot then
        looks as if the sender had delivered it, so a later :meth:`put` edits that message.
        """
        key = self._keys.slot(slot)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "content": content.model_dump_json(),
                    "version": 1,
                    "sent_version": 1,
                    "chat_id": chat_id,
                    "chat": chat_id,
                    "message_id": message_id,
                    "created": time.time(),
                },
            )
            pipe.expire(key, SLOT_TTL_SECONDS)
            await pipe.execute()

    async def release(self, now: float | None = None) -> int:
        """The job behind the delayed outbox: queue the slots whose time has come, and the
        probe while Telegram is unreachable; how many were queued."""
        released = await self.release_due(now)
        return released + await self.release_probe(now)

    async def release_due(self, now: float | None = None) -> int:
        """Queue again the slots whose retry time has come; return how many."""
        delayed = self._keys.outbox_delayed()
        due = await self._redis.zrangebyscore(delayed, "-inf", now or time.time(), start=0, num=100)
        released = 0
        for member in due:
            key = str(member)
            if not await self._redis.zrem(delayed, key):
                continue  # another replica took it
            priority, chat = await self._redis.hmget(key, ["priority", "chat"])
            if priority is None:
                continue
            await self._redis.xadd(
                self._keys.outbox(int(priority)), {"slot": key, "chat": chat or ""}
            )
            released += 1
        return released

    async def stall(self, key: str, *, created: float) -> None:
        """Keep the slot ``key`` until Telegram is reachable again. Stalled slots go out
        oldest first, each to the stream of the priority it has by then (so missed alerts
        go first, and each chat sees its messages in order); a slot stalled again keeps
        its place."""
        await self._redis.zadd(self._keys.outbox_stalled(), {key: created}, nx=True)

    async def join_line(self, key: str, *, created: float, marks: tuple[str, str]) -> bool:
        """Stall ``key`` (see :meth:`stall`) if a line is waiting for Telegram right now, and
        note on the slot that it waits (``marks``: the two fields that say so); False when
        there is no line, so the slot should try Telegram itself."""
        joined = await self._stall_behind(
            keys=[self._keys.outbox_stalled(), key], args=[created, time.time(), *marks]
        )
        return bool(joined)

    async def stalled(self) -> int:
        """How many slots wait for Telegram to be reachable again."""
        return int(await self._redis.zcard(self._keys.outbox_stalled()))

    async def probe_after(self, delay: float) -> None:
        """Let the first stalled slot try Telegram again in ``delay`` seconds."""
        await self._redis.set(self._keys.outbox_probe(), str(time.time() + delay))

    async def release_probe(self, now: float | None = None) -> bool:
        """Queue the first stalled slot, marked as the probe, once the probe time has come;
        True if one was queued. Only the probe tries Telegram while the others wait."""
        queued = await self._probe(
            keys=[self._keys.outbox_probe(), self._keys.outbox_stalled(), *self.streams()],
            args=[now or time.time(), PROBE_GUARD_SECONDS],
        )
        return bool(queued)

    async def release_stalled(self) -> int:
        """Telegram answers again: queue every stalled slot, in order; how many."""
        total = 0
        while True:
            released = int(
                await self._release(keys=[self._keys.outbox_stalled(), *self.streams()], args=[500])
            )
            total += released
            if released < 500:
                break
        await self._redis.delete(self._keys.outbox_probe())
        return total

    async def sent_message(self, slot: str) -> tuple[int, int] | None:
        """(chat id, message id) of the message the slot was sent as, once it was."""
        chat, message = await self._redis.hmget(self._keys.slot(slot), ["chat_id", "message_id"])
        if chat is None or message is None:
            return None
        return int(chat), int(message)

    async def awaiting_delivery(self, slot: str, patience: float, *, coming: bool) -> bool:
        """True while ``slot`` is younger than ``patience`` seconds and not delivered yet
        (with ``coming``, also while it does not exist yet): a reply to it should wait
        rather than arrive on its own."""
        state = await self._redis.hmget(
            self._keys.slot(slot), ["version", "sent_version", "created"]
        )
        version, sent_version, created = state
        if version is None:
            return coming
        if int(sent_version or 0) >= int(version):
            return False
        return time.time() - float(created or 0) < patience

    async def store_photo(self, data: bytes, filename: str) -> PhotoRef:
        """Keep a picture for slots to send (as long as slots live); stored once per content."""
        digest = hashlib.sha256(data).hexdigest()[:32]
        encoded = base64.b64encode(data).decode("ascii")
        await self._redis.set(self._keys.outbox_file(digest), encoded, ex=SLOT_TTL_SECONDS)
        return PhotoRef(sha256=digest, filename=filename)

    async def photo_bytes(self, photo: PhotoRef) -> bytes | None:
        """The stored picture, or None once it expired."""
        encoded = await self._redis.get(self._keys.outbox_file(photo.sha256))
        return base64.b64decode(encoded) if encoded else None
