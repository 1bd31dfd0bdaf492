"""The sender: delivers outbox slots to Telegram within Telegram's limits.

One rate limiter shared by all replicas through Redis: global (``TELEGRAM_GLOBAL_RATE``
per second), per chat about 1/s with a short burst (edits included), per group also 20
messages sent per minute. On 429 it waits exactly ``retry_after`` for that chat and delivers; it
retries 5xx and network errors with back-off; a user who blocked the bot is marked
inactive and the message dropped; "message is not modified" counts as delivered.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    Response,
    SendAudio,
    SendMessage,
    SendPhoto,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from limits import RateLimitItem, RateLimitItemPerMinute, RateLimitItemPerSecond, parse
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.log_context import log_fields
from bot.metrics import Metrics
from bot.pbx.base import PbxError
from bot.pbx.providers import Providers
from bot.pipeline.consumer import Handling, handling, xack_args, xack_lua
from bot.ratelimit import SharedRateLimiter, Take
from bot.runtime.keyed_locks import KeyedLocks
from bot.services.call_log import CALL_LOG_RETENTION
from bot.storage import Keys, Repositories
from bot.storage.lease import Lease, lease, new_token
from bot.telegram.connection import TelegramState
from bot.telegram.dead_letters import RefusedMessages
from bot.telegram.files import StreamedFile
from bot.telegram.notices import Notices
from bot.telegram.outage import (
    FAILURES,
    OUTAGE_FIELDS,
    OutageIncidents,
    OutagePolicy,
    next_try,
    note_waiting,
)
from bot.telegram.outbox import Outbox, OutMessage
from bot.telegram.recording_links import RecordingLinks
from bot.telegram.retry import outbox_delivery
from bot.telegram.text_messages import TextMessages
from bot.texts import Texts

log = logging.getLogger(__name__)

TELEGRAM_FILE_LIMIT = 50 * 1024 * 1024
CAPTION_LIMIT = 1024  # characters a media caption may have once its HTML is parsed
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
RECORDING_PATIENCE = 600.0  # seconds to keep asking the PBX for a recording
REPLY_PATIENCE = 120.0  # seconds a reply waits for the message it answers to be sent
COMING_PATIENCE = 30.0  # seconds it waits for that message to be queued at all
# Seconds a text message or photo may take: Telegram answers within one normally, and a
# Telegram that takes connections but never answers must not hold deliveries for long.
MESSAGE_TIMEOUT = 20
T = TypeVar("T")
# Set while delivering the probe of an outage: one try, no quick retries.
_single_try: ContextVar[bool] = ContextVar("single_try", default=False)
# Set while a delivery holds rate-limit slots it took with its lease, not used yet.
_turn_taken: ContextVar[bool] = ContextVar("turn_taken", default=False)


# aiogram builds ``Response[<result type>]`` for every answer, and pydantic only keeps
# such generic models while something refers to them: without these references they are
# garbage collected and rebuilt over and over, which costs milliseconds each time.
RESPONSE_TYPES = tuple(
    Response[method.__returning__]  # type: ignore[name-defined]
    # what the sender sends, long polling, and every button pressed
    for method in (
        SendMessage,
        EditMessageText,
        SendAudio,
        SendPhoto,
        GetUpdates,
        AnswerCallbackQuery,
    )
)

RECORD_BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)  # about half a minute in all
PRIVATE_CHAT_LIMIT = parse("3/3second")  # about 1/s, with a short burst (groups too)
GROUP_CHAT_LIMIT = RateLimitItemPerMinute(20)
# Telegram counts a message when it arrives, a little after the sender took its slot:
# once a window is full, the next one waits this much longer than the slot frees up (a
# burst that left late after a stall on a busy host must not meet the next one there;
# 50 ms was seen to fall short). A group's minute is strict (a plain window, no burst to
# spare), so it waits a second.
EDGE = 0.15
GROUP_EDGE = 1.0

# KEYS[1] the slot, KEYS[2] its lock, KEYS[3] the message's "about" key ('' for none),
# KEYS[4] the stream of the entry delivered ('' for none); ARGV[1] the lock's token,
# ARGV[2] 1 when the slot waited out an outage, ARGV[3] what the message is about, ARGV[4]
# how long that is kept (s), ARGV[5..6] the outage fields, ARGV[7..8] the entry's group
# and ids, ARGV[9..] field, value pairs. Returns 1 when the lock was the holder's and is
# given back (and the entry acknowledged).
_NOTE_SENT = (
    """
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if ARGV[2] == '1' then
  redis.call('HDEL', KEYS[1], ARGV[5], ARGV[6])
