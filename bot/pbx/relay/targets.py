"""Whom a created relay call goes to: the extensions it names, else everyone linked.

Use :func:`group_extensions` before anything is stored (an unknown group id is a 400),
then :func:`targets` for the extensions the call rings.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.pbx.base import WebhookMalformed
from bot.pbx.relay.account import RelayAccount
from bot.pbx.relay.webhooks import RelayRequest
from bot.storage.links import LinkRepository


def group_extensions(account: RelayAccount, group_ids: Sequence[int]) -> list[str]:
    """The extensions of the account's ``groups`` named by ``group_ids``, in order."""
    unknown = [str(group_id) for group_id in group_ids if str(group_id) not in account.groups]
    if unknown:
        known = ", ".join(account.groups) or "none"
        raise WebhookMalformed(
            f"group_ids: no group {', '.join(unknown)} on account {account.id} "
            f"(its groups: {known}; they are set in pbxgram.toml under [accounts.groups])"
        )
    return list(
        dict.fromkeys(
            extension for group_id in group_ids for extension in account.groups[str(group_id)]
        )
    )


async def targets(
    links: LinkRepository, account: str, request: RelayRequest, grouped: Sequence[str]
) -> list[str]:
    """The extensions a created call rings: those named by ``pbx_user_ids``, by a group
    (``grouped``) or by ``user_ids`` (the ones linked); else everyone linked, whichever
    the direction."""
    if request.pbx_user_ids:
        return list(request.pbx_user_ids)
    if grouped:
        return list(grouped)
    if request.user_ids:
        found = [await extension_of(links, account, user_id) for user_id in request.user_ids]
        named = [extension for extension in found if extension is not None]
        if named:
            return named
    return [link.extension for link in await links.of_account(account)]


async def extension_of(links: LinkRepository, account: str, telegram_id: int) -> str | None:
    """The extension ``telegram_id`` is linked to on ``account``."""
    return next(
        (link.extension for link in await links.of_user(telegram_id) if link.account == account),
        None,
    )
