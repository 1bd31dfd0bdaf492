"""The HTTP side: ``/bot<token>/<method>`` like api.telegram.org, plus injected failures."""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from sandbox.telegram import chat_methods, message_methods
from sandbox.telegram.context import ApiContext
from sandbox.telegram.models import ApiError, UploadedFile
from sandbox.telegram.params import Params, printable, read_params

log = logging.getLogger(__name__)

Method = Callable[[ApiContext, Params], Awaitable[Any]]
METHODS: dict[str, tuple[str, Method]] = {
    name.lower(): (name, handler)
    for name, handler in {**chat_methods.METHODS, **message_methods.METHODS}.items()
}
_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """An injected failure for the next ``remaining`` calls of ``method`` (None: any method)."""

    method: str | None
    status: int
    remaining: int
    retry_after: int = 1
    description: str | None = None
    drop: bool = False

    def error(self) -> ApiError:
        """The answer this fault produces."""
        if self.status == 429:
            return ApiError(
                429,
                self.description or f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )
        default = _DESCRIPTIONS.get(self.status)
        if default is None:
            try:
                default = HTTPStatus(self.status).phrase
            except ValueError:
                default = "Error"
        return ApiError(self.status, self.description or default)


@dataclass
class RandomFaults:
    """Failures drawn at random for each call of ``methods`` (None: any method), like a
    flaky network in front of Telegram: a share answered 429 with a ``retry_after`` drawn
    from ``retry_after`` (inclusive), a share answered a 5xx from ``statuses``, a share
    whose connection is dropped. ``seed`` makes the draws repeatable; ``injected`` counts
    what was injected by kind ("429", "5xx", "drop").
    """

    too_many: float = 0.0
    server_error: float = 0.0
    drop: float = 0.0
    retry_after: tuple[int, int] = (1, 1)
    statuses: tuple[int, ...] = (500, 502, 503, 504)
    methods: frozenset[str] | None = None
    seed: int | None = None
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - test faults, not cryptography
        if self.methods is not None:
            self.methods = frozenset(method.lower() for method in self.methods)

    def draw(self, name: str) -> Fault | None:
        """The fault for this call of ``name``, or None to let it through."""
        if self.methods is not None and name.lower() not in self.methods:
            return None
        roll = self._rng.random()
        if roll < self.too_many:
            self.injected["429"] += 1
            return Fault(name, 429, 1, self._rng.randint(*self.retry_after))
        roll -= self.too_many
        if roll < self.server_error:
            self.injected["5xx"] += 1
            return Fault(name, self._rng.choice(self.statuses), 1)
        if roll - self.server_error < self.drop:
            self.injected["drop"] += 1
            return Fault(name, 0, 1, drop=True)
        return None


def _answer(error: ApiError) -> web.Response:
    return web.json_response(error.payload(), status=error.status)


class BotApi:
    """Serves Bot API calls for one token against an ApiContext."""

    def __init__(
        self,
        ctx: ApiContext,
        token: str,
        faults: list[Fault],
        random_faults: Callable[[], RandomFaults | None] = lambda: None,
    ) -> None:
        self.ctx = ctx
        self.token = token
        self.faults = faults
        self.random_faults = random_faults

    def routes(self) -> list[web.RouteDef]:
        """The Bot API routes (POST and GET, like Telegram)."""
        return [
            web.post("/bot{token}/{method}", self.handle),
            web.get("/bot{token}/{method}", self.handle),
        ]

    def _take_fault(self, name: str) -> Fault | None:
        for fault in self.faults:
            if fault.method is None or fault.method.lower() == name.lower():
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        drawn = self.random_faults()
        return drawn.draw(name) if drawn is not None else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One Bot API call: auth, parse, record, maybe fail on purpose, then run the method."""
        silence = self.ctx.silence
        if silence is not None:  # taken, never answered, never carried out
            self.ctx.swallowed += 1
            await silence.wait()
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=504)
        if request.match_info["token"] != self.token:
            return _answer(ApiError(401, "Unauthorized"))
        found = METHODS.get(request.match_info["method"].lower())
        if found is None:
            return _answer(ApiError(404, "Not Found"))
        name, method = found
        try:
            values = await read_params(request)
        except ApiError as exc:
            self.ctx.state.requests.append((name, {}))
            return self._failed(name, exc)
        self.ctx.state.requests.append((name, printable(values)))
        fault = self._take_fault(name)
        if fault is not None and fault.drop:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault is not None:
            return self._failed(name, fault.error())
        if any(
            isinstance(v, UploadedFile) and v.size > message_methods.MAX_UPLOAD
            for v in values.values()
        ):
            return self._failed(name, ApiError(413, "Request Entity Too Large"))
        try:
            result = await method(self.ctx, Params(values))
        except ApiError as exc:
            return self._failed(name, exc)
        return web.json_response({"ok": True, "result": result})

    def _failed(self, name: str, error: ApiError) -> web.Response:
        self.ctx.state.failures.append((name, error.description))
        self.ctx.state.changed()
        return _answer(error)
