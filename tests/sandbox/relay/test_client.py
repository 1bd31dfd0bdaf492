"""The relay PBX script: curl commands read as curl sends them, and whole calls played."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiohttp import BodyPartReader, web

from sandbox.relay import CurlFile, RelayPbx, parse_curl, silent_wav
from tests.helpers import serving

DOC_CREATE = (  # doc line 53
    "curl --location --request POST 'https://your_domain/api/v2/telephony/calls/@channelKey' "
    "--form 'action=create_call' --form 'direction=outgoing' --form 'phone=777777777' "
    "--form 'call_status=ringing' --form 'comment=start'"
)
DOC_UPDATE = (  # doc line 95
    "curl --location --request POST 'https://your_domain/api/v2/telephony/calls/@channelKey' "
    "--form 'action=update_call' --form 'call_id=725' --form 'call_status=canceled' "
    "--form 'user_id=1' --form 'comment=missed'"
)


def test_the_doc_examples_read_as_their_fields() -> None:
    """Doc lines 53 and 95, the two cURL examples."""
    create = parse_curl(DOC_CREATE)
    assert (create.url, create.method, create.file) == (
        "https://your_domain/api/v2/telephony/calls/@channelKey",
        "POST",
        None,
    )
    assert create.fields == [
        ("action", "create_call"),
        ("direction", "outgoing"),
        ("phone", "777777777"),
        ("call_status", "ringing"),
        ("comment", "start"),
    ]
    assert parse_curl(DOC_UPDATE).fields == [
        ("action", "update_call"),
        ("call_id", "725"),
        ("call_status", "canceled"),
        ("user_id", "1"),
        ("comment", "missed"),
    ]


def test_continued_lines_lists_and_a_file() -> None:
    command = (
        'curl -s -m 3 --retry 3 -X POST "https://bot/pbx/a/calls/s" -F action=update_call \\\n'
        "  -F 'pbx_user_ids[]=101' -F 'pbx_user_ids[]=102' -F 'comment=a b' \\\n"
        "  --form 'audio_record=@/tmp/1.wav;type=audio/x-wav'"
    )
    request = parse_curl(command)
    assert request.url == "https://bot/pbx/a/calls/s"
    assert request.fields == [
        ("action", "update_call"),
        ("pbx_user_ids[]", "101"),
        ("pbx_user_ids[]", "102"),
        ("comment", "a b"),
    ]
    assert request.file == CurlFile("audio_record", "/tmp/1.wav", "audio/x-wav")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("wget https://bot", "not a curl command"),
        ("curl --json '{}' https://bot", "unknown curl option '--json'"),
        ("curl -F action", "--form needs name=value"),
        ("curl -F action=create_call", "no URL"),
    ],
)
def test_what_it_does_not_understand_is_refused(command: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_curl(command)


@dataclass
class Received:
    forms: list[list[tuple[str, str]]] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)


@pytest_asyncio.fixture
async def bot() -> AsyncIterator[tuple[str, Received]]:
    """A stand-in for the bot: keeps each form and answers like it (call_id 1)."""
    received = Received()

    async def calls(request: web.Request) -> web.Response:
        pairs: list[tuple[str, str]] = []
        async for part in await request.multipart():
            assert isinstance(part, BodyPartReader)
            data = await part.read()
            if part.filename:
                received.files.append((part.filename, part.headers["Content-Type"], data))
            else:
                pairs.append((part.name or "", data.decode()))
        received.forms.append(pairs)
        return web.json_response({"data": {"call_id": 1}})

    app = web.Application()
    app.router.add_post("/pbx/a/calls/s", calls)
    async with serving(app) as url:
        yield f"{url}/pbx/a/calls/s", received


async def test_post_curl_sends_the_command_as_curl_would(bot: tuple[str, Received]) -> None:
    url, received = bot
    wav = silent_wav()
    async with RelayPbx(url) as pbx:
        command = f"curl -X POST '{url}' -F action=update_call -F 'audio_record=@/r/1.wav'"
        answer = await pbx.post_curl(command, files={"/r/1.wav": wav})
        assert answer.data == {"call_id": 1}
        with pytest.raises(ValueError, match="does not POST to"):
            await pbx.post_curl(DOC_CREATE)
    assert received.forms == [[("action", "update_call")]]
    assert received.files == [("1.wav", "application/octet-stream", wav)]


async def test_an_outgoing_call_nobody_is_named_for_sends_no_target(
    bot: tuple[str, Received],
) -> None:
    """Doc line 78: no target list at all; extra fields go as given."""
    url, received = bot
    async with RelayPbx(url) as pbx:
        await pbx.play_outbound("777777777", comment="start")
        await pbx.create_call("1", extra={"channel": "SIP/101-01", "pbx_user_ids": ["101"]})
    create, talking, ended, extra = received.forms
    assert [name for name, _ in create] == [
        "action",
        "direction",
        "phone",
        "pbx_call_id",
        "comment",
    ]
    assert ("direction", "outgoing") in create
    assert [name for name, _ in talking] == ["action", "pbx_call_id", "call_status"]
    assert ended == [("action", "update_call"), ("call_id", "1"), ("call_status", "answered")]
    assert {("channel", "SIP/101-01"), ("pbx_user_ids[]", "101")} <= set(extra)
