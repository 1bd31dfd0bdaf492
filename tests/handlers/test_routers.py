"""The handlers package builds fresh routers that ask only for what the Dispatcher injects."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

from aiogram import Dispatcher, Router

from bot.telegram.handler_data import HandlerData
from handlers import build_router

# CallbackData.filter() and Command() add these; RepliesToCall() the call a reply is about
FROM_FILTERS = {"callback_data", "command", "call_account", "call_id"}


def handlers_of(root: Router) -> Iterator[tuple[str, inspect.Signature]]:
    for router in root.chain_tail:
        for observer in router.observers.values():
            for handler in observer.handlers:
                yield handler.callback.__qualname__, inspect.signature(handler.callback)


def test_each_dispatcher_gets_its_own_routers() -> None:
    first, second = build_router(), build_router()
    Dispatcher().include_router(first)
    Dispatcher().include_router(second)
    assert not set(map(id, first.chain_tail)) & set(map(id, second.chain_tail))


def test_handlers_ask_only_for_injected_names() -> None:
    known = set(HandlerData.__annotations__) | FROM_FILTERS
    handlers = list(handlers_of(build_router()))
    assert handlers
    for name, signature in handlers:
        wanted = list(signature.parameters)[1:]  # the event comes first
        assert set(wanted) <= known, (name, set(wanted) - known)
