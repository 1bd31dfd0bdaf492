"""The incoming-call webhook: ``GET|POST /pbx/{account}/incoming?number={NUMBER}&key={KEY}``.

Mobilon substitutes the caller's number and the key of the employee the call reached.
The key is the proof: it must be one stored for an extension of this account (403
otherwise, before anything else is looked at); a missing number is 400. Finding the
extension and the call id needs Redis, so :func:`prepare` does it before the synchronous
``verify``/``parse`` of the provider seam and hands the result on in ``Inbound.params``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from urllib.parse import parse_qs

from bot.events import CallLegEvent
from bot.pbx.base import Inbound, Route, WebhookForbidden, WebhookMalformed
from bot.pbx.mobilon.followed_calls import CallBook
from bot.pbx.mobilon.keys import EmployeeKeys
from bot.pbx.mobilon.matching import client_key
from bot.pbx.mobilon.outcome import ringing

ROUTES = (Route("GET", "/incoming", "incoming"), Route("POST", "/incoming", "incoming"))
EXTENSION, CALL_ID, AT, NUMBER = "mobilon_extension", "mobilon_call_id", "mobilon_at", "number"
PLACEHOLDERS = {"{NUMBER}", "{NUMBER]"}  # the doc writes it both ways


def values(inbound: Inbound) -> dict[str, str]:
    """``number`` and ``key`` from the query, or from a form body when posted that way."""
    found: dict[str, str] = {}
    content_type = inbound.header("Content-Type")
    if inbound.method == "POST" and "x-www-form-urlencoded" in content_type.lower():
        try:
            form = parse_qs(inbound.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        found.update({name: items[0] for name, items in form.items() if items})
    found.update({name: value for name, value in inbound.query.items()})
    return found


async def prepare(
    inbound: Inbound,
    account: str,
    region: str,
    keys: EmployeeKeys,
    book: CallBook,
    now: datetime,
) -> Inbound:
    """The request with the employee's extension and the call id in its params."""
    given = values(inbound)
    extension = await keys.extension_of(account, given.get("key", "").strip())
    if extension is None:
        raise WebhookForbidden("unknown key")
    number = given.get("number", "").strip()
    if not number or number in PLACEHOLDERS:
        raise WebhookMalformed("missing number")
    call_id = await book.ring(account, number, client_key(number, region), extension, now)
    params = {EXTENSION: extension, CALL_ID: call_id, AT: now.isoformat(), NUMBER: number}
    return replace(inbound, params={**inbound.params, **params})


def verify(inbound: Inbound) -> None:
    """Forbidden unless :func:`prepare` recognised the key."""
    if not inbound.params.get(EXTENSION) or not inbound.params.get(CALL_ID):
        raise WebhookForbidden("unknown key")


def parse(inbound: Inbound, account: str) -> list[CallLegEvent]:
    """The ringing leg the webhook announces."""
    params = inbound.params
    try:
        at = datetime.fromisoformat(params[AT])
        number = params[NUMBER]
    except (KeyError, ValueError):
        raise WebhookMalformed("missing number") from None
    return [ringing(account, params[CALL_ID], number, params[EXTENSION], at)]
