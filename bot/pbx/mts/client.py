"""The MTS VPBX REST client: ``X-AUTH-TOKEN`` on every request, HTTP answers as errors.

Use :class:`MtsClient` for every request to the account's ``api_url``. The API answers
errors with bare HTTP statuses (the doc gives no error body), so each status is mapped to a
:class:`~bot.pbx.base.PbxError` with a sentence in ``templates/<lang>/mts.toml``::

    400 → InvalidRequest   mts.errors.bad_request
    401 → PbxRejected      mts.errors.token        (the API token is wrong or revoked)
    403 → PbxRejected      mts.errors.forbidden    (the service is not enabled for the abonent)
    404 → PbxRejected      mts.errors.not_found    (no such abonent, call, subscription or rule)
    429 → PbxRateLimited   after a few retries
    5xx, network errors → PbxUnavailable
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import ValidationError

from bot.pbx.base import (
    InvalidRequest,
    NotReady,
    PbxError,
    PbxRateLimited,
    PbxRejected,
    PbxUnavailable,
    transport_error,
)
from bot.pbx.mts.account import MtsAccount
from bot.pbx.mts.find_me import (
    DEFAULT_RINGS,
    MAX_NUMBERS,
    FindMe,
    FindMeMode,
    FindMeRules,
    find_me_number,
    rule_body,
)

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0)  # after HTTP 429
STATUS_KEYS: dict[int, tuple[type[PbxError], str]] = {
    400: (InvalidRequest, "mts.errors.bad_request"),
    401: (PbxRejected, "mts.errors.token"),
    403: (PbxRejected, "mts.errors.forbidden"),
    404: (PbxRejected, "mts.errors.not_found"),
}
RECORDING_PENDING = {404, 429, 503}  # section 4.9: the file is not in the storage (yet)
HISTORY_PAGE_SIZE = 100
SERVICES = ("apicrm", "webhook")


def error_for(what: str, status: int) -> PbxError:
    """The PbxError for an HTTP error status of the MTS API."""
    if status == 429:
        return PbxRateLimited(f"MTS {what}: HTTP 429", vendor_code=429)
    if status >= 500:
        return PbxUnavailable(f"MTS {what}: HTTP {status}", vendor_code=status)
    kind, key = STATUS_KEYS.get(status, (PbxRejected, "mts.errors.refused"))
    return kind(
        f"MTS {what}: HTTP {status}", vendor_code=status, message_key=key, params={"code": status}
    )


class MtsClient:
    """Requests to one MTS VPBX account, authorised by its API token."""

    def __init__(
        self,
        account: MtsAccount,
        http: httpx.AsyncClient,
        *,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.account = account
        self._http = http
        self._retry_delays = retry_delays
        self._base = account.base_api_url.rstrip("/") + "/"
        self.page_size = HISTORY_PAGE_SIZE

    def url(self, path: str) -> str:
        return self._base + path.lstrip("/")

    @property
    def _headers(self) -> dict[str, str]:
        return {"X-AUTH-TOKEN": self.account.api_token.get_secret_value()}

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send; retry HTTP 429 a few times; raise PbxError for any other error status."""
        for delay in (*self._retry_delays, None):
            try:
                response = await self._http.request(
                    method, self.url(path), params=params, json=json, headers=self._headers
                )
            except httpx.HTTPError as exc:
                raise transport_error(f"MTS {method} {path}", exc) from None
            if response.status_code == 429 and delay is not None:
                log.info("MTS %s %s rate limited, retrying in %.1fs", method, path, delay)
                await asyncio.sleep(delay)
                continue
            if response.status_code >= 400:
                raise error_for(f"{method} {path}", response.status_code)
            return response
        raise PbxRateLimited(f"MTS {method} {path}: rate limit exceeded", vendor_code=429)

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        response = await self.request(method, path, params=params, json=json)
        try:
            return response.json()
        except ValueError:
            raise PbxUnavailable(f"MTS {method} {path}: answer is not JSON") from None

    # directory (4.4, 4.10) ----------------------------------------------------------
    async def abonents(
        self, *, phone_number: str | None = None, extension: str | None = None
    ) -> list[dict[str, Any]]:
        params = {"phoneNumber": phone_number, "extension": extension}
        data = await self.json("GET", "api/abonents", params={k: v for k, v in params.items() if v})
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    async def groups(self) -> list[dict[str, Any]]:
        data = await self.json("GET", "api/groups")
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    # call history (4.5) -------------------------------------------------------------
    async def call_history(
        self, scope: str = "enterprise", **filters: str | int
    ) -> list[dict[str, Any]]:
        """Every record of ``api/v1/callHistory/<scope>`` (``enterprise``, ``user/{id}``,
        ``group/{id}``) matching ``filters``, reading page after page."""
        records: list[dict[str, Any]] = []
        page = 0
        while True:
            data = await self.json(
                "GET",
                f"api/v1/callHistory/{scope}",
                params={**filters, "page": page, "size": self.page_size},
            )
            if not isinstance(data, dict):
                raise PbxUnavailable("MTS callHistory: unexpected answer")
            content = data.get("content") or []
            records.extend(item for item in content if isinstance(item, dict))
            page += 1
            if not content or page >= int(data.get("totalPages") or 0):
                return records

    # subscriptions (4.6) ------------------------------------------------------------
    async def subscribe(self, abonent_id: int) -> dict[str, Any]:
        """``{"expires": seconds, "subscriptionId": ...}`` of a new subscription."""
        return _subscription(
            await self.json("POST", "api/subscription", json={"abonentId": abonent_id})
        )

    async def subscription(self, abonent_id: int, subscription_id: str) -> dict[str, Any]:
        body = {"abonentId": abonent_id, "subscriptionId": subscription_id}
        return _subscription(await self.json("GET", "api/subscription", json=body))

    async def renew(self, abonent_id: int, subscription_id: str) -> dict[str, Any]:
        body = {"abonentId": abonent_id, "subscriptionId": subscription_id}
        return _subscription(await self.json("PUT", "api/subscription", json=body))

    async def unsubscribe(self, abonent_id: int, subscription_id: str) -> None:
        body = {"abonentId": abonent_id, "subscriptionId": subscription_id}
        await self.request("DELETE", "api/subscription", json=body)

    async def enable(self, service: str, callback_url: str, client_api_key: str) -> None:
        """Turn on ``apicrm`` or ``webhook`` notifications to ``callback_url`` (4.1, 4.2);
        this also resets the PBX's count of failed deliveries."""
        if service not in SERVICES:
            raise ValueError(f"unknown MTS service {service!r}")
        await self.request(
            "POST",
            f"api/service/{service}",
            json={"callbackUrl": callback_url, "clientApiKey": client_api_key},
        )

    # calls (4.8) --------------------------------------------------------------------
    async def active_calls(self, user_id: int) -> list[dict[str, Any]]:
        data = await self.json("GET", f"api/user/{user_id}/calls")
        return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []

    async def call_info(self, user_id: int, call_id: str) -> dict[str, Any]:
        data = await self.json("GET", f"api/user/{user_id}/calls/{call_id}")
        return data if isinstance(data, dict) else {}

    async def dial(self, user_id: int, address: str) -> None:
        """Click-to-call: ring the abonent, then ``address`` (``+79101234567``)."""
        params = {"address": f"tel:{address}"}
        await self.request("POST", f"api/user/{user_id}/calls", params=params)

    async def hangup(self, user_id: int, call_id: str) -> None:
        await self.request("DELETE", f"api/user/{user_id}/calls/{call_id}")

    async def blind_transfer(self, user_id: int, call_id: str, address: str) -> None:
        await self.request(
            "PUT", f"api/user/{user_id}/calls/{call_id}/BlindTransfer", params={"address": address}
        )

    async def consult_transfer(self, user_id: int, call_id: str, call_id2: str) -> None:
        await self.request("PUT", f"api/user/{user_id}/calls/{call_id}/ConsultTransfer/{call_id2}")

    async def call_return(self, user_id: int) -> dict[str, Any]:
        data = await self.json("POST", f"api/user/{user_id}/calls/CallReturn")
        return data if isinstance(data, dict) else {}

    async def last_number_redial(self, user_id: int) -> dict[str, Any]:
        data = await self.json("POST", f"api/user/{user_id}/calls/LastNumberRedial")
        return data if isinstance(data, dict) else {}

    # "Найди меня" (4.11) -------------------------------------------------------------
    async def find_me_rules(self, user_id: int) -> FindMeRules:
        """Every forwarding rule of the abonent, as the PBX keeps them."""
        data = await self.json("GET", f"api/findMe/{user_id}")
        try:
            return FindMeRules.model_validate(data)
        except ValidationError:
            raise PbxUnavailable("MTS findMe: unexpected answer") from None

    async def find_me(self, user_id: int) -> FindMe:
        """The abonent's "Найди меня" as one mode and its numbers."""
        return FindMe.of(await self.find_me_rules(user_id))

    async def set_find_me(
        self,
        user_id: int,
        mode: FindMeMode,
        numbers: Sequence[str] = (),
        *,
        rings: int = DEFAULT_RINGS,
    ) -> FindMe:
        """Put the abonent's calls through ``mode``: OFF deletes every rule; PARALLEL and
        SEQUENTIAL ring ``numbers`` (up to ten; ``rings`` each, one after another, for
        SEQUENTIAL) and REDIRECT sends calls to its one number. The first rule of that
        mode is updated (or one added) before any other rule is deleted, so a refusal
        leaves the old settings. Numbers may be extensions or phone numbers in any
        common notation; InvalidRequest before any request when they do not fit the
        mode. What the PBX keeps afterwards."""
        wanted = list(dict.fromkeys(find_me_number(number) for number in numbers))
        _check_find_me(mode, wanted, rings)
        rules = await self.find_me_rules(user_id)
        keep = None
        if mode is not FindMeMode.OFF:
            keep = next(iter(rules.ids(mode)), None)
            body = rule_body(mode, wanted, rings=rings, rule_id=keep)
            if keep is None:
                await self.request("POST", f"api/findMe/{user_id}/{mode.value}", json=body)
            else:
                await self.request("PUT", f"api/findMe/{user_id}/{mode.value}/{keep}", json=body)
        for each in FindMeMode:
            for rule_id in rules.ids(each):
                if rule_id != keep or each is not mode:
                    await self.delete_find_me_rule(user_id, each, rule_id)
        return await self.find_me(user_id)

    async def delete_find_me_rule(self, user_id: int, mode: FindMeMode, rule_id: int) -> None:
        await self.request("DELETE", f"api/findMe/{user_id}/{mode.value}/{rule_id}")

    # recordings (4.9) ---------------------------------------------------------------
    async def recording(self, ext_tracking_id: str) -> httpx.Response:
        """The mp3 of a conversation, streaming (the caller closes it); NotReady while the
        storage answers 404, 429 or 503."""
        request = self._http.build_request(
            "GET", self.url(f"api/callRecording/mp3/{ext_tracking_id}"), headers=self._headers
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error("MTS recording", exc) from None
        if response.status_code == 200:
            return response
        await response.aclose()
        if response.status_code in RECORDING_PENDING:
            raise NotReady(
                f"MTS recording {ext_tracking_id}: HTTP {response.status_code}",
                vendor_code=response.status_code,
            )
        raise error_for("GET api/callRecording/mp3", response.status_code)


def _check_find_me(mode: FindMeMode, numbers: list[str], rings: int) -> None:
    problem = None
    if mode is FindMeMode.OFF and numbers:
        problem = "OFF takes no numbers"
    elif mode is not FindMeMode.OFF and not numbers:
        problem = f"{mode.value} needs a number"
    elif mode is FindMeMode.REDIRECT and len(numbers) > 1:
        problem = "a redirect goes to one number"
    elif len(numbers) > MAX_NUMBERS:
        problem = f"at most {MAX_NUMBERS} numbers"
    elif mode is FindMeMode.SEQUENTIAL and rings < 1:
        problem = "rings must be at least 1"
    if problem is not None:
        raise InvalidRequest(
            f"MTS findMe: {problem}", message_key="mts.errors.bad_request", params={"code": 400}
        )


def _subscription(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not data.get("subscriptionId"):
        raise PbxUnavailable("MTS subscription: no subscriptionId in the answer")
    return data
