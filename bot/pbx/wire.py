"""What travels between the web tier and a provider: the request as received
(:class:`Inbound`), the answer (:class:`Reply`), the routes a provider serves
(:class:`Route`), and recordings streamed from the PBX (:class:`AudioStream`).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from yarl import URL


@dataclass(frozen=True)
class Inbound:
    """One HTTP request from a PBX, as the web tier received it (no framework types)."""

    route: str  # the provider's route name, e.g. "events/call"
    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    params: Mapping[str, str] = field(default_factory=dict)  # route parameters
    # What the provider worked out about this request in one step (verify, receive) and
    # needs again in a later one (parse, acknowledge), so nothing is decoded twice.
    state: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def header(self, name: str) -> str:
        """A request header by name, whatever its case; "" when it was not sent."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")


@dataclass(frozen=True)
class Reply:
    """What the web tier answers a verified, parsed request with."""

    status: int = 200
    json: object = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    """A webhook route a provider serves under ``/pbx/{account}``."""

    method: str
    path: str  # e.g. "/events/call"
    name: str  # handed back as Inbound.route


@dataclass(frozen=True)
class AudioStream:
    """A recording being streamed from the PBX; iterate ``chunks`` once, or call ``aclose``."""

    chunks: AsyncIterator[bytes]
    aclose: Callable[[], Awaitable[None]]
    content_type: str = "audio/mpeg"
    size: int | None = None
    filename: str = "recording.mp3"

    @classmethod
    def from_response(cls, response: httpx.Response, recording_id: str) -> AudioStream:
        """Stream the body of a download the PBX answered (opened with ``stream=True``),
        named after the PBX's recording id."""
        size = response.headers.get("Content-Length")
        return cls(
            chunks=_body_chunks(response),
            aclose=response.aclose,
            content_type=response.headers.get("Content-Type", "audio/mpeg"),
            size=int(size) if size and size.isdigit() else None,
            filename=re.sub(r"[^0-9A-Za-z._-]", "_", recording_id[:40]) + ".mp3",
        )


async def _body_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes(64 * 1024):
            yield chunk
    finally:
        await response.aclose()


def form_fields(text: str) -> dict[str, list[str]]:
    """A form body (``application/x-www-form-urlencoded``), decoded: the same as the
    standard library's ``parse_qs(text, keep_blank_values=True, strict_parsing=True)``,
    ValueError for a piece without ``=`` included, but percent-decoded in C by yarl. Use
    it for every form a PBX posts: a MANGO event is a whole JSON object percent-encoded
    in one field, and decoding it in Python cost a sizeable share of a webhook."""
    if text and not all("=" in piece for piece in text.split("&")):
        raise ValueError("a form field without '='")
    fields: dict[str, list[str]] = {}
    for name, value in URL.build(query_string=text, encoded=True).query.items():
        fields.setdefault(name, []).append(value)
    return fields