end
if KEYS[3] ~= '' then
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[2])
"""
    + xack_lua("KEYS[4]", "ARGV[7]", "ARGV[8]")
    + """
return 1
"""
)


@dataclass(frozen=True)
class SendLimits:
    """Telegram's documented limits as rate-limit items."""

    global_limit: RateLimitItem
    private_chat: RateLimitItem = PRIVATE_CHAT_LIMIT
    group_chat: RateLimitItem = GROUP_CHAT_LIMIT

    @classmethod
    def per_second(cls, rate: int) -> SendLimits:
        return cls(global_limit=RateLimitItemPerSecond(rate))


class RetryLater(Exception):
    """The slot cannot be delivered yet (e.g. a recording still being prepared)."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.0f}s")
        self.delay = delay


class DeliveredVersions:
    """The newest version of each slot this process delivered lately.

    An outbox entry names the version it was queued for: once a newer one went out, the
    entry has nothing left to deliver, and is done without asking Redis (an edit queued
    while the card was waiting for its turn in the chat went out with it)."""

    def __init__(self, size: int = 20_000) -> None:
        self._size = size
        self._versions: dict[str, tuple[str, int]] = {}  # slot -> (its creation, version)

    def note(self, slot: str, created: str | None, version: str | int | None) -> None:
        """The slot created at ``created`` is delivered up to ``version``."""
        if created is None or version is None:
            return
        known = self._versions.pop(slot, None)
        newest = int(version)
        if known is not None and known[0] == created and known[1] > newest:
            newest = known[1]
        self._versions[slot] = (created, newest)
        if len(self._versions) > self._size:
            del self._versions[next(iter(self._versions))]  # the one noted longest ago

    def covers(self, slot: str, created: str | None, version: str | None) -> bool:
        """True when ``version`` of the slot created at ``created`` is delivered."""
        known = self._versions.get(slot)
        if known is None or created is None or version is None:
            return False
        return known[0] == created and known[1] >= int(version)


class WaitingEntries:
    """Outbox entries waiting in this process for their chat's turn, by slot.

    A delivery that notes a version of its slot as sent acknowledges in the same script
    the entries waiting behind it that this version covers (an edit queued while the
    card waited for its turn goes out with it): they have nothing left to deliver, and
    need no ``XACK`` of their own."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[tuple[Handling, str, int]]] = {}

    def add(self, slot: str, entry: Handling, created: str, version: int) -> None:
        self._waiting.setdefault(slot, []).append((entry, created, version))

    def remove(self, slot: str, entry: Handling) -> None:
        waiting = self._waiting.get(slot)
        if waiting is None:
            return
        waiting[:] = [item for item in waiting if item[0] is not entry]
        if not waiting:
            del self._waiting[slot]

    def covered(self, slot: str, created: str | None, version: int, stream: str) -> list[Handling]:
        """The entries of ``stream`` waiting for the slot created at ``created`` whose
        version is ``version`` or older."""
        if created is None:
            return []
        return [
            entry
            for entry, when, queued in self._waiting.get(slot, ())
            if when == created and queued <= version and entry.stream == stream and not entry.acked
        ]


