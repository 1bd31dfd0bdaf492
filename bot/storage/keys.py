"""Typed Redis key builders: every key pbxgram writes is named here.

Keys share one prefix so the data can live beside other apps' in one Redis.
Nothing lists keys by pattern; indexes are kept as sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self


@dataclass(frozen=True)
class ScopedKeys:
    """Key names under one scope, for a provider package's own data: ``scope("call", id)``
    is ``{prefix}:{provider}:{account}:call:{id}``. Provider packages name their keys with
    it in one module of their own, so this file stays free of vendors."""

    base: str

    def __call__(self, *parts: str) -> str:
        return ":".join((self.base, *parts))


@dataclass(frozen=True)
class AccountKeys:
    """Base of a provider package's key names for one account (``{prefix}:{provider}:
    {account}:…``): a subclass sets ``provider`` and adds one method a key."""

    provider: ClassVar[str]
    scope: ScopedKeys

    @classmethod
    def of(cls, keys: Keys, account: str) -> Self:
        return cls(keys.scoped(cls.provider, account))


@dataclass(frozen=True)
class Keys:
    """Key names under ``prefix``."""

    prefix: str = "pbxgram"

    def scoped(self, *scope: str) -> ScopedKeys:
        """Keys under ``{prefix}:{scope…}``: a provider's, or one of its accounts'."""
        return ScopedKeys(":".join((self.prefix, *scope)))

    def user(self, telegram_id: int) -> str:
        """String: the User as JSON."""
        return f"{self.prefix}:user:{telegram_id}"

    def users_index(self) -> str:
        """Set: telegram ids of all known users."""
        return f"{self.prefix}:users"

    def user_links(self, telegram_id: int) -> str:
        """Hash: account -> extension this user acts as."""
        return f"{self.prefix}:user:{telegram_id}:links"

    def extension(self, account: str, extension: str) -> str:
        """String: telegram id linked to this extension."""
        return f"{self.prefix}:ext:{account}:{extension}"

    def account_links(self, account: str) -> str:
        """Hash: extension -> telegram id, for one account."""
        return f"{self.prefix}:account:{account}:links"

    def invite(self, code: str) -> str:
        """String with TTL: the Invite as JSON; deleted when used."""
        return f"{self.prefix}:invite:{code}"

    def approval(self, request_id: str) -> str:
        """String with TTL: a pending ApprovalRequest as JSON."""
        return f"{self.prefix}:approval:{request_id}"

    def chat_subscriptions(self, chat_id: int) -> str:
        """Set: "kind:account" entries a group chat follows."""
        return f"{self.prefix}:chat:{chat_id}:subs"

    def subscribers(self, account: str, kind: str) -> str:
        """Set: chat ids that follow ``kind`` of ``account``."""
        return f"{self.prefix}:subs:{account}:{kind}"

    def events_stream(self) -> str:
        """Stream: verified PBX events for the workers."""
        return f"{self.prefix}:events"

    def pending_command(self, command_id: str) -> str:
        """String with TTL: who sent a PBX command and where to report its result."""
        return f"{self.prefix}:command:{command_id}"

    def slot(self, slot: str) -> str:
        """Hash: one outgoing message: content, version, sent_version, chat_id, message_id."""
        return f"{self.prefix}:slot:{slot}"

    def outbox(self, priority: int) -> str:
        """Stream: slots waiting for the sender, one stream per priority."""
        return f"{self.prefix}:outbox:{priority}"

    def outbox_delayed(self) -> str:
        """Sorted set: slots to queue again later (score: due time)."""
        return f"{self.prefix}:outbox:delayed"

    def outbox_stalled(self) -> str:
        """Sorted set: slots waiting for Telegram to be reachable again, in the order they
        go out once it is (score: priority, then age)."""
        return f"{self.prefix}:outbox:stalled"

    def outbox_probe(self) -> str:
        """String: when the next stalled slot may try Telegram again (epoch seconds)."""
        return f"{self.prefix}:outbox:probe"

    def dead_letters(self, stream: str) -> str:
        """Stream: entries that kept failing."""
        return f"{stream}:dead"

    def chat_cooldown(self, chat_id: int) -> str:
        """String with TTL: Telegram asked us to wait before writing to this chat."""
        return f"{self.prefix}:tg:cooldown:{chat_id}"

    def call_session(self, account: str, call_id: str) -> str:
        """String with TTL: the CallSession as JSON."""
        return f"{self.prefix}:call:{account}:{call_id}"

    def missed(self, ref: str) -> str:
        """String with TTL: a MissedCall as JSON, by its short ref."""
        return f"{self.prefix}:missed:{ref}"

    def missed_open(self, account: str, number: str) -> str:
        """Set: call ids of missed calls from ``number`` nobody has talked to yet."""
        return f"{self.prefix}:missed:open:{account}:{number}"

    def missed_day(self, account: str, day: str) -> str:
        """Sorted set: missed call refs of one UTC day (score: time)."""
        return f"{self.prefix}:missed:day:{account}:{day}"

    def missed_lock(self, ref: str) -> str:
        """Lock: held while the missed call ``ref`` is read and changed (taken, closed, a
        step of its callback ladder)."""
        return f"{self.prefix}:missed:{ref}:lock"

    def night_summarised(self, account: str) -> str:
        """String: the opening (Unix seconds) whose night summary of ``account`` went out."""
        return f"{self.prefix}:missed:night:{account}"

    def spam_numbers(self, account: str) -> str:
        """Set: numbers people marked as spam (no alerts, never texted after a missed call)."""
        return f"{self.prefix}:missed:spam:{account}"

    def spam_marks(self, account: str) -> str:
        """Hash: spam number → JSON who marked it and when (for /blocked)."""
        return f"{self.prefix}:missed:spam:{account}:marks"

    def missed_sms_sent(self, account: str, number: str, day: str) -> str:
        """String with TTL: ``number`` was texted after a missed call on ``day``."""
        return f"{self.prefix}:missed:sms:{account}:{number}:{day}"

    def missed_due(self) -> str:
        """Sorted set: refs of open missed calls with a callback-ladder step to come
        (score: when it is due, Unix seconds)."""
        return f"{self.prefix}:missed:due"

    def directory(self, account: str) -> str:
        """String with TTL: the PBX employee directory, cached."""
        return f"{self.prefix}:directory:{account}"

    def chat_language(self, chat_id: int) -> str:
        """String: the language a group chat is written to in."""
        return f"{self.prefix}:chat:{chat_id}:lang"

    def call_log(self, account: str) -> str:
        """Sorted set: call ids of finished calls (score: start time)."""
        return f"{self.prefix}:log:{account}"

    def call_log_entry(self, account: str, call_id: str) -> str:
        """String with TTL: a LoggedCall as JSON."""
        return f"{self.prefix}:log:{account}:call:{call_id}"

    def call_log_by_extension(self, account: str, extension: str) -> str:
        """Sorted set: call ids that rang or were taken by ``extension`` (score: start time)."""
        return f"{self.prefix}:log:{account}:ext:{extension}"

    def call_log_by_number(self, account: str, number: str) -> str:
        """Sorted set: call ids with the client ``number`` (score: start time)."""
        return f"{self.prefix}:log:{account}:num:{number}"

    def call_ref(self, ref: str) -> str:
        """String with TTL: "account call_id" for a short call ref used in buttons."""
        return f"{self.prefix}:log:ref:{ref}"

    def outbox_file(self, digest: str) -> str:
        """String with TTL: a file (base64) an outbox slot sends, by its content hash."""
        return f"{self.prefix}:outbox:file:{digest}"

    def digest_sent(self, account: str, chat_id: int, day: str) -> str:
        """String with TTL: the daily digest of ``day`` was queued for this chat."""
        return f"{self.prefix}:digest:{account}:{chat_id}:{day}"

    def balance_state(self, account: str) -> str:
        """Hash: the low-balance watch of one account: state, episode, figures, notified."""
        return f"{self.prefix}:balance:{account}"

    def balance_schedule(self) -> str:
        """String with TTL: present while the current balance-check period is taken."""
        return f"{self.prefix}:balance:due"

    def calls_closing(self) -> str:
        """Sorted set: "account call_id" of calls whose legs all ended (score: when to close)."""
        return f"{self.prefix}:calls:closing"

    def webhook_refusals(self, account: str) -> str:
        """String with TTL: webhooks of ``account`` refused with 403 in the current window."""
        return f"{self.prefix}:watch:{account}:refused"

    def incident(self, kind: str, account: str) -> str:
        """String: present (the incident's start) while admins know of a ``kind`` problem
        of ``account`` that is not over yet."""
        return f"{self.prefix}:incident:{kind}:{account}"

    def telegram_outage(self) -> str:
        """String with TTL: when the senders first found Telegram unreachable (epoch
        seconds); taken (GETDEL) by the one that finds it back, to tell the admins once."""
        return f"{self.prefix}:telegram:outage"

    def last_event(self, account: str) -> str:
        """String: Unix seconds when a call event of ``account`` was last handled."""
        return f"{self.prefix}:account:{account}:last_event"

    def watched_since(self, account: str) -> str:
        """String: Unix seconds when the silence watchdog first looked at ``account`` (its
        silence counts from there while no event was ever handled)."""
        return f"{self.prefix}:account:{account}:watched_since"

    def reconciled(self, account: str) -> str:
        """String: "<Unix seconds> <calls recovered>" of the last read of ``account``'s call
        log (``/status`` shows it)."""
        return f"{self.prefix}:account:{account}:reconciled"

    def polling_lease(self) -> str:
        """Lock: held by the one worker that long-polls Telegram."""
        return f"{self.prefix}:telegram:polling"

    def job_lease(self, job: str) -> str:
        """Lock: held by the one worker that runs the background job ``job`` right now."""
        return f"{self.prefix}:job:{job}:lease"

    def fsm_prefix(self) -> str:
        """Prefix for aiogram's RedisStorage keys."""
        return f"{self.prefix}:fsm"

    def phonebook(self) -> str:
        """Hash: the company's own phonebook, E.164 number → JSON name and organisation
        (replaced whole by each import)."""
        return f"{self.prefix}:phonebook"

    def caller_identity(self, account: str, number: str) -> str:
        """String with TTL: who the client ``number`` is, as last looked up (JSON; empty
        when nobody knew)."""
        return f"{self.prefix}:identity:{account}:{number}"

    def message_about(self, chat_id: int, message_id: int) -> str:
        """String with TTL: "<account> <call id>" of the call the bot's message ``message_id``
        in ``chat_id`` is about (a reply to it is a note on that call)."""
        return f"{self.prefix}:about:{chat_id}:{message_id}"

    def transcripts_due(self) -> str:
        """Sorted set: recordings whose transcript is to be asked for (JSON; score: when)."""
        return f"{self.prefix}:transcripts:due"

    def transcripts_unavailable(self, account: str) -> str:
        """String with TTL: why ``account`` has no transcripts (the PBX's answer, JSON)."""
        return f"{self.prefix}:transcripts:unavailable:{account}"

    def outgoing_line(self, account: str, telegram_id: int) -> str:
        """String: the line (a PBX number) a person chose to call out from (``/line``)."""
        return f"{self.prefix}:line:{account}:{telegram_id}"

    def tap(self, chat_id: int, message_id: int, action: str) -> str:
        """String with TTL: a button ``action`` on a message was just pressed (a second tap
        of it meanwhile places nothing)."""
        return f"{self.prefix}:tap:{chat_id}:{message_id}:{action}"

    def busy(self, account: str) -> str:
        """Hash with TTL: extension -> the call (id) it is talking on or holding now."""
        return f"{self.prefix}:busy:{account}"

    def mobile(self, telegram_id: int) -> str:
        """String: the person's own mobile number (E.164), set with ``/mobile``."""
        return f"{self.prefix}:mobile:{telegram_id}"

    def audit(self) -> str:
        """Stream: the audit trail, who changed what (capped by count and age)."""
        return f"{self.prefix}:audit"
