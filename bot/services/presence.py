"""Who is on a call right now, from pbxgram's own call state: the transfer picker marks
busy colleagues with it. Use :meth:`Presence.follow` after a session's legs change.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

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

    def follow(self, session: CallSession) -> None:
        """Note who of this call is talking or holding, and who is no longer: only what
        changed since the call's last note, written with the session's save."""
        key = self._keys.busy(session.account)
        busy = sorted(
            {
                leg.extension
                for leg in session.legs.values()
                if leg.extension
                and leg.state in (LegState.CONNECTED, LegState.ON_HOLD)
                and not session.finished
            }
        )
        if busy == session.busy_noted:
            return
        free = sorted(set(session.busy_noted) - set(busy))
        call_id = session.call_id

        def note(pipe: Pipeline) -> None:
            for extension in busy:
                pipe.hset(key, extension, call_id)
            if busy:
                pipe.expire(key, BUSY_TTL_SECONDS)
            for extension in free:
                pipe.eval(_FORGET_IF_SAME, 1, key, extension, call_id)

        session.writes.add(note)  # written with the session's save
        session.busy_noted = busy

    async def busy(self, account: str) -> set[str]:
        """The extensions of ``account`` on a call now."""
        return {str(extension) for extension in await self._redis.hkeys(self._keys.busy(account))}
