"""Errors of the PBX seam: what a provider raises, for the web tier and for people.

Outbound, every failure is a :class:`PbxError` carrying the vendor code and a
``message_key`` for a plain sentence in ru/en::

    PbxError
    ├── UnsupportedError    the PBX cannot do this at all
    ├── InvalidRequest      refused before sending (bad number, SMS too long)
    ├── PbxRejected         the PBX answered with an error code
    ├── PbxRateLimited      the PBX kept answering "rate limit exceeded"
    ├── PbxUnavailable      network error, timeout or 5xx
    │   └── NoAnswer        sent, but no answer came: the PBX may have done it
    └── NotReady            the thing exists but is not ready yet (a recording, stats)

Inbound, a :class:`WebhookError` refuses a request with its HTTP ``status``.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from bot.domain import CommandTicket
from bot.errors import PbxgramError


class PbxError(PbxgramError):
    """A PBX request failed; ``message_key`` names the sentence to show people."""

    message_key = "pbx_errors.failed"

    def __init__(
        self,
        detail: str,
        *,
        vendor_code: int | str | None = None,
        message_key: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(detail)
        self.vendor_code = vendor_code
        self.params = dict(params or {})
        if message_key is not None:
            self.message_key = message_key


class UnsupportedError(PbxError):
    message_key = "pbx_errors.unsupported"


class InvalidRequest(PbxError):
    message_key = "pbx_errors.invalid"


class PbxRejected(PbxError):
    message_key = "pbx_errors.rejected"


class PbxRateLimited(PbxError):
    message_key = "pbx_errors.rate_limited"


class PbxUnavailable(PbxError):
    message_key = "pbx_errors.unavailable"


class NoAnswer(PbxUnavailable):
    """The request went out but its answer did not come (in time): the PBX may have
    carried it out. ``ticket`` names a command whose result the PBX may still report."""

    message_key = "pbx_errors.no_answer"
    ticket: CommandTicket | None = None


def transport_error(what: str, exc: httpx.HTTPError) -> PbxUnavailable:
    """The PbxError for a request that failed on the way: :class:`NoAnswer` once the
    request may have reached the PBX, :class:`PbxUnavailable` when it surely did not."""
    detail = f"{what}: {exc.__class__.__name__}"
    if isinstance(exc, httpx.ReadTimeout | httpx.ReadError | httpx.RemoteProtocolError):
        return NoAnswer(detail)
    return PbxUnavailable(detail)


class NotReady(PbxError):
    message_key = "pbx_errors.not_ready"


class WebhookError(PbxgramError):
    """An inbound request that must be refused; ``status`` is the HTTP answer."""

    status = 400


class WebhookForbidden(WebhookError):
    """Bad or missing signature/token: 403, with no detail about the expected value."""

    status = 403


class WebhookMalformed(WebhookError):
    """The request is verified but its body cannot be understood: 400."""

    status = 400
