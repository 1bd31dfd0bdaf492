"""The context line of a card: how often the client called lately, and how the last call
went. Use :meth:`CallContexts.of` once per call, when its client is first known: two
round trips to Redis (the number's index in the call log, then its last call and that
call's missed-call record), whatever the log's size. The first can ride with other reads
(:meth:`CallContexts.queue_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.domain import CallContext
from bot.services.call_log import LoggedCall
from bot.services.missed_calls import MissedCall, missed_ref
from bot.storage import Keys

CONTEXT_DAYS = 7


class CallContexts:
    """Read a client's recent past from the call log and the open missed calls."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def of(self, account: str, number: str, call_id: str, at: datetime) -> CallContext | None:
        """The context of call ``call_id`` from ``number``; None for a first call."""
        async with self._redis.pipeline(transaction=False) as pipe:
            self.queue_of(pipe, account, number, at)
            answers = await pipe.execute()
        return await self.of_answers(account, call_id, answers)

    def queue_of(self, pipe: Pipeline, account: str, number: str, at: datetime) -> None:
        """Add :meth:`of`'s first reads to ``pipe`` (another's, say); give their answers
        to :meth:`of_answers`."""
        index = self._keys.call_log_by_number(account, number)
        since = (at - timedelta(days=CONTEXT_DAYS)).timestamp()
        # The two newest calls: this one may be logged already (a late event).
        pipe.zrevrangebyscore(index, "+inf", since, start=0, num=2)
        pipe.zcount(index, since, "+inf")

    async def of_answers(
        self, account: str, call_id: str, answers: Sequence[Any]
    ) -> CallContext | None:
        """The context, from what :meth:`queue_of`'s reads answered."""
        ids, total = answers
        before = [str(i) for i in ids if str(i) != call_id][:1]
        count = int(total) - int(call_id in {str(i) for i in ids})
        if count == 0 or not before:
            return None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(self._keys.call_log_entry(account, before[0]))
            pipe.get(self._keys.missed(missed_ref(account, before[0])))
            raw_last, raw_missed = await pipe.execute()
        if not raw_last:
            return None
        last = LoggedCall.model_validate_json(raw_last)
        missed = MissedCall.model_validate_json(raw_missed) if raw_missed else None
        return CallContext(
            calls=count + 1,
            days=CONTEXT_DAYS,
            last_at=last.started_at,
            last_answered=last.answered,
            last_by=last.extension,
            not_called_back=not last.answered and missed is not None and missed.is_open,
        )
