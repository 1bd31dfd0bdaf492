"""The context line of a card: how often the client called lately, and how the last call
went. Use :meth:`CallContexts.of` once per call, when its client is first known: a few
reads of the number's index in the call log, whatever its size.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis.asyncio import Redis

from bot.domain import CallContext
from bot.services.call_log import CallLog
from bot.services.missed_calls import MissedCalls
from bot.storage import Keys

CONTEXT_DAYS = 7


class CallContexts:
    """Read a client's recent past from the call log and the open missed calls."""

    def __init__(self, redis: Redis, keys: Keys, call_log: CallLog, missed: MissedCalls) -> None:
        self._redis = redis
        self._keys = keys
        self._call_log = call_log
        self._missed = missed

    async def of(self, account: str, number: str, call_id: str, at: datetime) -> CallContext | None:
        """The context of call ``call_id`` from ``number``; None for a first call."""
        index = self._keys.call_log_by_number(account, number)
        since = (at - timedelta(days=CONTEXT_DAYS)).timestamp()
        # The two newest calls: this one may be logged already (a late event).
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrevrangebyscore(index, "+inf", since, start=0, num=2)
            pipe.zcount(index, since, "+inf")
            ids, total = await pipe.execute()
        before = [str(i) for i in ids if str(i) != call_id][:1]
        count = int(total) - int(call_id in {str(i) for i in ids})
        if count == 0 or not before:
            return None
        last = await self._call_log.get(account, before[0])
        if last is None:
            return None
        open_missed = await self._missed.open_for(account, number)
        return CallContext(
            calls=count + 1,
            days=CONTEXT_DAYS,
            last_at=last.started_at,
            last_answered=last.answered,
            last_by=last.extension,
            not_called_back=not last.answered
            and any(m.call_id == last.call_id for m in open_missed),
        )
