"""What handlers receive as keyword arguments, typed.

:class:`HandlerDeps` is what the composition root hands to
:func:`~bot.telegram.factory.create_dispatcher`; aiogram passes each entry to every
handler and middleware that names it. :class:`HandlerData` is the whole of it as a handler
or middleware sees it: aiogram's own entries, these dependencies, and ``identity`` and
``t`` for updates that come from a person (:mod:`bot.telegram.identity`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from aiogram.dispatcher.middlewares.data import MiddlewareData
from redis.asyncio import Redis

from bot.config import Settings
from bot.pbx.providers import Providers
from bot.pipeline.notify import Notifier
from bot.ratelimit import SharedRateLimiter
from bot.services.access import Access
from bot.services.audit import AuditLog
from bot.services.call_control import CallControl
from bot.services.call_log import CallLog
from bot.services.call_notes import CallNotes
from bot.services.dialing import Dialer
from bot.services.missed_calls import MissedCalls
from bot.services.outgoing_lines import OutgoingLines
from bot.services.presence import Presence
from bot.storage import Keys, Repositories
from bot.telegram.connection import TelegramState
from bot.telegram.identity import Identity
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox
from bot.texts import Texts, Translator


class HandlerDeps(TypedDict):
    """Every dependency handlers may ask for by name; build one per Dispatcher."""

    redis: Redis
    keys: Keys
    settings: Settings
    repos: Repositories
    texts: Texts
    providers: Providers
    access: Access
    audit: AuditLog
    notices: Notices
    notifier: Notifier
    missed_calls: MissedCalls
    call_log: CallLog
    call_notes: CallNotes
    outgoing_lines: OutgoingLines
    call_control: CallControl
    presence: Presence
    outbox: Outbox
    limiter: SharedRateLimiter
    dialer: Dialer
    telegram: TelegramState
    clock: Callable[[], float]  # what deadlines are read by (tests turn it by hand)


class HandlerData(MiddlewareData, HandlerDeps, total=False):
    """Everything in a handler's keyword arguments; use it to read middleware ``data``."""

    identity: Identity
    t: Translator
