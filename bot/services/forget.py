"""Forget a client's number: remove it from everything pbxgram keeps in Redis.

:meth:`Forgetter.forget` finds the number's calls through the call log's index by
number and the open missed calls, then deletes their entries, indexes, sessions,
missed-call records, notes and tags, the phonebook entry, cached look-ups, spam marks,
texts-sent marks, and the outbox slots of those calls (queued messages are dropped;
messages already in Telegram cannot be recalled, they are only counted). PBX events
still held in the event streams that mention the number are deleted too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC

from redis.asyncio import Redis

from bot.accounts import AccountBase
from bot.config import Settings
from bot.errors import ConfigError
from bot.phones import display, forget_parsed, normalise
from bot.services.audit import AuditLog
from bot.services.call_log import LoggedCall, call_ref
from bot.services.missed_calls import MissedCall, missed_ref
from bot.storage import Keys
from bot.telegram.outbox import Priority

SCAN_COUNT = 500  # keys a SCAN step looks at
STREAM_BATCH = 500  # stream entries (or slots) read at once
KINDS = (
    "calls",
    "missed",
    "notes",
    "tags",
    "sessions",
    "phonebook",
    "lookups",
    "spam",
    "texts",
    "queued",
    "sent",
    "events",
    "audit",
)


def number_forms(e164: str) -> set[str]:
    """Every way the number may be written in stored data: ``+79001234567``,
    ``79001234567``, ``89001234567`` (Russian national) and ``+7 900 123-45-67``."""
    digits = e164.lstrip("+")
    forms = {e164, digits, display(e164)}
    if digits.startswith("7") and len(digits) == 11:
        forms.add("8" + digits[1:])
    return forms


def salt_of(settings: Settings) -> str:
    """The salt of number hashes in the audit trail: the Telegram webhook secret (given,
    or derived from the bot token)."""
    if settings.telegram_webhook_secret is None and settings.bot_token is None:
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET or BOT_TOKEN is needed to salt the audit")
    return settings.webhook_secret()


def number_hash(e164: str, salt: str) -> str:
    """A salted hash naming the number in the audit trail (never the number itself)."""
    return hmac.new(salt.encode(), e164.encode(), hashlib.sha256).hexdigest()[:24]


@dataclass
class Forgotten:
    """What :meth:`Forgetter.forget` found and removed, by kind (see :data:`KINDS`)."""

    numbers: list[str] = field(default_factory=list)  # E.164, one per region
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def sent(self) -> int:
        """Messages already in Telegram chats about the number (these stay)."""
        return self.counts["sent"]

    @property
    def found(self) -> int:
        return sum(self.counts.values())


class Forgetter:
    """Remove one client number from the data of every account."""

    def __init__(self, redis: Redis, keys: Keys, accounts: Sequence[AccountBase]) -> None:
        self._redis = redis
        self._keys = keys
        self._accounts = accounts

    def numbers(self, raw: str, region: str | None = None) -> list[str]:
        """The E.164 forms of ``raw`` under each account's region (or ``region``)."""
        regions = [region] if region else [a.region for a in self._accounts] or ["RU"]
        found = (normalise(raw, r.upper()) for r in regions)
        return list(dict.fromkeys(n for n in found if n))

    async def forget(self, raw: str, region: str | None = None) -> Forgotten | None:
        """Remove the number everywhere; None when ``raw`` is no phone number."""
        numbers = self.numbers(raw, region)
        if not numbers:
            return None
        forget_parsed()
        result = Forgotten(numbers=numbers)
        forms: set[str] = set()
        for number in numbers:
            forms |= number_forms(number)
        slots = _Slots()
        calls: set[str] = set()  # "<account> <call id>"
        for account in self._accounts:
            for number in numbers:
                await self._forget_in(account.id, number, result, slots, calls)
            await self._forget_provider_state(account, numbers, calls)
        for number in numbers:
            result.counts["phonebook"] += int(
                await self._redis.hdel(self._keys.phonebook(), number)
            )
        queued = await self._queued(forms, calls)
        found = slots.keys | {slot for slot, (_, mentions) in queued.items() if mentions}
        found |= await self._slots_of_calls(slots.prefixes)
        for slot in found:
            await self._drop_slot(slot, queued.get(slot, ([], False))[0], result)
        await self._forget_events(forms, result)
        await self._forget_audit(forms, result)
        return result

    async def _forget_in(
        self, account: str, number: str, result: Forgotten, slots: _Slots, calls: set[str]
    ) -> None:
        keys = self._keys
        by_number = keys.call_log_by_number(account, number)
        call_ids = [str(i) for i in await self._redis.zrange(by_number, 0, -1)]
        refs = {str(r) for r in await self._redis.smembers(keys.missed_open(account, number))}
        refs |= {missed_ref(account, call_id) for call_id in call_ids}
        for call_id in call_ids:
            calls.add(f"{account} {call_id}")
            await self._forget_call(account, call_id, result, slots)
        for ref in refs:
            missed_call = await self._forget_missed(ref, result, slots, calls)
            if missed_call is not None and missed_call not in call_ids:  # not logged yet
                await self._forget_call(account, missed_call, result, slots)
        await self._redis.delete(by_number, keys.missed_open(account, number))
        result.counts["lookups"] += int(
            await self._redis.delete(keys.caller_identity(account, number))
        )
        marked = await self._redis.srem(keys.spam_numbers(account), number)
        await self._redis.hdel(keys.spam_marks(account), number)
        result.counts["spam"] += int(marked)
        texts = await self._scan(keys.missed_sms_sent(account, number, "*"))
        if texts:
            result.counts["texts"] += int(await self._redis.delete(*texts))

    async def _forget_provider_state(
        self, account: AccountBase, numbers: list[str], calls: set[str]
    ) -> None:
        """A PBX package's own short-lived state of those calls (``call:ID``) and of the
        number ringing now (``ringing:NUMBER``)."""
        scope = self._keys.scoped(account.provider, account.id)
        names = [scope("call", c.split(" ", 1)[1]) for c in calls if c.startswith(f"{account.id} ")]
        names += [scope("ringing", n) for number in numbers for n in (number, number[1:])]
        await self._redis.delete(*names)

    async def _forget_call(
        self, account: str, call_id: str, result: Forgotten, slots: _Slots
    ) -> None:
        keys = self._keys
        entry_key = keys.call_log_entry(account, call_id)
        raw = await self._redis.get(entry_key)
        call = LoggedCall.model_validate_json(raw) if raw else None
        extensions: list[str] = []
        recordings: list[str] = []
        if call is not None:
            result.counts["calls"] += 1
            result.counts["notes"] += len(call.notes)
            result.counts["tags"] += len(call.tags)
            extensions = list(dict.fromkeys([*call.rang, *filter(None, [call.extension])]))
            recordings = call.recordings
        session_key = keys.call_session(account, call_id)
        result.counts["sessions"] += int(
            await self._redis.delete(session_key, f"{session_key}:lock") > 0
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(entry_key, keys.call_ref(call_ref(account, call_id)))
            pipe.zrem(keys.call_log(account), call_id)
            for extension in extensions:
                pipe.zrem(keys.call_log_by_extension(account, extension), call_id)
            pipe.zrem(keys.calls_closing(), f"{account} {call_id}")
            await pipe.execute()
        names = [f"card:{account}:{call_id}:", f"summary:{account}:{call_id}:"]
        for recording in recordings:
            names += [f"rec:{account}:{recording}:", f"tr:{account}:{recording}:"]
        slots.prefixes.update(keys.slot(name) for name in names)

    async def _forget_missed(
        self, ref: str, result: Forgotten, slots: _Slots, calls: set[str]
    ) -> str | None:
        """Delete the missed call ``ref``; its call id, if it was there."""
        keys = self._keys
        raw = await self._redis.get(keys.missed(ref))
        if not raw:
            return None
        missed = MissedCall.model_validate_json(raw)
        call = f"{missed.account} {missed.call_id}"
        result.counts["missed"] += 1
        if call not in calls:  # its notes and tags were not counted with its log entry
            calls.add(call)
            result.counts["notes"] += len(missed.notes)
            result.counts["tags"] += len(missed.tags)
        day = missed.at.astimezone(UTC).strftime("%Y-%m-%d")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.missed(ref), keys.missed_lock(ref))
            pipe.zrem(keys.missed_due(), ref)
            pipe.zrem(keys.missed_day(missed.account, day), ref)
            await pipe.execute()
        slots.keys.update(keys.slot(slot) for _, slot in missed.copies)
        slots.prefixes.update(
            keys.slot(f"{kind}:{ref}:") for kind in ("missed", "remind", "escalate")
        )
        return missed.call_id

    async def _queued(
        self, forms: set[str], calls: set[str]
    ) -> dict[str, tuple[list[tuple[str, str]], bool]]:
        """Slots in the outbox (streams, delayed, stalled): for each, its stream entries
        and whether it mentions the number or is about one of ``calls``."""
        entries: dict[str, list[tuple[str, str]]] = {}
        for priority in Priority:
            stream = self._keys.outbox(priority)
            async for entry_id, fields in self._entries(stream):
                entries.setdefault(fields.get("slot", ""), []).append((stream, entry_id))
        for line in (self._keys.outbox_delayed(), self._keys.outbox_stalled()):
            for member in await self._redis.zrange(line, 0, -1):
                entries.setdefault(str(member), [])
        found: dict[str, tuple[list[tuple[str, str]], bool]] = {}
        slots = [slot for slot in entries if slot]
        for start in range(0, len(slots), STREAM_BATCH):
            batch = slots[start : start + STREAM_BATCH]
            async with self._redis.pipeline(transaction=False) as pipe:
                for slot in batch:
                    pipe.hget(slot, "content")
                contents = await pipe.execute()
            for slot, content in zip(batch, contents, strict=True):
                text = _text(content or "")
                mentions = bool(text) and (_mentions(text, forms) or _about(text, calls))
                found[slot] = (entries[slot], mentions)
        return found

    async def _drop_slot(
        self, slot: str, entries: list[tuple[str, str]], result: Forgotten
    ) -> None:
        """Delete an outbox slot: a message not sent yet is dropped, one already sent is
        counted (it stays in its chat) and its link to the call is forgotten."""
        state = await self._redis.hgetall(slot)
        if not state:
            return
        version = int(state.get("version", 0))
        sent_version = int(state.get("sent_version", 0))
        chat, message = state.get("chat_id"), state.get("message_id")
        if chat is not None and message is not None:
            result.counts["sent"] += 1
            await self._redis.delete(self._keys.message_about(int(chat), int(message)))
        if version > sent_version:
            result.counts["queued"] += 1
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(slot)
            pipe.zrem(self._keys.outbox_delayed(), slot)
            pipe.zrem(self._keys.outbox_stalled(), slot)
            await pipe.execute()
        for stream, entry_id in entries:
            await self._redis.xdel(stream, entry_id)

    async def _forget_events(self, forms: set[str], result: Forgotten) -> None:
        """Delete PBX events (and dead letters) still held that mention the number."""
        events = self._keys.events_stream()
        streams = [events, self._keys.dead_letters(events)]
        streams += [self._keys.dead_letters(self._keys.outbox(p)) for p in Priority]
        for stream in streams:
            ids = [
                entry_id
                async for entry_id, fields in self._entries(stream)
                if any(_mentions(value, forms) for value in fields.values())
            ]
            if ids:
                result.counts["events"] += int(await self._redis.xdel(stream, *ids))

    async def _forget_audit(self, forms: set[str], result: Forgotten) -> None:
        """Delete audit entries that name the number (a spam mark or block records it):
        the deletion itself is then audited with the number's salted hash only."""
        stream = self._keys.audit()
        ids = [
            entry_id
            async for entry_id, fields in self._entries(stream)
            if any(_mentions(value, forms) for value in fields.values())
        ]
        if ids:
            result.counts["audit"] += int(await self._redis.xdel(stream, *ids))

    async def _entries(self, stream: str) -> AsyncIterator[tuple[str, dict[str, str]]]:
        """Every entry of ``stream`` as (id, fields as text), in batches."""
        start = "-"
        while True:
            batch = await self._redis.xrange(stream, start, "+", count=STREAM_BATCH) or []
            last = ""
            for entry_id, fields in batch:
                last = _text(entry_id or "")
                yield last, {_text(k): _text(v) for k, v in (fields or {}).items()}
            if len(batch) < STREAM_BATCH:
                return
            start = "(" + last

    async def _slots_of_calls(self, prefixes: set[str]) -> set[str]:
        """Outbox slots named after the forgotten calls (cards, summaries, alerts,
        recordings): one pass over the slot family, however many calls there were."""
        if not prefixes:
            return set()
        starts = tuple(prefixes)
        return {name for name in await self._scan(self._keys.slot("*")) if name.startswith(starts)}

    async def _scan(self, pattern: str) -> list[str]:
        """Keys matching ``pattern`` (a family that embeds the number or the call)."""
        return [_text(k) async for k in self._redis.scan_iter(match=pattern, count=SCAN_COUNT)]


