"""Work under one key runs one at a time, in the order it started; other keys never wait."""

from __future__ import annotations

import asyncio

from bot.runtime.keyed_locks import KeyedLocks


async def test_one_key_in_order_others_at_once() -> None:
    locks = KeyedLocks()
    done: list[str] = []

    async def work(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            await asyncio.sleep(pause)
            done.append(name)

    await asyncio.gather(
        work("a", "a1", 0.05), work("a", "a2", 0.0), work("a", "a3", 0.0), work("b", "b1", 0.01)
    )

    assert done == ["b1", "a1", "a2", "a3"]
    assert len(locks) == 0  # nothing kept once nobody uses a key
