"""Commands packed in C: the same bytes on the wire as redis-py's own packing, and what
redis-py refuses is still refused the same way."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import DataError

from bot.storage.packing import packing_in_c
from bot.storage.pool import WaitingConnectionPool

COMMANDS: list[tuple[Any, ...]] = [
    ("SET", "pbx:call:acc:1", "v", "EX", 3600),
    ("SET", "ключ", "значение ☎", "NX", "PX", 10_000),
    ("ZADD", "pbx:delayed", 1_733_456_789.123456, "slot"),
    ("EVALSHA", "0" * 40, 3, "a", "b", "c", b"\x00\xff", 0.1, 1e20, -5, 3.14e-7),
    ("CLIENT SETNAME", "pbxgram"),
    (b"CONFIG GET", "maxmemory"),
    ("SET", "big", "x" * 100_000),
    ("XADD", "s", "*", "event", memoryview(b"payload")),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: str(c[0]))
def test_the_bytes_on_the_wire_are_redis_pys_own(command: tuple[Any, ...]) -> None:
    python, c = Connection(), packing_in_c(Connection)()
    assert b"".join(c.pack_command(*command)) == b"".join(python.pack_command(*command))


def test_a_pipeline_packs_the_same_too() -> None:
    python, c = Connection(), packing_in_c(Connection)()
    assert b"".join(c.pack_commands(COMMANDS)) == b"".join(python.pack_commands(COMMANDS))


@pytest.mark.parametrize("value", [None, True, object()])
def test_values_redis_py_refuses_are_refused_alike(value: Any) -> None:
    with pytest.raises(DataError):
        Connection().pack_command("SET", "k", value)
    with pytest.raises(DataError):
        packing_in_c(Connection)().pack_command("SET", "k", value)


def test_another_encoding_packs_the_python_way() -> None:
    c = packing_in_c(Connection)(encoding="cp1251")
    assert b"".join(c.pack_command("SET", "k", "ключ")) == b"".join(
        Connection(encoding="cp1251").pack_command("SET", "k", "ключ")
    )


def test_one_packed_class_per_connection_class() -> None:
    packed = packing_in_c(UnixDomainSocketConnection)
    assert issubclass(packed, UnixDomainSocketConnection)
    assert packing_in_c(UnixDomainSocketConnection) is packed
    assert packing_in_c(packed) is packed


async def test_the_shared_pool_talks_to_redis_through_packed_connections(redis_url: str) -> None:
    pool = WaitingConnectionPool.from_url(redis_url, max_connections=2, decode_responses=True)
    client = Redis.from_pool(pool)
    try:
        await client.set("pbxgram:test:ключ", "значение ☎", ex=60)
        async with client.pipeline(transaction=True) as pipe:
            pipe.get("pbxgram:test:ключ")
            pipe.strlen("pbxgram:test:ключ")
            assert await pipe.execute() == ["значение ☎", len("значение ☎".encode())]
        assert pool.connection_class.__name__.startswith("Packed")
    finally:
        await client.aclose()
