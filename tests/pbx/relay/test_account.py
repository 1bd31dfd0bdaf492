"""A relay account's settings: the groups ``group_ids[]`` names, checked when the file loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError
from bot.pbx.relay.account import RelayAccount

HEAD = '[[accounts]]\nid = "asterisk"\nprovider = "relay"\nsecret = "3f9c1e7a5b2d48c6a0e4"\n'


def _load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> RelayAccount:
    path = tmp_path / "pbxgram.toml"
    path.write_text(HEAD + text, encoding="utf-8")
    monkeypatch.setenv("PBXGRAM_CONFIG", str(path))
    [account] = load_settings().accounts
    assert isinstance(account, RelayAccount)
    return account


@pytest.mark.parametrize(
    "text",
    [
        'groups = { "5" = ["101", "102"], "7" = ["103"] }\n',
        '[accounts.groups]\n5 = ["101", "102"]\n7 = [103]\n',
    ],
)
def test_groups_map_group_ids_to_extensions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """Doc line 32: ``group_ids[]`` holds numbers; each stands for the extensions listed."""
    account = _load(tmp_path, monkeypatch, text)
    assert account.groups == {"5": ["101", "102"], "7": ["103"]}
    assert account.setup_lines("https://bot.example.com/pbx/asterisk", reveal=False) == [
        "relay URL for create_call/update_call: https://bot.example.com/pbx/asterisk/calls/"
        "<secret>  (run with --reveal to print the secret)",
        "group_ids[]=5 rings 101, 102",
        "group_ids[]=7 rings 103",
    ]


def test_no_groups_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(tmp_path, monkeypatch, "").groups == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'groups = { "05" = ["101"] }\n',
            "accounts[0] (asterisk).groups.05 (the key): a group id is a number as group_ids[] "
            'sends it, e.g. "5"',
        ),
        (
            'groups = { "sales" = ["101"] }\n',
            "accounts[0] (asterisk).groups.sales (the key): a group id is a number",
        ),
        (
            'groups = { "5" = [] }\n',
            "accounts[0] (asterisk).groups.5: must have at least 1 item",
        ),
        (
            'groups = { "5" = ["SIP/101"] }\n',
            'accounts[0] (asterisk).groups.5[0]: an extension is 1 to 10 digits, e.g. "101"',
        ),
        (
            'groups = ["101"]\n',
            "accounts[0] (asterisk).groups: expected a table of names and values",
        ),
    ],
)
def test_bad_groups_stop_loading_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, monkeypatch, text)
    assert str(raised.value).startswith(f"{tmp_path / 'pbxgram.toml'}: {message}")