@dataclass
class _Slots:
    """Outbox slots to delete: by name, and by the start of their names."""

    keys: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _mentions(text: str, forms: Iterable[str]) -> bool:
    return any(form in text for form in forms)


def _about(content: str, calls: set[str]) -> bool:
    return any(f'"about":"{call}"' in content for call in calls)


async def forget_number(
    forgetter: Forgetter,
    audit: AuditLog,
    raw: str,
    *,
    actor: int | str | None,
    salt: str,
    region: str | None = None,
) -> Forgotten | None:
    """Forget the number and note in the audit trail that it was done (by a salted hash
    of the number, with the counts); None when ``raw`` is no phone number."""
    forgotten = await forgetter.forget(raw, region)
    if forgotten is None:
        return None
    details = {kind: str(forgotten.counts[kind]) for kind in KINDS if forgotten.counts[kind]}
    details["number_hash"] = number_hash(forgotten.numbers[0], salt)
    await audit.record("number_forgotten", actor=actor, details=details)
    return forgotten


def report(forgotten: Forgotten) -> str:
    """What ``pbxgram forget`` prints: what was found and removed, by kind."""
    found = [f"  {kind}: {forgotten.counts[kind]}" for kind in KINDS if forgotten.counts[kind]]
    head = "Forgotten." if found else "Nothing about this number was stored."
    lines = [head, *found]
    if forgotten.sent:
        lines.append(
            f"{forgotten.sent} message(s) already in Telegram chats mention it: "
            "they cannot be recalled; delete them in the chats if needed."
        )
    return "\n".join(lines)
