"""A PBX's form is decoded exactly as the standard library decodes it, only faster."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.pbx.wire import form_fields

PIECES = [
    "a", "=", "&", "+", "%", "%2", "%41", "%D0%B0", "%FF", "%zz", ";", "я", " ", "%2B",
    "%26", "%3D", "#", "?", "/", "%25", "\n", "\t", "\x00", "%00", "\\", "%E2%82", "%C0%80",
]  # fmt: skip


def standard(text: str) -> dict[str, list[str]]:
    return parse_qs(text, keep_blank_values=True, strict_parsing=True)


def test_a_signed_mango_form_gives_its_fields_as_sent() -> None:
    text = json.dumps({"call_id": "MToy==", "from": {"number": "+7 900"}, "name": "Иван"})
    body = urlencode({"vpbx_api_key": "key", "sign": "ab" * 32, "json": text})
    assert form_fields(body) == {"vpbx_api_key": ["key"], "sign": ["ab" * 32], "json": [text]}


@pytest.mark.parametrize("body", ["json", "a=1&json", "a=1&&b=2", "&", "a=1&"])
def test_a_piece_without_an_equals_sign_is_refused_as_the_standard_library_refuses_it(
    body: str,
) -> None:
    with pytest.raises(ValueError, match="bad query field"):
        standard(body)
    with pytest.raises(ValueError, match="without '='"):
        form_fields(body)


@given(st.lists(st.sampled_from(PIECES), max_size=24).map("".join))
def test_any_form_decodes_to_what_the_standard_library_gives(body: str) -> None:
    try:
        expected = standard(body)
    except ValueError:
        with pytest.raises(ValueError, match="without '='"):
            form_fields(body)
        return
    assert form_fields(body) == expected
