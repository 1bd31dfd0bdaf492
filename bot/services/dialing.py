"""Starting a call or an SMS for a person: from their own extension, within their limits,
through the provider seam, announced in a message that :class:`CommandResults` edits.

Use :class:`Dialer` from handlers; it raises :class:`Refusal` (with the sentence to show)
when nothing was started, and reports everything after the announcement in that message.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import phonenumbers
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ReplyParameters
from limits import RateLimitItem, parse

from bot.config import Settings
from bot.domain import CommandTicket, Link
from bot.formatting import reason
from bot.pbx.base import Capability, NoAnswer, PbxError, Provider
from bot.pbx.providers import Providers
from bot.pbx.registry import pbx_name
from bot.phones import normalise
from bot.pipeline.command_results import (
    CommandKind,
    CommandReport,
    CommandResults,
    Progress,
    render,
    render_refusal,
    render_unanswered,
)
from bot.ratelimit import SharedRateLimiter
from bot.services.outgoing_lines import OutgoingLines
from bot.texts import Translator

NUMBER_TOKEN = re.compile(r"^[+\d()\-.]+$")
MAX_NUMBER_TOKENS = 6


class Refusal(Exception):
    """Nothing was started; ``text`` tells the person why."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def find_number(text: str, region: str) -> str | None:
    """The first phone number written anywhere in ``text``, in E.164."""
    matches = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE)
    for match in matches:
        number = normalise(match.raw_string, region)
        if number is not None:
            return number
    return None


def split_number(args: str, region: str) -> tuple[str | None, str]:
    """``"+7 999 123-45-67 Hello"`` -> (``"+79991234567"``, ``"Hello"``).

    The number is a run of leading number-like words (it may be written with spaces): the
    longest that is a valid number, else the longest that may be one; None when none reads.
    """
    words = args.split()
    readable: list[tuple[int, str]] = []
    for count in range(1, min(len(words), MAX_NUMBER_TOKENS) + 1):
        if not NUMBER_TOKEN.match(words[count - 1]):
            break
        number = normalise(" ".join(words[:count]), region)
        if number is not None:
            readable.append((count, number))
    if not readable:
        return None, args.strip()
    valid = [(count, number) for count, number in readable if _is_valid(number)]
    count, number = (valid or readable)[-1]
    parts = args.split(None, count)
    return number, parts[count].strip() if len(parts) > count else ""


def _is_valid(e164: str) -> bool:
    return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))


