"""The low-balance watch: one alert when an account's balance drops below its
``balance_alert_below``, one when it is back above it, never one per check.

:func:`balance_jobs` makes it a job that runs in one worker process at a time; each tick
checks only when the schedule key (``SET NX`` with the period as expiry) is free, so the
balances are checked once per ``BALANCE_CHECK_SECONDS`` over all replicas, restarts and
takeovers. The state of each account lives in Redis and changes in one atomic step, so a
restart or a second replica decides nothing twice; alerts go through the outbox with a slot
per state change and recipient, so repeating a decision queues nothing new.

"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from redis.asyncio import Redis

from bot.config import Account, Settings
from bot.domain import Balance, Role
from bot.formatting import moment, money
from bot.pbx.base import Capability, PbxError
from bot.pbx.providers import Providers
from bot.runtime.jobs import Job
from bot.storage import Keys, Repositories
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority

log = logging.getLogger(__name__)

LOW = "low"
OK = "ok"
MAX_TICK_SECONDS = 5.0

# KEYS[1] state hash; ARGV: state, amount, currency, at, threshold.
# Returns the new episode number when the state changed, else 0. A change is announced
# (notified=0) when the balance went low, or came back from low; the first "ok" is not.
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'state')
if current == ARGV[1] then
  return 0
end
local announce = ARGV[1] == 'low' or current == 'low'
local episode = redis.call('HINCRBY', KEYS[1], 'episode', 1)
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'amount', ARGV[2], 'currency', ARGV[3],
  'at', ARGV[4], 'threshold', ARGV[5], 'notified', announce and '0' or '1')
return episode
"""


@dataclass(frozen=True)
class BalanceChange:
    """A state change to announce, with the figures of the check that saw it."""

    account: str
    state: str
    episode: int
    amount: Decimal
    currency: str
    at: datetime
    threshold: Decimal


class BalanceWatch:
    """Checks the balance of every account with an alert threshold and announces changes."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        settings: Settings,
        providers: Providers,
        repos: Repositories,
        outbox: Outbox,
        notices: Notices,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._providers = providers
        self._repos = repos
        self._outbox = outbox
        self._notices = notices
        self._transition = redis.register_script(_TRANSITION)

    def watched(self) -> list[Account]:
        """Accounts with ``balance_alert_below`` whose PBX reports the balance."""
        accounts = []
        for account in self._settings.accounts:
            if account.balance_alert_below is None:
                continue
            provider = self._providers.get(account.id)
            if provider is not None and provider.supports(Capability.BALANCE):
                accounts.append(account)
        return accounts

    def unsupported(self) -> list[Account]:
        """Accounts with ``balance_alert_below`` whose PBX does not report the balance."""
        watched = self.watched()
        return [
            account
            for account in self._settings.accounts
            if account.balance_alert_below is not None and account not in watched
        ]

    async def due(self, period: float) -> bool:
        """True for the one replica that takes the current period."""
        taken = await self._redis.set(
            self._keys.balance_schedule(), uuid.uuid4().hex, nx=True, px=int(period * 1000)
        )
        return bool(taken)

    async def check_all(self) -> None:
        """Check every watched account (the job's lease keeps two checks from overlapping)."""
        for account in self.watched():
            try:
                await self.check(account)
            except PbxError as exc:
                log.warning("balance of %s not checked: %s", account.id, exc)

    async def check(self, account: Account) -> None:
        """Ask the PBX, record the state, and announce a change that is not announced yet."""
        provider = self._providers.get(account.id)
        if provider is None or account.balance_alert_below is None:
            return
        balance = await provider.balance()
        threshold = Decimal(str(account.balance_alert_below))
        await self.record(balance, threshold)
        change = await self.unannounced(account.id)
        if change is not None:
            await self.announce(change)

    async def record(self, balance: Balance, threshold: Decimal) -> None:
        state = LOW if balance.amount < threshold else OK
        await self._transition(
            keys=[self._keys.balance_state(balance.account)],
            args=[
                state,
                str(balance.amount),
                balance.currency,
                balance.at.isoformat(),
                str(threshold),
            ],
        )

    async def unannounced(self, account: str) -> BalanceChange | None:
        """The last state change when it still has to be announced."""
        raw = await self._redis.hgetall(self._keys.balance_state(account))
        stored = {str(name): str(value) for name, value in raw.items()}
        if stored.get("notified") != "0":
            return None
        try:
            return BalanceChange(
                account=account,
                state=stored["state"],
                episode=int(stored["episode"]),
                amount=Decimal(stored["amount"]),
                currency=stored["currency"],
                at=datetime.fromisoformat(stored["at"]),
                threshold=Decimal(stored["threshold"]),
            )
        except (KeyError, ValueError, InvalidOperation):
            log.warning("balance state of %s is unreadable: %r", account, stored)
            return None

    async def announce(self, change: BalanceChange) -> None:
        """Queue the alert for every manager and admin linked to the account."""
        template = "balance_low" if change.state == LOW else "balance_recovered"
        for chat_id in await self.recipients(change.account):
            t = await self._notices.translator(chat_id)
            text = t(
                template,
                account=change.account,
                amount=money(change.amount, change.currency, t.language),
                threshold=money(change.threshold, change.currency, t.language),
                at=moment(change.at, self._settings.zone, t.language),
            )
            await self._outbox.put(
                f"balance:{change.account}:{change.episode}:{chat_id}",
                OutMessage(chat_id=chat_id, text=text),
                Priority.MISSED,
            )
        await self._redis.hset(self._keys.balance_state(change.account), "notified", "1")

    async def recipients(self, account: str) -> list[int]:
        """Telegram ids of the managers and admins linked to ``account``."""
        chats: list[int] = []
        for link in await self._repos.links.of_account(account):
            if link.telegram_id in self._settings.admin_ids:
                chats.append(link.telegram_id)
                continue
            user = await self._repos.users.get(link.telegram_id)
            if user is not None and user.role is not None and user.role.at_least(Role.MANAGER):
                chats.append(link.telegram_id)
        return list(dict.fromkeys(chats))


def balance_jobs(watch: BalanceWatch, period: float) -> list[Job]:
    """The balance check, once per ``period`` seconds over all replicas; no job when no
    account is watched."""
    watched = watch.watched()
    for account in watch.unsupported():
        log.warning("account %s: its PBX does not report the balance", account.id)
    if not watched:
        return []

    async def check_when_due() -> None:
        if await watch.due(period):
            await watch.check_all()

    tick = min(period / 4, MAX_TICK_SECONDS)
    return [Job("balance-watch", check_when_due, period=tick, once_across_replicas=True)]
