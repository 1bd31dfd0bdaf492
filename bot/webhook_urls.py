"""The URLs an operator pastes into each PBX's settings, per the routes pbxgram serves."""

from __future__ import annotations

from bot.config import Account, Settings

TELEGRAM_WEBHOOK_PATH = "/telegram/webhook"


def pbx_urls(settings: Settings, account: Account, *, reveal: bool = False) -> list[str]:
    """Human-readable lines naming each URL to paste and where."""
    base = f"{settings.public_base()}/pbx/{account.id}"
    if account.provider == "mango":
        return [
            f"MANGO OFFICE → Integrations → API, 'external system address': {base}",
            f"(events then arrive at {base}/events/call, {base}/events/summary, …;"
            f" command results at {base}/result/callback, …)",
        ]
    if account.provider == "mts":
        return [f"callback URL for /api/service/{account.mode}: {base}/events"]
    if account.provider == "mobilon":
        return [f"Mobilon webhook URL: {base}/incoming?number={{NUMBER}}&key={{KEY}}"]
    secret = account.secret.get_secret_value() if reveal else "<secret>"
    hint = "" if reveal else "  (run with --reveal to print the secret)"
    return [f"relay URL for create_call/update_call: {base}/calls/{secret}{hint}"]
