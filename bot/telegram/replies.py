"""Replies several routers give in the same words."""

from __future__ import annotations

from bot.services.access import Access
from bot.texts import Translator


def account_problem(t: Translator, access: Access, account_id: str | None) -> str:
    """Why no account could be chosen: none configured, one must be named, or unknown."""
    ids = [account.id for account in access.settings.accounts]
    if not ids:
        return t("no_accounts")
    if account_id is None:
        return t("account_required", accounts=ids)
    return t("account_unknown", account=account_id, accounts=ids)
