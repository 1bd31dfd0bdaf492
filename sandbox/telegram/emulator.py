"""TelegramEmulator: a loopback Bot API server an unmodified aiogram Bot can talk to."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.telegram.context import ApiContext
from sandbox.telegram.control import control_routes
from sandbox.telegram.limits import Limits, RateLimiter
from sandbox.telegram.models import ChatMessage
from sandbox.telegram.people import People
from sandbox.telegram.server import BotApi, Fault, RandomFaults
from sandbox.telegram.state import State
from sandbox.telegram.updates import UpdateQueue, WebhookPusher


class TelegramEmulator(People):
    """Emulated Telegram for end-to-end tests, benchmarks and offline demos.

    Point the bot at ``base_url`` (``TELEGRAM_API_URL``), act as people with ``send_text``,
    ``press_button`` and friends, and read what they see with ``transcript`` or
    ``wait_for_message``.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",  # noqa: S107
        bot_username: str = "pbxgram_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.host = host
        self.port = port
        state = State(self.bot_id, bot_username, clock)
        queue = UpdateQueue(state.signal)
        self._ctx = ApiContext(
            state=state,
            queue=queue,
            pusher=WebhookPusher(queue, state.signal),
            limiter=RateLimiter(limits or Limits(), clock),
        )
        self._next_query_id = 4_000_000_000
        self._faults: list[Fault] = []
        self._random_faults: RandomFaults | None = None
        self._runner: web.AppRunner | None = None

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve; with port 0 a free port is picked (see ``base_url``)."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        api = BotApi(self._ctx, self.token, self._faults, lambda: self._random_faults)
        app.add_routes(api.routes())
        app.add_routes(control_routes(self))
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._ctx.closing = False
        self._ctx.pusher.start()

    async def stop(self) -> None:
        """Stop serving: wake long polls, cancel webhook delivery, close the listener."""
        self._ctx.closing = True
        self._ctx.state.changed()
        await self._ctx.pusher.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://host:port``: what TELEGRAM_API_URL should be."""
        return f"http://{self.host}:{self.port}"

    # --- what the bot did ---------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        """Every Bot API call received with a valid token: (method, params), in order."""
        return self._ctx.state.requests

    @property
    def failures(self) -> list[tuple[str, str]]:
        """Calls answered with an error: (method, description), in order."""
        return self._ctx.state.failures

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """setMyCommands results by (scope key, language code or "")."""
        return self._ctx.state.commands

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The webhook (url, secret_token, allowed_updates, max_connections) or None."""
        return self._ctx.state.webhook

    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        """answerCallbackQuery parameters by callback query id."""
        return self._ctx.state.callback_answers

    @property
    def limits(self) -> Limits:
        """The flood limits in force; assign to change them on the fly."""
        return self._ctx.limiter.limits

    @limits.setter
    def limits(self, value: Limits) -> None:
        self._ctx.limiter.limits = value

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued but not yet confirmed by the bot."""
        return list(self._ctx.queue.pending)

    # --- what people see ----------------------------------------------------------------

    def transcript(self, chat_id: int) -> list[ChatMessage]:
        """All messages in a chat, in order, edits applied and deleted ones gone."""
        return self._ctx.state.transcript(chat_id)

    def bot_messages(self, chat_id: int) -> list[ChatMessage]:
        """Only the bot's messages in a chat."""
        return [m for m in self.transcript(chat_id) if m.from_bot]

    def describe(self, chat_id: int) -> str:
        """The chat as readable text, for assertion messages."""
        lines = []
        for m in self.transcript(chat_id):
            who = "bot" if m.from_bot else "user"
            extra = f" {m.button_texts()}" if m.buttons else ""
            extra += f" [file {m.file['name']}]" if m.file else ""
            edited = " (edited)" if m.edited else ""
            lines.append(f"  #{m.message_id} {who}{edited}: {m.text}{extra}")
        failed = [f"  {method}: {error}" for method, error in self.failures[-5:]]
        text = "\n".join(lines) or "  (empty)"
        return text + ("\nfailed bot calls:\n" + "\n".join(failed) if failed else "")

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[ChatMessage], bool] | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ChatMessage:
        """The first bot message in a chat matching ``predicate``, waiting up to ``timeout``."""
        state = self._ctx.state
        found = await state.signal.wait_until(
            lambda: state.find_bot_message(chat_id, predicate), timeout
        )
        if found is None:
            raise TimeoutError(
                f"no matching bot message in chat {chat_id} within {timeout}s; "
                f"transcript:\n{self.describe(chat_id)}"
            )
        return found

    async def wait_for_callback_answer(
        self,
        callback_query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The answerCallbackQuery parameters for a press, waiting up to ``timeout``."""
        answers = self._ctx.state.callback_answers
        found = await self._ctx.state.signal.wait_until(
            lambda: answers.get(callback_query_id), timeout
        )
        if found is None:
            raise TimeoutError(f"callback query {callback_query_id} was not answered in {timeout}s")
        return found

    # --- failure injection --------------------------------------------------------------

    def inject_error(
        self,
        method: str | None,
        status: int,
        *,
        count: int = 1,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (None: any) fail with ``status``."""
        self._faults.append(Fault(method, status, count, retry_after, description))

    def go_silent(self) -> None:
        """Take connections but never answer (a black hole on the way to Telegram): every
        call from now on hangs until the client gives up, and none is carried out."""
        if self._ctx.silence is None:
            self._ctx.silence = asyncio.Event()

    def answer_again(self) -> None:
        """End :meth:`go_silent`: calls still hanging are dropped, new ones answered."""
        silence, self._ctx.silence = self._ctx.silence, None
        if silence is not None:
            silence.set()

    @property
    def swallowed(self) -> int:
        """How many calls were taken and never answered while silent."""
        return self._ctx.swallowed

    def inject_drop(self, method: str | None, *, count: int = 1) -> None:
        """Make the next ``count`` calls of ``method`` (None: any) lose their connection."""
        self._faults.append(Fault(method, 0, count, drop=True))

    def inject_random_faults(self, faults: RandomFaults | None) -> None:
        """Fail calls at random from now on as ``faults`` says (None: stop); faults queued
        with ``inject_error``/``inject_drop`` still come first.
        """
        self._random_faults = faults
