"""Who is on a call right now, from pbxgram's own call state: the transfer picker marks
busy colleagues with it. Use :meth:`Presence.follow` after a session's legs change.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bot.events import LegState
from bot.pipeline.sessions import CallSession
from bot.storage import Keys

BUSY_TTL_SECONDS = 12 * 3600  # a call whose end was never heard stops counting after this

# KEYS[1] the account's hash; ARGV[1] extension, ARGV[2] call id: forget it if still that call
_FORGET_IF_SAME = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


class Presence:
    """Extensions busy on a call, per account."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._forget = redis.register_script(_FORGET_IF_SAME)

    async def follow(self, session: CallSession) -> None:
        """Note who of this call is talking or holding, and who is no longer."""
        key = self._keys.busy(session.account)
        busy: dict[str, str] = {}
        free: set[str] = set()
        for leg in session.legs.values():
            if not leg.extension:
                continue
            if leg.state in (LegState.CONNECTED, LegState.ON_HOLD) and not session.finished:
                busy[leg.extension] = session.call_id
            else:
                free.add(leg.extension)
        if busy:
            async with self._redis.pipeline(transaction=False) as pipe:
                for extension, call_id in busy.items():
                    pipe.hset(key, extension, call_id)
                pipe.expire(key, BUSY_TTL_SECONDS)
                await pipe.execute()
        for extension in free - set(busy):
            await self._forget(keys=[key], args=[extension, session.call_id])

    async def busy(self, account: str) -> set[str]:
        """The extensions of ``account`` on a call now."""
        return {str(extension) for extension in await self._redis.hkeys(self._keys.busy(account))}
