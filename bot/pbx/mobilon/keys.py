"""Employees' Mobilon API keys, kept in Redis.

A key is a secret: it is stored encrypted with ``PBXGRAM_SECRET_KEY`` (``CallToSubscriber``
needs it back; see :mod:`bot.secret_box`), returned only as :class:`~pydantic.SecretStr`,
and never logged or shown. A key stored in plaintext before is encrypted when first read
(or by ``pbxgram secret-key rotate``). Webhooks name an employee by key, so an index maps
a digest of each key to its extension; one key belongs to one extension of an account at a
time.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from pydantic import SecretStr
from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.errors import ConfigError
from bot.pbx.mobilon.redis_keys import MobilonKeys
from bot.secret_box import SecretBox, is_sealed
from bot.storage import Keys

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-.]{6,200}$")
EXTENSION_PATTERN = re.compile(r"^\d{1,10}$")


def looks_like_key(text: str) -> bool:
    """True for something shaped like an API key (no spaces, 6–200 safe characters)."""
    return bool(KEY_PATTERN.match(text))


# KEYS[1] keys hash; ARGV[1] extension, ARGV[2] the value read, ARGV[3] the new value.
# Replaces the value only if nobody changed it since it was read.
_RESEAL = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0
"""


def _digest(account: str, key: str) -> str:
    return hashlib.sha256(f"{account}\n{key}".encode()).hexdigest()


class EmployeeKeys:
    """Set, find and drop the key of each extension of Mobilon accounts."""

    def __init__(self, redis: Redis, keys: Keys | None = None, *, box: SecretBox) -> None:
        self._redis = redis
        self._keys = keys or Keys()
        self._box = box

    async def set(self, account: str, extension: str, key: str) -> None:
        """Store ``key`` for ``extension``, replacing its old key; a key given to another
        extension before moves here."""
        keys_hash = MobilonKeys.of(self._keys, account).keys()
        index = MobilonKeys.of(self._keys, account).key_index()
        digest = _digest(account, key)
        while True:
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(keys_hash, index)
                    old_key = await pipe.hget(keys_hash, extension)
                    old_owner = await pipe.hget(index, digest)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if old_key is not None:
                        pipe.hdel(index, _digest(account, self._open(str(old_key))))
                    if old_owner is not None and str(old_owner) != extension:
                        pipe.hdel(keys_hash, str(old_owner))
                    pipe.hset(keys_hash, extension, self._box.seal(key))
                    pipe.hset(index, digest, extension)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def remove(self, account: str, extension: str) -> bool:
        """Forget the key of ``extension``; False when it had none."""
        keys_hash = MobilonKeys.of(self._keys, account).keys()
        old_key = await self._redis.hget(keys_hash, extension)
        if old_key is None:
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys_hash, extension)
            pipe.hdel(
                MobilonKeys.of(self._keys, account).key_index(),
                _digest(account, self._open(str(old_key))),
            )
            await pipe.execute()
        return True

    async def key_of(self, account: str, extension: str) -> SecretStr | None:
        """The key of ``extension``, None when nobody set it."""
        value = await self._read(account, extension)
        return SecretStr(value) if value is not None else None

    async def extension_of(self, account: str, key: str) -> str | None:
        """The extension ``key`` belongs to in ``account``, None for an unknown key."""
        if not key or len(key) > 1000:
            return None
        extension = await self._redis.hget(
            MobilonKeys.of(self._keys, account).key_index(), _digest(account, key)
        )
        if extension is None:
            return None
        stored = await self._read(account, str(extension))
        if stored is None or not hmac.compare_digest(stored.encode(), key.encode()):
            return None
        return str(extension)

    async def extensions(self, account: str) -> list[str]:
        """Extensions that have a key, in order."""
        found = await self._redis.hkeys(MobilonKeys.of(self._keys, account).keys())
        return sorted((str(e) for e in found), key=lambda e: (len(e), e))

    async def reseal(self, account: str, new: SecretBox) -> int:
        """Encrypt every key of ``account`` with ``new`` (plaintext ones included); return
        how many. A key this box cannot open raises ValueError naming its extension."""
        keys_hash = MobilonKeys.of(self._keys, account).keys()
        done = 0
        for name, value in (await self._redis.hgetall(keys_hash)).items():
            extension, stored = str(name), str(value)
            try:
                plain = self._box.open(stored)
            except ValueError as exc:
                raise ValueError(f"{account}, extension {extension}: {exc}") from None
            sealed = new.seal(plain)
            done += int(await self._redis.eval(_RESEAL, 1, keys_hash, extension, stored, sealed))
        return done

    async def _read(self, account: str, extension: str) -> str | None:
        """The key of ``extension`` in plaintext; one stored before encryption is sealed."""
        keys_hash = MobilonKeys.of(self._keys, account).keys()
        stored = await self._redis.hget(keys_hash, extension)
        if stored is None:
            return None
        plain = self._open(str(stored))
        if not is_sealed(str(stored)):
            sealed = self._box.seal(plain)
            await self._redis.eval(_RESEAL, 1, keys_hash, extension, str(stored), sealed)
        return plain

    def _open(self, stored: str) -> str:
        try:
            return self._box.open(stored)
        except ValueError:
            raise ConfigError(
                "PBXGRAM_SECRET_KEY: it does not decrypt the stored Mobilon keys "
                "(was it changed without pbxgram secret-key rotate?)"
            ) from None
