"""A request that failed on the way: "unavailable" when it surely never reached the PBX,
"no answer" (it may have been carried out) once it may have."""

from __future__ import annotations

import httpx
import pytest

from bot.pbx.base import NoAnswer, PbxUnavailable, transport_error

REQUEST = httpx.Request("POST", "https://pbx.example/commands/callback")


@pytest.mark.parametrize(
    ("error", "kind", "key"),
    [
        (httpx.ConnectError("refused", request=REQUEST), PbxUnavailable, "pbx_errors.unavailable"),
        (httpx.ConnectTimeout("slow", request=REQUEST), PbxUnavailable, "pbx_errors.unavailable"),
        (httpx.PoolTimeout("busy", request=REQUEST), PbxUnavailable, "pbx_errors.unavailable"),
        (httpx.ReadTimeout("late", request=REQUEST), NoAnswer, "pbx_errors.no_answer"),
        (httpx.ReadError("reset", request=REQUEST), NoAnswer, "pbx_errors.no_answer"),
        (httpx.RemoteProtocolError("cut", request=REQUEST), NoAnswer, "pbx_errors.no_answer"),
    ],
)
def test_transport_errors(error: httpx.HTTPError, kind: type[PbxUnavailable], key: str) -> None:
    failure = transport_error("MANGO commands/callback", error)
    assert type(failure) is kind
    assert failure.message_key == key
    assert str(failure) == f"MANGO commands/callback: {type(error).__name__}"
