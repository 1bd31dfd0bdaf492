"""Known-answer tests: expected digests computed outside the code (sha256sum)."""

from __future__ import annotations

from bot.pbx.mango.signing import compact_json, recording_link_sign, sign, signed_form


def test_request_sign_known_answer() -> None:
    # printf %s 'key{"a":1}salt' | sha256sum
    assert sign("key", '{"a":1}', "salt") == (
        "0a14249b7c9fe83386698debbe9dd7e4a3c0adca8a825e1b5b6d2ed4dfb58f00"
    )


def test_signed_form_is_compact_and_signed() -> None:
    payload = {"command_id": "cbk1", "from": {"extension": "101"}, "to_number": "74955404444"}
    form = signed_form("test-key", "test-salt", payload)
    assert (
        form["json"] == '{"command_id":"cbk1","from":{"extension":"101"},"to_number":"74955404444"}'
    )
    # printf %s 'test-key{"command_id":"cbk1",...}test-salt' | sha256sum
    assert form["sign"] == "142865e8f63197d60164c00afb0f7ae1850ca49ebb3648ae7a3d27c84fc42c91"
    assert form["vpbx_api_key"] == "test-key"


def test_cyrillic_is_signed_as_sent() -> None:
    assert compact_json({"text": "Привет"}) == '{"text":"Привет"}'
    # printf %s 'test-key{"text":"Привет"}test-salt' | sha256sum
    assert sign("test-key", '{"text":"Привет"}', "test-salt") == (
        "3a29d2fc94cef33e7d62306d3a60a4be33e0b70b2d9b0c2cdf228fc45ad2b2ff"
    )
    escaped = '{"text":"\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442"}'
    # printf %s 'test-key{"text":"\u041f..."}test-salt' | sha256sum (escapes kept literally)
    assert sign("test-key", escaped, "test-salt") == (
        "4eda47dbacffbcb731b6634f2d775d642b28bd23d78d46dac3de4c6a6a9e2102"
    )


def test_recording_link_sign_known_answer() -> None:
    # printf %s 'k1441894484rec-1s' | sha256sum  (key + timestamp + recording_id + salt)
    assert recording_link_sign("k", 1441894484, "rec-1", "s") == (
        "7e8f42124e92cfb637c40dd57f96dd725333c1f7c498c05172a871728c19a191"
    )