class Dialer:
    """Place calls and send SMS for linked people."""

    def __init__(
        self,
        bot: Bot,
        settings: Settings,
        providers: Providers,
        limiter: SharedRateLimiter,
        results: CommandResults,
        lines: OutgoingLines | None = None,
    ) -> None:
        self._bot = bot
        self._lines = lines
        self._settings = settings
        self._providers = providers
        self._limiter = limiter
        self._results = results
        self._limits = {
            CommandKind.CALL: parse(settings.call_limit),
            CommandKind.SMS: parse(settings.sms_limit),
            CommandKind.GROUP_CALL: parse(settings.call_limit),
            CommandKind.CALL_RETURN: parse(settings.call_limit),
            CommandKind.REDIAL: parse(settings.call_limit),
        }

    def region(self, link: Link) -> str:
        """How numbers without a country code are read for ``link``'s account."""
        account = self._settings.account(link.account)
        return account.region if account else "RU"

    def provider(self, t: Translator, link: Link, capability: Capability) -> Provider:
        """The account's provider if it can do ``capability``; else a Refusal in words."""
        provider = self._providers.get(link.account)
        if provider is not None and provider.supports(capability):
            return provider
        account = self._settings.account(link.account)
        command = "sms" if capability is Capability.SMS else "call"
        raise Refusal(t("pbx_unsupported", command=command, pbx=pbx_name(account)))

    def check_sms(self, t: Translator, link: Link, text: str) -> None:
        """Refusal when the account cannot send SMS or would refuse ``text`` (its length)."""
        provider = self.provider(t, link, Capability.SMS)
        try:
            provider.check_sms(text)
        except PbxError as exc:
            raise Refusal(reason(t, exc.message_key, **exc.params)) from None

    async def call(
        self, t: Translator, link: Link, number: str, chat_id: int, *, reply_to: int | None = None
    ) -> None:
        """Ring ``link``'s extension, then ``number`` (E.164); announce it in ``chat_id``."""
        provider = self.provider(t, link, Capability.CALLBACK)
        line = None  # the line as chosen when the person asked, not when the PBX is asked
        if self._lines is not None and provider.supports(Capability.OUTGOING_LINE):
            line = await self._lines.for_call(link, number)
        report = await self._start(
            t, link, CommandKind.CALL, chat_id, reply_to, extension=link.extension, number=number
        )
        await self._carry_out(
            t,
            report,
            lambda: provider.callback(link.extension, number.lstrip("+"), line_number=line),
        )

    async def call_last(
        self, t: Translator, link: Link, chat_id: int, *, redial: bool, reply_to: int | None = None
    ) -> None:
        """Ring ``link``'s extension, then its last caller (``redial``: the number it last
        dialled), where the PBX keeps them; announce it in ``chat_id``."""
        provider = self.provider(t, link, Capability.CALL_RETURN)
        kind = CommandKind.REDIAL if redial else CommandKind.CALL_RETURN
        report = await self._start(
            t, link, kind, chat_id, reply_to, extension=link.extension, number=""
        )
        ask = provider.redial if redial else provider.call_return
        await self._carry_out(t, report, lambda: ask(link.extension))

    async def call_group(
        self,
        t: Translator,
        link: Link,
        group: str,
        group_name: str,
        number: str,
        chat_id: int,
        *,
        line_number: str | None = None,
        reply_to: int | None = None,
    ) -> None:
        """Have the PBX ring ``group`` (its extension), then ``number``, on behalf of
        ``link``'s person; announced in ``chat_id``."""
        provider = self.provider(t, link, Capability.GROUP_CALLBACK)
        report = await self._start(
            t, link, CommandKind.GROUP_CALL, chat_id, reply_to, extension=group_name, number=number
        )
        await self._carry_out(
            t,
            report,
            lambda: provider.callback_group(group, number.lstrip("+"), line_number=line_number),
        )

    async def sms(
        self,
        t: Translator,
        link: Link,
        number: str,
        text: str,
        chat_id: int,
        *,
        reply_to: int | None = None,
    ) -> None:
        """Send ``text`` to ``number`` from ``link``'s extension; announce it in ``chat_id``."""
        self.check_sms(t, link, text)
        provider = self.provider(t, link, Capability.SMS)
        report = await self._start(
            t,
            link,
            CommandKind.SMS,
            chat_id,
            reply_to,
            extension=link.extension,
            number=number,
            text=text,
        )
        await self._carry_out(
            t, report, lambda: provider.send_sms(link.extension, number.lstrip("+"), text)
        )

    async def _start(
        self,
        t: Translator,
        link: Link,
        kind: CommandKind,
        chat_id: int,
        reply_to: int | None,
        *,
        extension: str,
        number: str,
        text: str = "",
    ) -> CommandReport:
        """Take the person's turn for ``kind``, then announce the command in ``chat_id``."""
        await self._take_turn(t, kind, link)
        report = CommandReport(
            kind=kind,
            chat_id=chat_id,
            slot="",
            language=t.language,
            extension=extension,
            number=number,
            text=text,
        )
        return await self._announce(t, report, reply_to)

    async def _take_turn(self, t: Translator, kind: CommandKind, link: Link) -> None:
        item = self._limits[kind]
        if await self._limiter.try_acquire(item, "user", kind.value, str(link.telegram_id)):
            return
        template = "sms_limited" if kind is CommandKind.SMS else "call_limited"
        raise Refusal(t(template, amount=item.amount, period=period(t, item)))

    async def _announce(
        self, t: Translator, report: CommandReport, reply_to: int | None
    ) -> CommandReport:
        """Send the first message and make it editable; the report with its slot."""
        text = render(t, report, Progress())
        reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        try:
            sent = await self._bot.send_message(
                report.chat_id, text, reply_parameters=reply if reply_to else None
            )
        except (TelegramForbiddenError, TelegramBadRequest):
            raise Refusal(t.label("calling.answers.no_chat")) from None
        slot = await self._results.adopt(report.chat_id, sent.message_id, text)
        return report.model_copy(update={"slot": slot})

    async def _carry_out(
        self,
        t: Translator,
        report: CommandReport,
        request: Callable[[], Awaitable[CommandTicket]],
    ) -> None:
        """Send the PBX ``request``, then follow its result in the announcement. With no
        answer in time the PBX may still carry it out: say so rather than "failed", and
        still follow the result it may report."""
        try:
            ticket = await request()
        except NoAnswer as exc:
            await self._results.show(report, render_unanswered(t, report))
            if exc.ticket is not None:
                await self._results.track(exc.ticket, report)
            return
        except PbxError as exc:
            why = reason(t, exc.message_key, **exc.params)
            await self._results.show(report, render_refusal(t, report, why))
            return
        await self._results.track(ticket, report)


def period(t: Translator, item: RateLimitItem) -> str:
    """``minute`` / ``2 hours`` in words, for a limit like ``10/minute``."""
    unit = item.GRANULARITY.name
    if item.multiples == 1:
        return t.label(f"calling.periods.one.{unit}")
    return t.label(f"calling.periods.many.{unit}", n=item.multiples)
