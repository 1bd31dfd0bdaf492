"""Transcripts of call recordings, posted under the audio once the PBX has them.

A PBX's speech service needs a while after the call, so :meth:`Transcripts.expect` notes
each recording sent to chats, and the ``transcripts`` job asks the PBX for what is due
(again later while it is not ready, a few times). Where the account has no such service,
the PBX's answer becomes one line in the log and one in ``/status``, and recordings of
that account are not asked about again for a while. The seam is
:meth:`bot.pbx.base.Provider.transcript` (a recording → phrases and topics): any engine
that can answer it plugs in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from redis.asyncio import Redis

from bot.domain import Transcript
from bot.pbx.base import Capability, NotReady, PbxError, PbxRejected
from bot.pbx.providers import Providers
from bot.runtime.jobs import Job
from bot.storage import Keys
from bot.telegram.notices import Notices
from bot.telegram.outbox import Outbox, OutMessage, Priority
from bot.telegram.sender import visible_length

log = logging.getLogger(__name__)

UNAVAILABLE_FOR = 6 * 3600  # seconds an account without the service is not asked again
MESSAGE_LIMIT = 4096
BATCH = 20  # recordings asked about per run


@dataclass(frozen=True)
class TranscriptTiming:
    first: float = 60.0  # seconds after the recording before the first question
    retries: tuple[float, ...] = (60.0, 120.0, 300.0, 600.0, 1200.0)  # then these apart
    period: float = 15.0  # how often the job looks for what is due


class Expected(BaseModel):
    account: str
    recording_id: str
    chats: list[int]
    attempt: int = 0


class Unavailable(BaseModel):
    """Why an account's transcripts are not to be had (shown in /status)."""

    code: int | str | None = None
    message_key: str
    since: float


class Transcripts:
    """Ask for transcripts when due and post them as replies to the recordings."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        providers: Providers,
        outbox: Outbox,
        notices: Notices,
        timing: TranscriptTiming | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._providers = providers
        self._outbox = outbox
        self._notices = notices
        self.timing = timing or TranscriptTiming()
        self._clock = clock

    def job(self) -> Job:
        return Job("transcripts", self.fetch_due, self.timing.period, once_across_replicas=True)

    async def expect(self, account: str, recording_id: str, chats: list[int]) -> None:
        """A recording went to ``chats``: its transcript follows when the PBX has one."""
        provider = self._providers.get(account)
        if not chats or provider is None or not provider.supports(Capability.TRANSCRIPTS):
            return
        if await self.unavailable(account) is not None:
            return
        item = Expected(account=account, recording_id=recording_id, chats=sorted(set(chats)))
        await self._redis.zadd(
            self._keys.transcripts_due(),
            {item.model_dump_json(): self._clock() + self.timing.first},
        )

    async def unavailable(self, account: str) -> Unavailable | None:
        raw = await self._redis.get(self._keys.transcripts_unavailable(account))
        return Unavailable.model_validate_json(raw) if raw else None

    async def fetch_due(self) -> int:
        """Ask about every recording due now; how many transcripts were posted."""
        key = self._keys.transcripts_due()
        due = await self._redis.zrangebyscore(key, "-inf", self._clock(), start=0, num=BATCH)
        posted = 0
        for raw in map(str, due):
            if not await self._redis.zrem(key, raw):
                continue  # another run took it
            item = Expected.model_validate_json(raw)
            posted += await self._ask(item)
        return posted

    async def _ask(self, item: Expected) -> int:
        provider = self._providers.get(item.account)
        if provider is None or await self.unavailable(item.account) is not None:
            return 0
        try:
            transcript = await provider.transcript(item.recording_id)
        except NotReady:
            await self._later(item)
            return 0
        except PbxRejected as exc:
            await self._mark_unavailable(item.account, exc)
            return 0
        except PbxError as exc:  # unreachable, rate limited…: a later try
            log.info("transcript of a recording of %s: %s", item.account, type(exc).__name__)
            await self._later(item)
            return 0
        for chat_id in item.chats:
            await self._post(item, chat_id, transcript)
        return 1

    async def _later(self, item: Expected) -> None:
        """Ask again a while later; after the last retry the recording stays without one."""
        if item.attempt >= len(self.timing.retries):
            return
        wait = self.timing.retries[item.attempt]
        again = item.model_copy(update={"attempt": item.attempt + 1})
        await self._redis.zadd(
            self._keys.transcripts_due(), {again.model_dump_json(): self._clock() + wait}
        )

    async def _mark_unavailable(self, account: str, error: PbxError) -> None:
        mark = Unavailable(
            code=error.vendor_code, message_key=error.message_key, since=self._clock()
        )
        first = await self._redis.set(
            self._keys.transcripts_unavailable(account),
            mark.model_dump_json(),
            ex=UNAVAILABLE_FOR,
            nx=True,
        )
        if first:  # a fact about the account rather than a fault: said once, at INFO
            log.info(
                "transcripts of %s are not available: the PBX answered code %s; "
                "not asked again for %d h",
                account,
                error.vendor_code,
                UNAVAILABLE_FOR // 3600,
            )

    async def _post(self, item: Expected, chat_id: int, transcript: Transcript) -> None:
        t = await self._notices.translator(chat_id)
        phrases = [{"side": side, "text": text} for side, text in transcript.phrases]
        shown = len(phrases)
        while True:
            text = t(
                "transcript",
                phrases=phrases[:shown],
                cut=shown < len(phrases),
                topics=list(transcript.topics),
            )
            if visible_length(text) <= MESSAGE_LIMIT or shown <= 1:
                break
            shown = max(1, shown * 3 // 4)
        await self._outbox.put(
            f"tr:{item.account}:{item.recording_id}:{chat_id}",
            OutMessage(
                chat_id=chat_id,
                text=text,
                reply_to_slot=f"rec:{item.account}:{item.recording_id}:{chat_id}",
                reply_to_coming=True,
            ),
            Priority.RECORDING,
        )
