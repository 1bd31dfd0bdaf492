"""Writes that ride on one round trip with a later write.

Use a :class:`WriteBatch` where a piece of work ends in one write anyway (a call session's
save): what it decided on the way (messages to queue, who is busy) is added to the batch
and sent in the same pipeline, just before that last write.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio.client import Pipeline

Write = Callable[[Pipeline], object]


class WriteBatch:
    """Pipeline commands waiting for the write they go with."""

    def __init__(self) -> None:
        self._writes: list[Write] = []

    def add(self, write: Write) -> None:
        """Queue ``write`` (it adds its commands to the pipeline it is given)."""
        self._writes.append(write)

    def apply(self, pipe: Pipeline) -> int:
        """Add every queued write to ``pipe``, in order; how many commands they added."""
        before = len(pipe.command_stack)
        for write in self._writes:
            write(pipe)
        self._writes.clear()
        return len(pipe.command_stack) - before