class Sender:
    """Deliver one outbox slot: send it, or edit what was sent."""

    def __init__(
        self,
        *,
        bot: Bot,
        redis: Redis,
        keys: Keys,
        outbox: Outbox,
        limiter: SharedRateLimiter,
        limits: SendLimits,
        providers: Providers,
        repos: Repositories,
        texts: Texts,
        metrics: Metrics,
        links: RecordingLinks,
        notices: Notices,
        recording_retry: float = 5.0,
        backoff: tuple[float, ...] = BACKOFF,
        outage: OutagePolicy | None = None,
        telegram: TelegramState | None = None,
        refused: RefusedMessages | None = None,
        incidents: OutageIncidents | None = None,
        request_timeout: int = MESSAGE_TIMEOUT,
        about_ttl: timedelta = CALL_LOG_RETENTION,  # how long a reply to a message is a note
    ) -> None:
        self.bot = bot
        self.text_messages = TextMessages(bot, request_timeout)
        self._delivered = DeliveredVersions()
        self._waiting = WaitingEntries()
        self.redis = redis
        self.keys = keys
        self.outbox = outbox
        self.limiter = limiter
        self.limits = limits
        self.providers = providers
        self.repos = repos
        self.texts = texts
        self.metrics = metrics
        self.links = links
        self.notices = notices
        self.recording_retry = recording_retry
        self.backoff = backoff
        self.outage = outage or OutagePolicy()
        self.telegram = telegram
        self.refused = refused
        self.incidents = incidents
        self.request_timeout = request_timeout
        self.about_ttl = about_ttl
        self._chats = KeyedLocks()
        self._note_sent = redis.register_script(_NOTE_SENT)

    async def deliver(self, entry_id: str, fields: dict[str, str]) -> None:
        """Consumer handler for outbox entries."""
        key = fields["slot"]
        chat = fields.get("chat")
        probe = fields.get("probe") == "1"
        created, version = fields.get("created"), fields.get("version")
        entry = None if probe or created is None or version is None else handling()
        if entry is not None:
            assert created is not None and version is not None
            self._waiting.add(key, entry, created, int(version))
        try:
            # One chat's messages one at a time, in the order they were queued (taken
            # before any await, so entries read in order are delivered in order).
            async with self._chats.hold(chat or key):
                if entry is not None:
                    self._waiting.remove(key, entry)
                    if entry.acked:
                        return  # acknowledged by the delivery of a newer version
                if not probe and self._delivered.covers(key, created, version):
                    return  # this process delivered that version of the slot, or a newer one
                await self._deliver_entry(key, chat, fields, probe=probe)
        finally:
            if entry is not None:
                self._waiting.remove(key, entry)

    async def _deliver_entry(
        self, key: str, chat: str | None, fields: dict[str, str], *, probe: bool
    ) -> None:
        """Deliver the slot of the outbox entry ``fields``, its chat's turn taken."""
        token = _single_try.set(probe)
        taken = _turn_taken.set(False)
        try:
            with outbox_delivery(), log_fields(chat=chat):
                early = None if probe or not chat else int(chat)
                await self._deliver_slot(key, probe=probe, early_chat=early, entry=fields)
        finally:
            _turn_taken.reset(taken)
            _single_try.reset(token)

    async def _deliver_slot(
        self,
        key: str,
        *,
        probe: bool = False,
        early_chat: int | None = None,
        entry: Mapping[str, str] | None = None,
    ) -> None:
        """Deliver the slot ``key``. While Telegram is unreachable, slots wait in line (see
        :meth:`Outbox.stall`) and only the ``probe`` tries it; once it answers, the whole
        line goes out in order. ``early_chat``: the chat whose rate-limit slots to try to take
        with the lease (the first request then needs no round trip of its own for them),
        ``entry`` the outbox entry's fields."""
        stalled_key = self.keys.outbox_stalled()
        early = None if early_chat is None else self._early_turn(early_chat, entry or {})
        lock, token = f"{key}:lock", new_token()

        def reads(pipe: Pipeline) -> None:
            pipe.hgetall(key)
            pipe.exists(stalled_key)
            if early is not None and early_chat is not None:
                # Only once the lock is this delivery's: a try that finds it taken would
                # spend the slots for nothing, and the other holder may be waiting for them.
                cooldown = self.keys.chat_cooldown(early_chat)
                holding = (lock, token.encode())
                self.limiter.queue_take_all(pipe, early, unless=cooldown, holding=holding)

        async with lease(self.redis, lock, wait=60, reads=reads, token=token) as held:
            state, line_waits, *took = held.read
            _turn_taken.set(
                early is not None and bool(took) and self.limiter.took_all(early, took[0])
            )
            if state:
                self._delivered.note(key, state.get("created"), state.get("sent_version"))
            if not state or int(state.get("sent_version", 0)) >= int(state["version"]):
                if probe:
                    await self.outbox.probe_after(0)  # nothing to try with: the next one
                return  # expired, or already delivered (a newer edit was coalesced in)
            created = float(state.get("created", time.time()))
            if (
                not probe
                and line_waits
                and await self.outbox.join_line(key, created=created, marks=OUTAGE_FIELDS)
            ):
                return  # Telegram is known to be out of reach: wait in line
            version = int(state["version"])
            message = OutMessage.model_validate_json(state["content"])
            if message.late_note and FAILURES in state and "message_id" not in state:
                message = message.model_copy(
                    update={"text": f"{message.text}\n\n{message.late_note}"}
                )
            if message.audio is not None or message.photo is not None:
                # A file goes out only once fetched: a slot taken now would be spent long
                # before it arrives. Let it go unused, and take one when it is ready.
                _turn_taken.set(False)
            message_id = int(state["message_id"]) if state.get("message_id") else None
            age = time.time() - float(state.get("created", time.time()))
            try:
                if message_id is None:
                    await self._wait_for_replied(message, age)
                if message.photo is not None:
                    message_id = await self._deliver_photo(key, message, message_id)
                else:
                    message_id = await self._deliver(message, message_id, age)
            except TelegramForbiddenError:
                await self.repos.users.set_active(message.chat_id, active=False)
                self.metrics.telegram_sent.labels("blocked").inc()
            except TelegramBadRequest as exc:  # an answer that will not change: give up now
                self.metrics.telegram_sent.labels("refused").inc()
                if self.refused is not None:
                    await self.refused(key, message.chat_id, exc.message)
            except RetryLater as later:
                await self._retry_later(key, later.delay)
                if probe:
                    await self.outbox.probe_after(0)  # it cannot tell: the next one tries
                return
            except (TelegramServerError, TelegramNetworkError) as exc:
                # Telegram is down or unreachable, not this message: wait it out, in line.
                if self.telegram is not None:
                    self.telegram.mark_down(exc)
                if self.incidents is not None:
                    await self.incidents.began()
                wait = await next_try(self.redis, key, self.outage)
                if wait is None:
                    log.error("slot %s waited out the whole Telegram outage patience", key)
                    if probe:
                        await self.outbox.probe_after(0)  # given up: the next one tries
                    raise
                self.metrics.telegram_sent.labels("outage").inc()
                log.info("telegram %s; slot %s tries again in %.0fs", type(exc).__name__, key, wait)
                await self._stall(key, state)
                await self.outbox.probe_after(wait)
                return
            if self.telegram is not None and self.telegram.up is not True:
                self.telegram.mark_up()  # it answered (blocked users included)
                if self.incidents is not None:
                    await self.incidents.ended()
            mapping: dict[str, int] = {"sent_version": version, "chat_id": message.chat_id}
            if message_id is not None:
                mapping["message_id"] = message_id
            about = None  # a new message about a call: a reply to it becomes a note
            if message.about and message_id is not None and "message_id" not in state:
                about = (self.keys.message_about(message.chat_id, message_id), message.about)
            # Noting it is the last thing a delivery does (but a probe's): it acknowledges
            # the outbox entry too.
            last_for = None if probe else handling()
            covered = (
                self._waiting.covered(key, state.get("created"), version, last_for.stream)
                if last_for is not None
                else []
            )
            await self._record_sent(
                key,
                mapping,
                waited=FAILURES in state,
                about=about,
                held=held,
                last_for=last_for,
                covered=covered,
            )
            self._delivered.note(key, state.get("created"), version)
        if probe:
            released = await self.outbox.release_stalled()
            log.info("telegram answers again; %d waiting messages go out in order", released)

    async def _stall(self, key: str, state: Mapping[bytes | str, bytes | str]) -> None:
        """Put the slot in line for when Telegram is back (its alert will say it is late)."""
        await note_waiting(self.redis, key)
        created = float(state.get("created", time.time()))
        await self.outbox.stall(key, created=created)

    async def _record_sent(
        self,
        key: str,
        mapping: dict[str, int],
        *,
        waited: bool,
        about: tuple[str, str] | None = None,
        held: Lease,
        last_for: Handling | None = None,
        covered: list[Handling] | None = None,
    ) -> None:
        """Note what Telegram now shows (and forget an outage the slot waited out; note
        which call a new message is about), giving the slot's lock back with it, and
        acknowledging the entry delivered (``last_for``) and those of its stream this
        delivery ``covered``. Telegram has already done it, so a Redis outage here is
        waited out: giving up would send the message again next time."""
        about_key, about_value = about or ("", "")
        fields = [part for pair in mapping.items() for part in pair]
        stream, group, entry_id = xack_args(last_for)
        covered = covered or []
        if covered:
            entry_id = " ".join([entry_id, *(i for entry in covered for i in entry.entry_ids)])
        for pause in (*RECORD_BACKOFF, None):
            try:
                given_back = await self._note_sent(
                    keys=[key, held.name, about_key, stream],
                    args=[
                        held.token,
                        int(waited),
                        about_value,
                        int(self.about_ttl.total_seconds()),
                        *OUTAGE_FIELDS,
                        group,
                        entry_id,
                        *fields,
                    ],
                )
                if given_back:
                    held.handed_back()
                    for entry in [last_for, *covered] if last_for is not None else []:
                        entry.acknowledged()
                return
            except (RedisConnectionError, RedisTimeoutError):
                if pause is None:
                    raise
                log.warning("could not note a delivered message yet; retrying")
                await asyncio.sleep(pause)

    async def _deliver(self, message: OutMessage, message_id: int | None, age: float) -> int | None:
        if message.audio is not None and message_id is None:
            return await self._send_audio(message, age)
        if message_id is not None and message.audio is None:
            edited = await self._with_retries(
                message.chat_id, lambda: self._edit(message, message_id), edit=True
            )
            if edited:
                return message_id
        if message.audio is not None:
            return message_id  # an audio message is never re-sent
        return await self._with_retries(message.chat_id, lambda: self._send(message))

    async def _send(self, message: OutMessage) -> int:
        reply_to = await self._reply_target(message)
        sent = await self.text_messages.send(
            message.chat_id, message.text, message.buttons, reply_to
        )
        self.metrics.telegram_sent.labels("sent").inc()
        return sent

    async def _edit(self, message: OutMessage, message_id: int) -> bool:
        """True when the message now shows the content; False if it is gone."""
        try:
            await self.text_messages.edit(
                message.chat_id, message_id, message.text, message.buttons
            )
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return True
            if "not found" in exc.message:
                return False
            raise
        self.metrics.telegram_sent.labels("edited").inc()
        return True

    async def _send_audio(self, message: OutMessage, age: float) -> int | None:
        audio = message.audio
        assert audio is not None
        provider = self.providers.get(audio.account)
        if provider is None:
            return None
        try:
            stream = await provider.recording(audio.recording_id)
        except PbxError as exc:
            if age < RECORDING_PATIENCE:
                log.info("recording %s not ready (%s)", audio.recording_id, exc.__class__.__name__)
                raise RetryLater(min(60.0, self.recording_retry + age / 4)) from None
            return await self._send_text_instead(message, "recording_unavailable")
        if stream.size is not None and stream.size > TELEGRAM_FILE_LIMIT:
            await stream.aclose()
            return await self._send_text_instead(message, "recording_too_large")
        reply_to = await self._reply_target(message)
        params = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None
        )
        await self._wait_turn(message.chat_id)
        try:
            sent = await self.bot.send_audio(
                message.chat_id,
                StreamedFile(stream, audio.title),
                caption=message.text or None,
                title=audio.title or None,
                reply_parameters=params,
            )
        except TelegramRetryAfter as exc:
            await self._cool_down(message.chat_id, exc.retry_after)
            raise RetryLater(exc.retry_after) from None
        finally:
            await stream.aclose()
        self.metrics.telegram_sent.labels("audio").inc()
        return sent.message_id

    async def _deliver_photo(self, key: str, message: OutMessage, message_id: int | None) -> int:
        """Send a photo once (never edited); a text too long for its caption follows it.

        Once the photo is out its id is kept, so a retry sends only what is still missing.
        """
        assert message.photo is not None
        fits = caption_fits(message.text)
        if message_id is None:
            data = await self.outbox.photo_bytes(message.photo)
            if data is None:  # kept longer than the picture: the words still matter
                plain = message.model_copy(update={"photo": None})
                return await self._with_retries(message.chat_id, lambda: self._send(plain))
            message_id = await self._with_retries(
                message.chat_id, lambda: self._send_photo(message, data, with_caption=fits)
            )
            if fits:
                return message_id
            await self.redis.hset(key, "message_id", message_id)
        elif fits:
            return message_id
        rest = message.model_copy(update={"photo": None})
        await self._with_retries(message.chat_id, lambda: self._send(rest))
        return message_id

    async def _send_photo(self, message: OutMessage, data: bytes, *, with_caption: bool) -> int:
        assert message.photo is not None
        reply_to = await self._reply_target(message)
        sent = await self.bot.send_photo(
            message.chat_id,
            BufferedInputFile(data, filename=message.photo.filename),
            caption=message.text if with_caption and message.text else None,
            reply_markup=_markup(message) if with_caption else None,
            reply_parameters=ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to
            else None,
            request_timeout=self.request_timeout,
        )
        self.metrics.telegram_sent.labels("photo").inc()
        return sent.message_id

    async def _send_text_instead(self, message: OutMessage, template: str) -> int:
        """A recording that cannot be sent as audio: say so, with a link when there is one."""
        assert message.audio is not None
        link = self.links.url(message.audio.account, message.audio.recording_id)
        t = await self.notices.translator(message.chat_id)
        text = t(template, caption=message.text, link=link)
        plain = message.model_copy(update={"audio": None, "text": text})
        return await self._with_retries(message.chat_id, lambda: self._send(plain))

    async def _wait_for_replied(self, message: OutMessage, age: float) -> None:
        """A reply waits while the message it answers is still on its way (a call card
        waiting for its turn in the chat, a summary still to come), so that it arrives
        after it, as a reply; past the patience limits it goes on its own."""
        slot = message.reply_to_slot
        if slot is None or age >= REPLY_PATIENCE:
            return
        coming = message.reply_to_coming and age < COMING_PATIENCE
        if await self.outbox.awaiting_delivery(slot, REPLY_PATIENCE, coming=coming):
            raise RetryLater(1.0)

    async def _reply_target(self, message: OutMessage) -> int | None:
        if message.reply_to_slot is None:
            return None
        sent = await self.outbox.sent_message(message.reply_to_slot)
        return sent[1] if sent and sent[0] == message.chat_id else None

    async def _with_retries(
        self, chat_id: int, operation: Callable[[], Awaitable[T]], *, edit: bool = False
    ) -> T:
        for attempt, pause in enumerate((*self.backoff, None)):
            await self._wait_turn(chat_id, edit=edit)
            try:
                return await operation()
            except TelegramRetryAfter as exc:
                await self._cool_down(chat_id, exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                self.metrics.telegram_sent.labels("retry").inc()
                if (
                    pause is None
                    or _single_try.get()
                    or _unanswered(exc)
                    or await self.outbox.stalled()
                ):
                    # out of quick retries, or Telegram is known to be out of reach, or it
                    # took the request and never answered: no use asking again at once
                    raise
                log.info("telegram %s (attempt %d), retrying", exc.__class__.__name__, attempt)
                await asyncio.sleep(pause)
        raise RetryLater(30.0)

    async def _wait_turn(self, chat_id: int, *, edit: bool = False) -> None:
        """Wait out a 429 cooldown, then take a slot in the global and per-chat limits (and
        a group's 20 a minute, which Telegram sets for messages sent, not for edits), all
        at once: Telegram counts a message when it arrives, so every slot is taken as
        late as it can be, just before the message goes. A slot taken with the delivery's
        lease (see :meth:`_early_turn`) serves the first request instead."""
        if _turn_taken.get():
            _turn_taken.set(False)
            self.metrics.telegram_wait.observe(0.0)
            return
        started = time.monotonic()
        takes = self._turn_takes(chat_id, edit=edit)
        await self.limiter.take_all(takes, unless=self.keys.chat_cooldown(chat_id), max_wait=300)
        self.metrics.telegram_wait.observe(time.monotonic() - started)

    def _turn_takes(self, chat_id: int, *, edit: bool) -> list[Take]:
        takes = [
            Take(self.limits.private_chat, ("tg", "chat", str(chat_id)), margin=EDGE),
            Take(self.limits.global_limit, ("tg", "global"), margin=EDGE, shared=True),
        ]
        if chat_id < 0 and not edit:  # like any chat about one a second; a group also 20 a minute
            takes.append(Take(self.limits.group_chat, ("tg", "group", str(chat_id)), GROUP_EDGE))
        return takes

    def _early_turn(self, chat_id: int, entry: Mapping[str, str]) -> list[Take] | None:
        """The slots the delivery of the outbox entry ``entry`` to ``chat_id`` may take with
        its lease, in the same round trip; None: not this time.

        Only while Telegram is known to answer (a delivery that joins the line of messages
        waiting for it would spend its slots for nothing), nobody in this process waits for
        the global limit (they go first) and no window is known to be full. A private
        chat's whatever the message (a send and an edit take the same there); a group's
        only for the first send of a plain text: an edit takes no slot of a group's 20 a
        minute, and a file or a reply may have to wait after the lease."""
        if self.telegram is not None and self.telegram.up is not True:
            return None
        if chat_id < 0 and (entry.get("plain") != "1" or entry.get("version") != "1"):
            return None
        takes = self._turn_takes(chat_id, edit=False)
        return None if self.limiter.would_wait(takes) else takes

    async def _cool_down(self, chat_id: int, seconds: float) -> None:
        """Telegram said 429: nobody writes to this chat for ``seconds``."""
        self.metrics.telegram_sent.labels("429").inc()
        await self.redis.set(self.keys.chat_cooldown(chat_id), "1", px=int(seconds * 1000))

    async def _retry_later(self, key: str, delay: float) -> None:
        await self.redis.zadd(self.keys.outbox_delayed(), {key: time.time() + delay})


def _unanswered(exc: Exception) -> bool:
    """Telegram took the request and did not answer within the request timeout."""
    return isinstance(exc, TelegramNetworkError) and "timeout" in exc.message.lower()


def visible_length(html_text: str) -> int:
    """How long Telegram HTML is once parsed, as Telegram counts it (UTF-16 code units)."""
    plain = html.unescape(re.sub(r"<[^>]*>", "", html_text))
    return len(plain.encode("utf-16-le")) // 2


def caption_fits(html_text: str) -> bool:
    """True when Telegram HTML is short enough to be a photo's caption."""
    return visible_length(html_text) <= CAPTION_LIMIT


def _markup(message: OutMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=b.text, callback_data=b.callback_data, url=b.url)
                for b in row
            ]
            for row in message.buttons
        ]
    )
