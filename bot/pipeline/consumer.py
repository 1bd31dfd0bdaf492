"""Reading a Redis stream through a consumer group, at least once, surviving crashes.

Use :class:`StreamConsumer` for every stream the workers process: new entries come with
``XREADGROUP``, an entry is ``XACK``-ed only after its handler returned (its effects are
durable), entries of a consumer that died are taken over with ``XAUTOCLAIM`` once idle,
and an entry that keeps failing moves to a dead-letter stream after ``max_deliveries``.
Handlers must be idempotent: an entry may be handled again after a crash.

A handler whose last write is a script may acknowledge the entry in that same script,
saving the round trip of its own: see :func:`handling`.

Entries that share a key (``key``: the call an event belongs to) are handled one after
another in this process, in stream order, instead of side by side racing for the same
Redis lock and polling it until it is free. Those that arrived while one of their key was
being handled go together to ``together``, when given: one lock, one read and one write
for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from bot.log_context import log_fields

log = logging.getLogger(__name__)

Entry = dict[str, str]
EntryHandler = Callable[[str, Entry], Awaitable[None]]
DeadHandler = Callable[[str, Entry, int], Awaitable[None]]
EntryKey = Callable[[Entry], str | None]
EntriesHandler = Callable[[list[tuple[str, Entry]]], Awaitable[None]]


@dataclass
class Handling:
    """The stream entries a handler is handling (one, or those handled together). A
    script that makes the handler's effects durable may acknowledge them too (``XACK
    stream group id...``, only when its writes took effect; see :func:`xack_lua`), then
    call :meth:`acknowledged`: the consumer sends no ``XACK`` of its own. Nothing the
    handler does after that write may matter any more."""

    stream: str
    group: str
    entry_ids: tuple[str, ...]
    acked: bool = False

    def acknowledged(self) -> None:
        self.acked = True


def xack_args(entry: Handling | None) -> tuple[str, str, str]:
    """(stream, group, entry ids separated by spaces) for a script that acknowledges
    ``entry`` with its write; three empty strings (acknowledge nothing) without one."""
    if entry is None:
        return ("", "", "")
    return (entry.stream, entry.group, " ".join(entry.entry_ids))


def xack_lua(stream: str, group: str, ids: str) -> str:
    """Lua that acknowledges what :func:`xack_args` gave, in the script's ``stream``,
    ``group`` and ``ids`` (e.g. ``KEYS[4]``, ``ARGV[5]``, ``ARGV[6]``); nothing when the
    stream is empty."""
    return f"""if {stream} ~= '' then
  local ids = {{}}
  for id in string.gmatch({ids}, '%S+') do ids[#ids + 1] = id end
  redis.call('XACK', {stream}, {group}, unpack(ids))
end"""


_current: ContextVar[Handling | None] = ContextVar("handling", default=None)


def handling() -> Handling | None:
    """The entry this task's handler is handling, if any. Tasks it starts inherit it, so
    take it where the handler's last write is decided, and pass it on explicitly."""
    return _current.get()


@dataclass(frozen=True)
class ConsumerOptions:
    batch: int = 64
    block_ms: int = 1000
    claim_idle_ms: int = 15_000
    claim_every_s: float = 5.0
    max_deliveries: int = 5
    concurrency: int = 32


class _Acks:
    """Acknowledges entries in groups: at most one ``XACK`` round trip in flight, and the
    entries handled meanwhile go together in the next. Use :meth:`ack` once an entry's
    effects are durable; it returns once the entry is acknowledged."""

    def __init__(self, redis: Redis, group: str) -> None:
        self._redis = redis
        self._group = group
        self._pending: dict[str, list[str]] = {}
        self._done: asyncio.Future[None] | None = None
        self._flushing = False
        self._task: asyncio.Task[None] | None = None  # the flush in flight (kept alive)

    async def ack(self, stream: str, *entry_ids: str) -> None:
        self._pending.setdefault(stream, []).extend(entry_ids)
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        done = self._done
        if not self._flushing:
            self._flushing = True
            self._task = asyncio.get_running_loop().create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        try:
            while self._pending and self._done is not None:
                batch, done = self._pending, self._done
                self._pending, self._done = {}, None
                try:
                    await self._send(batch)
                except Exception as exc:  # every waiter hears it; their entries stay pending
                    done.set_exception(exc)
                    done.exception()  # heard by the waiters, even if none is left to ask
                except BaseException:
                    done.cancel()
                    raise
                else:
                    done.set_result(None)
        finally:
            self._flushing = False

    async def _send(self, batch: dict[str, list[str]]) -> None:
        if len(batch) == 1:
            [(stream, ids)] = batch.items()
            await self._redis.xack(stream, self._group, *ids)
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream, ids in batch.items():
                pipe.xack(stream, self._group, *ids)
            await pipe.execute()


class StreamConsumer:
    """One consumer of ``streams`` in ``group``; run :meth:`run` until ``stop`` is set.

    With several streams, earlier ones have priority: of the entries read together, a
    later stream's are handled only after every earlier one's.
    """

    def __init__(
        self,
        redis: Redis,
        streams: str | Sequence[str],
        group: str,
        consumer: str,
        handler: EntryHandler,
        *,
        dead_letter_stream: str,
        on_dead: DeadHandler | None = None,
        options: ConsumerOptions | None = None,
        dead_letters_max: int = 10_000,
        key: EntryKey | None = None,
        together: EntriesHandler | None = None,
    ) -> None:
        self.redis = redis
        self.streams = (streams,) if isinstance(streams, str) else tuple(streams)
        self.group = group
        self.consumer = consumer
        self.handler = handler
        self.dead_letter_stream = dead_letter_stream
        self.on_dead = on_dead
        self.dead_letters_max = dead_letters_max
        self._errors: dict[str, str] = {}  # entry id -> its last failure, while it is retried
        self.options = options or ConsumerOptions()
        self._slots = asyncio.Semaphore(self.options.concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._handling: dict[str, set[str]] = {stream: set() for stream in self.streams}
        self._acks = _Acks(redis, group)
        self._key = key
        self._together = together
        # key -> the entries of that key waiting behind the one being handled
        self._chains: dict[str, deque[tuple[str, str, Entry]]] = {}

    async def ensure_group(self) -> None:
        """Create the consumer group (and the streams) if they do not exist yet."""
        for stream in self.streams:
            try:
                await self.redis.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def run(self, stop: asyncio.Event) -> None:
        await self.ensure_group()
        loop = asyncio.get_running_loop()
        next_claim = 0.0
        try:
            while not stop.is_set():
                try:
                    if loop.time() >= next_claim:
                        await self.reclaim()
                        next_claim = loop.time() + self.options.claim_every_s
                    await self.read_new()
                except RedisError as exc:
                    log.warning("streams %s: %s; retrying", self.streams, exc.__class__.__name__)
                    await asyncio.sleep(0.5)
            await asyncio.gather(*self._in_flight)
        finally:
            for task in self._in_flight:
                task.cancel()

    async def read_new(self) -> int:
        """Handle one batch of new entries, highest priority first; return how many.

        One blocking read of every stream: what it brings is handled stream by stream in
        priority order, and a stream that brought a full batch is read to its end before
        the lower ones' entries are handled."""
        return await self._read({stream: ">" for stream in self.streams}, self.options.block_ms)

    async def _read(self, wanted: dict[Any, Any], block: int | None) -> int:
        answer: Any = await self.redis.xreadgroup(
            self.group, self.consumer, wanted, count=self.options.batch, block=block
        )
        entries = [(str(stream), entry) for stream, batch in answer or [] for entry in batch]
        total = len(entries)
        for stream in self.streams:
            mine = [entry for name, entry in entries if name == stream]
            await self._handle_all(stream, mine)
            if len(wanted) > 1 and len(mine) == self.options.batch:
                # Read with lower-priority streams, this one had more than a batch: the
                # rest of it goes before what they brought.
                while (more := await self._read({stream: ">"}, block=None)) > 0:
                    total += more
        return total

    async def reclaim(self) -> int:
        """Take over entries other consumers left idle; dead-letter the hopeless ones."""
        await self._keep_claimed()
        total = 0
        for stream in self.streams:
            total += await self._reclaim(stream)
        return total

    async def _reclaim(self, stream: str) -> int:
        start = "0-0"
        total = 0
        while True:
            reply: Any = await self.redis.xautoclaim(
                stream,
                self.group,
                self.consumer,
                min_idle_time=self.options.claim_idle_ms,
                start_id=start,
                count=self.options.batch,
            )
            start, entries = reply[0], reply[1]
            live = []
            for entry_id, fields in entries:
                if fields is None or entry_id in self._handling[stream]:
                    continue
                deliveries = await self._deliveries(stream, entry_id)
                if deliveries > self.options.max_deliveries:
                    await self._dead_letter(stream, entry_id, fields, deliveries)
                else:
                    live.append((entry_id, fields))
            await self._handle_all(stream, live)
            total += len(entries)
            if start in ("0-0", b"0-0") or not entries:
                return total

    async def _handle_all(self, stream: str, entries: list[tuple[str, Entry]]) -> None:
        """Start handling each entry as soon as a slot is free; do not wait for them.

        One slow entry (a chat that must wait for its rate limit, a recording not ready)
        holds only its own slot, never the entries read with it. An entry whose key is
        being handled here already waits behind it, without a slot of its own.
        """
        for entry_id, fields in entries:
            key = None if self._key is None else self._key(fields)
            if key is not None and key in self._chains:
                self._handling[stream].add(entry_id)
                self._chains[key].append((stream, entry_id, fields))
                continue
            await self._slots.acquire()
            self._handling[stream].add(entry_id)
            if key is not None:
                self._chains[key] = deque()
            task = asyncio.create_task(self._handle_chain(key, stream, entry_id, fields))
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    async def _handle_chain(
        self, key: str | None, stream: str, entry_id: str, fields: Entry
    ) -> None:
        """Handle an entry, then those of its key that arrived meanwhile, in order."""
        if key is None:
            await self._handle(stream, entry_id, fields)
            return
        chain = self._chains[key]
        try:
            await self._handle(stream, entry_id, fields)
            while chain:
                if self._together is None or len(chain) == 1:
                    await self._handle(*chain.popleft())
                    continue
                stream = chain[0][0]
                group: list[tuple[str, Entry]] = []
                while chain and chain[0][0] == stream:
                    _, waiting_id, waiting_fields = chain.popleft()
                    group.append((waiting_id, waiting_fields))
                await self._handle_together(stream, group)
        finally:
            del self._chains[key]
            for waiting_stream, waiting_id, _ in chain:  # stopped: they stay pending
                self._handling[waiting_stream].discard(waiting_id)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _handle(self, stream: str, entry_id: str, fields: Entry) -> None:
        with log_fields(stream=stream, entry=entry_id):
            await self._handle_logged(stream, entry_id, fields)

    async def _handle_logged(self, stream: str, entry_id: str, fields: Entry) -> None:
        await self._run(stream, (entry_id,), self.handler(entry_id, fields))

    async def _handle_together(self, stream: str, entries: list[tuple[str, Entry]]) -> None:
        assert self._together is not None
        ids = tuple(entry_id for entry_id, _ in entries)
        with log_fields(stream=stream, entry=f"{ids[0]}..{ids[-1]}"):
            await self._run(stream, ids, self._together(entries))

    async def _run(self, stream: str, ids: tuple[str, ...], handled: Awaitable[None]) -> None:
        """Await the handling of the entries ``ids``; acknowledge them unless it did,
        or note why they failed (they stay pending, to be handled again)."""
        entry = Handling(stream, self.group, ids)
        token = _current.set(entry)
        try:
            await handled
            if not entry.acked:
                await self._acks.ack(stream, *ids)
            for entry_id in ids:
                self._errors.pop(entry_id, None)
        except Exception as exc:
            if len(self._errors) >= 10_000:  # entries other workers took over: forget them
                self._errors.clear()
            for entry_id in ids:
                self._errors[entry_id] = f"{type(exc).__name__}: {exc}"[:200]
            log.exception("stream %s entries %s failed; they will be retried", stream, ids)
        finally:
            _current.reset(token)
            self._handling[stream].difference_update(ids)

    async def _keep_claimed(self) -> None:
        """Reset the idle time of the entries still being handled here (``JUSTID`` does not
        count a delivery), so no reclaim, this consumer's or a replica's, takes them over
        and handles them twice at once while they wait for a lock or a rate limit.
        """
        for stream, handling in self._handling.items():
            if handling:
                await self.redis.xclaim(
                    stream, self.group, self.consumer, 0, list(handling), justid=True
                )

    async def _deliveries(self, stream: str, entry_id: str) -> int:
        pending = await self.redis.xpending_range(
            stream, self.group, min=entry_id, max=entry_id, count=1
        )
        return int(pending[0]["times_delivered"]) if pending else 0

    async def _dead_letter(
        self, stream: str, entry_id: str, fields: Entry, deliveries: int
    ) -> None:
        log.error("stream %s entry %s failed %d times: dead-lettered", stream, entry_id, deliveries)
        async with self.redis.pipeline(transaction=True) as pipe:
            reason = self._errors.pop(entry_id, "failed on another worker; see its log")
            dead: dict[Any, Any] = {
                **fields,
                "source_id": entry_id,
                "source": stream,
                "deliveries": str(deliveries),
                "reason": reason,
            }
            pipe.xadd(self.dead_letter_stream, dead, maxlen=self.dead_letters_max, approximate=True)
            pipe.xack(stream, self.group, entry_id)
            await pipe.execute()
        if self.on_dead is not None:
            await self.on_dead(entry_id, fields, deliveries)
