"""``/forward``: the person's "find me" forwarding, where the PBX keeps one (MTS "Найди
меня"): shown, and set with a button to off, ringing their mobile too, after the office
phone, or only the mobile. The mobile is the one ``/mobile`` stored.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import Forwarding, ForwardMode, Link
from bot.formatting import sentence
from bot.pbx.base import Capability, PbxError, Provider
from bot.pbx.providers import Providers
from bot.pbx.registry import pbx_name
from bot.phones import display
from bot.services.call_control import CallControl
from bot.services.dialing import Refusal
from bot.storage import Keys
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.texts import Translator


class ForwardCallback(CallbackData, prefix="fw"):
    """A "find me" mode button under ``/forward``."""

    account: str
    mode: ForwardMode


def build_router() -> Router:
    """``/forward`` and its buttons; linked people only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.callback_query.middleware(RequireLink())
    router.message.register(show_forwarding, Command("forward"))
    router.callback_query.register(set_forwarding, ForwardCallback.filter())
    return router


def _provider(t: Translator, link: Link, settings: Settings, providers: Providers) -> Provider:
    provider = providers.get(link.account)
    if provider is None or not provider.supports(Capability.FORWARDING):
        pbx = pbx_name(settings.account(link.account))
        raise Refusal(t("pbx_unsupported", command="forward", pbx=pbx))
    return provider


async def show_forwarding(
    message: Message,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
) -> None:
    link = next((x for x in identity.links if _supports(providers, x)), identity.links[0])
    try:
        provider = _provider(t, link, settings, providers)
        forwarding = await provider.forwarding(link.extension)
    except Refusal as refused:
        await message.answer(refused.text)
        return
    except PbxError as exc:
        await message.answer(t.label("control.forward.failed", reason=sentence(t, exc)))
        return
    await message.answer(_describe(t, forwarding), reply_markup=_modes(t, link, forwarding))


def _supports(providers: Providers, link: Link) -> bool:
    provider = providers.get(link.account)
    return provider is not None and provider.supports(Capability.FORWARDING)


async def set_forwarding(
    query: CallbackQuery,
    callback_data: ForwardCallback,
    identity: Identity,
    t: Translator,
    settings: Settings,
    providers: Providers,
    call_control: CallControl,
    redis: Redis,
    keys: Keys,
) -> None:
    link = next((x for x in identity.links if x.account == callback_data.account), None)
    if link is None:
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return
    mode = callback_data.mode
    mobile = await redis.get(keys.mobile(identity.telegram_id))
    if mode is not ForwardMode.OFF and not mobile:
        await query.answer(t.label("control.no_mobile"), show_alert=True)
        return
    try:
        await call_control.take_turn(t, identity.telegram_id)
        provider = _provider(t, link, settings, providers)
        forwarding = await provider.set_forwarding(
            link.extension, mode, str(mobile) if mobile else None
        )
    except Refusal as refused:
        await query.answer(refused.text, show_alert=True)
        return
    except PbxError as exc:
        await query.answer(
            t.label("control.forward.failed", reason=sentence(t, exc)), show_alert=True
        )
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _describe(t, forwarding), reply_markup=_modes(t, link, forwarding)
        )


def _describe(t: Translator, forwarding: Forwarding) -> str:
    numbers = ", ".join(display(n) for n in forwarding.numbers)
    return t.label(f"control.forward.{forwarding.mode.value}", numbers=numbers)


def _modes(t: Translator, link: Link, forwarding: Forwarding) -> InlineKeyboardMarkup:
    """A button per mode, the one in force ticked."""
    rows = [
        [
            InlineKeyboardButton(
                text=("✓ " if mode is forwarding.mode else "")
                + t.label(f"control.forward.set_{mode.value}"),
                callback_data=ForwardCallback(account=link.account, mode=mode).pack(),
            )
        ]
        for mode in (
            ForwardMode.PARALLEL,
            ForwardMode.SEQUENTIAL,
            ForwardMode.REDIRECT,
            ForwardMode.OFF,
        )
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)
