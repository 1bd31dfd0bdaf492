"""The Mobilon HTTP client: ``CallToSubscriber`` with an employee's key (JSON), call info
and the journal with the account token (``format=xml``, the answers the doc shows), and
recording downloads.

Every secret travels in the query string, as the doc wants, so the URLs never reach a log
line or an error text: the ``httpx`` request log is filtered (:class:`RedactQuerySecrets`)
and errors name only the endpoint. Use :class:`MobilonClient` for every request.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

import httpx
from limits import RateLimitItem, parse
from pydantic import SecretStr

from bot.pbx.base import PbxRateLimited, PbxRejected, PbxUnavailable, transport_error
from bot.pbx.mobilon import codes, safe_xml
from bot.pbx.mobilon.account import MobilonAccount
from bot.pbx.mobilon.journal import JournalEntry, UnexpectedAnswer, call_info, journal
from bot.ratelimit import RateLimitTimeout, SharedRateLimiter

log = logging.getLogger(__name__)

CALL_PATH = "api/call/CallToSubscriber"
INFO_PATH = "api/call/info"
JOURNAL_PATH = "api/call/journal"
XML = "xml"  # the doc's ``format={json|xml}``: its examples are XML
# Mobilon publishes no limits; the bot keeps its polling of one account gentle.
READ_LIMIT: RateLimitItem = parse("3/second")
SECRET_QUERY = re.compile(r"(?i)\b(key|token)=[^&\s\"']+")


class RedactQuerySecrets(logging.Filter):
    """Masks ``key=`` and ``token=`` query values in log lines (httpx logs every URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SECRET_QUERY.sub(r"\1=***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _install_redaction() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, RedactQuerySecrets) for f in httpx_log.filters):
        httpx_log.addFilter(RedactQuerySecrets())


_install_redaction()


class MobilonClient:
    """Requests to one Mobilon account."""

    def __init__(
        self,
        account: MobilonAccount,
        http: httpx.AsyncClient,
        limiter: SharedRateLimiter | None = None,
    ) -> None:
        self.account = account
        self._http = http
        self._limiter = limiter
        self._base = account.base_api_url.rstrip("/") + "/"

    def url(self, path: str) -> str:
        """An absolute URL for a path (``record_url`` comes as ``/api/call/record?...``)."""
        return urljoin(self._base, path)

    async def call_to_subscriber(self, key: SecretStr, number: str) -> str:
        """Ring the employee whose key this is, then ``number``; the ``callid``.

        The answer's ``code`` 1–5 raises PbxRejected with the sentence for it.
        """
        data = await self._get_json(
            CALL_PATH, {"key": key.get_secret_value(), "outboundNumber": number}, limited=False
        )
        code = codes.as_code(data.get("code"))
        result = str(data.get("result") or "").upper()
        if result == "SUCCESS" or (code == codes.SUCCESS and result != "FAIL"):
            return str(data.get("callid") or "")
        raise PbxRejected(
            f"Mobilon CallToSubscriber: code {data.get('code')!r}",
            vendor_code=code if code is not None else str(data.get("code")),
            message_key=codes.message_key(code),
        )

    async def call_info(self, callid: str) -> JournalEntry | None:
        """The finished call ``callid``; None while the PBX has no record of it (an empty
        ``<call/>``, or the doc's ``"result": "FAIL"`` answer)."""
        params = {**self._token(), "callid": callid, "format": XML}
        response = await self._get(INFO_PATH, params)
        if _is_fail(response.content):
            return None
        root = self._xml(INFO_PATH, response)
        try:
            return call_info(root, self.account.journal_tz)
        except UnexpectedAnswer as exc:
            raise PbxUnavailable(f"Mobilon {INFO_PATH}: {exc}") from None

    async def journal(self, day: str) -> list[JournalEntry]:
        """Every call of one day (``YYYY-MM-DD`` in the account's ``journal_zone``)."""
        params = {**self._token(), "date": day, "format": XML}
        response = await self._get(JOURNAL_PATH, params)
        if _is_fail(response.content):
            raise PbxUnavailable(f"Mobilon {JOURNAL_PATH}: the PBX answered FAIL")
        root = self._xml(JOURNAL_PATH, response)
        try:
            return journal(root, self.account.journal_tz)
        except UnexpectedAnswer as exc:
            raise PbxUnavailable(f"Mobilon {JOURNAL_PATH}: {exc}") from None

    async def open_record(self, record_url: str) -> httpx.Response | None:
        """The recording behind ``record_url``, streaming; None while it is not there."""
        await self._wait_for_slot()
        request = self._http.build_request("GET", self.url(record_url))
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise transport_error("Mobilon recording", exc) from None
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 or "json" in content_type or "text" in content_type:
            await response.aclose()
            if response.status_code >= 500:
                raise PbxUnavailable(
                    f"Mobilon recording: HTTP {response.status_code}",
                    vendor_code=response.status_code,
                )
            return None
        return response

    def _token(self) -> dict[str, str]:
        return {"token": self.account.api_token.get_secret_value()}

    async def _get(
        self, path: str, params: dict[str, str], *, limited: bool = True
    ) -> httpx.Response:
        if limited:
            await self._wait_for_slot()
        try:
            response = await self._http.get(self.url(path), params=params)
        except httpx.HTTPError as exc:
            raise transport_error(f"Mobilon {path}", exc) from None
        status = response.status_code
        if status in (401, 403):
            raise PbxRejected(
                f"Mobilon {path}: HTTP {status}",
                vendor_code=status,
                message_key="mobilon.errors.token",
            )
        if status >= 400:
            raise PbxUnavailable(f"Mobilon {path}: HTTP {status}", vendor_code=status)
        return response

    async def _get_json(
        self, path: str, params: dict[str, str], *, limited: bool = True
    ) -> dict[str, Any]:
        response = await self._get(path, params, limited=limited)
        try:
            data = response.json()
        except ValueError:
            raise PbxUnavailable(f"Mobilon {path}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise PbxUnavailable(f"Mobilon {path}: unexpected answer")
        return data

    @staticmethod
    def _xml(path: str, response: httpx.Response) -> Element:
        try:
            return safe_xml.parse(response.content)
        except safe_xml.MalformedXml as exc:
            raise PbxUnavailable(f"Mobilon {path}: {exc}") from None

    async def _wait_for_slot(self) -> None:
        if self._limiter is None:
            return
        try:
            await self._limiter.acquire(READ_LIMIT, "mobilon", self.account.id)
        except RateLimitTimeout:
            raise PbxRateLimited("Mobilon: local rate limit wait too long") from None


def _is_fail(body: bytes) -> bool:
    """True for the doc's failure answer, ``{"result": "FAIL", ...}`` (JSON whatever the
    ``format``: it is the only failure the doc shows)."""
    if not body.lstrip().startswith(b"{"):
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and str(data.get("result") or "").upper() == "FAIL"
