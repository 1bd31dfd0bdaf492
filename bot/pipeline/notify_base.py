"""What every notification decision needs: the Notifier's parts, people's names and
words, and the time. :class:`bot.pipeline.notify.Notifier` builds on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bot.config import Settings
from bot.domain import Role
from bot.pbx.base import Capability
from bot.pbx.providers import Providers
from bot.pipeline.caller_view import NameOf
from bot.services.employee_names import DirectoryCache
from bot.services.missed_calls import MissedCalls
from bot.storage import Repositories
from bot.telegram.callbacks import SpamAction, SpamCallback, packed
from bot.telegram.notices import Notices
from bot.telegram.outbox import Button, Outbox
from bot.texts import Texts, Translator


class NotifierBase:
    """The parts notifications are made with, and how they name people and moments."""

    def __init__(
        self,
        *,
        settings: Settings,
        repos: Repositories,
        outbox: Outbox,
        texts: Texts,
        directory: DirectoryCache,
        missed: MissedCalls,
        notices: Notices,
        clock: Callable[[], float] = time.time,
        providers: Providers | None = None,
    ) -> None:
        self.settings = settings
        self.repos = repos
        self.outbox = outbox
        self.texts = texts
        self.directory = directory
        self.missed = missed
        self.notices = notices
        self.clock_source = clock
        self.providers = providers
        # Marks what this process drew (with its templates and settings as loaded): a card
        # another process, or an earlier run, drew is drawn again rather than trusted.
        self._drawing = os.urandom(8).hex()
        self._card_texts: dict[tuple[str, str], str] = {}  # (language, values) -> text

    # people and words ------------------------------------------------------------
    async def translator(self, chat_id: int) -> Translator:
        return await self.notices.translator(chat_id)

    async def name_of(self, account: str, extension: str | None) -> str | None:
        if extension is None:
            return None
        names = await self.directory.names(account)
        if extension in names:
            return names[extension]
        link = await self.repos.links.by_extension(account, extension)
        user = await self.repos.users.get(link.telegram_id) if link else None
        return user.first_name if user and user.first_name else extension

    def clock(self, moment: datetime | None) -> str:
        return moment.astimezone(self.settings.zone).strftime("%H:%M") if moment else ""

    def _names(self, account: str) -> NameOf:
        async def name(extension: str | None) -> str | None:
            return await self.name_of(account, extension)

        return name

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock_source(), UTC)

    async def _shows_manager_buttons(self, chat_id: int) -> bool:
        """Managers' buttons (spam, group call back) go to groups, where the press is
        checked, and to managers' and admins' own chats."""
        if chat_id < 0:
            return True
        user = await self.repos.users.get(chat_id)
        return user is not None and user.role is not None and user.role.at_least(Role.MANAGER)

    def _calls_groups(self, account: str) -> bool:
        """The account's PBX can call a client back from a whole group ("Group calls
        back" goes where managers' buttons do: groups, where the press is checked, and
        managers' own chats)."""
        provider = self.providers.get(account) if self.providers is not None else None
        return provider is not None and provider.supports(Capability.GROUP_CALLBACK)


def spam_row(t: Translator, account: str, number: str | None) -> tuple[tuple[Button, ...], ...]:
    """A "Spam" button for a call from a phone number."""
    if not number or not number.startswith("+"):
        return ()
    data = packed(SpamCallback, action=SpamAction.MARK, account=account, number=number[1:])
    return ((Button(text=t.label("calls.spam"), callback_data=data),),)
