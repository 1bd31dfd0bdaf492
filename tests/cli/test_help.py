"""``pbxgram --version`` and ``--help``: every subcommand and option explains itself."""

from __future__ import annotations

import argparse

import pytest

from bot.cli import EPILOG, build_parser, main


def _undocumented(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not helps.get(name):
                    missing.append(f"{path} {name}")
                missing += _undocumented(sub, f"{path} {name}")
        elif not action.help:
            missing.append(f"{path} {action.dest}")
    return missing


def test_every_subcommand_and_option_has_help() -> None:
    assert _undocumented(build_parser(), "pbxgram") == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("pbxgram 0.")


def test_help_points_to_the_environment_table(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["dead-letters", "--help"], ["secret-key", "rotate", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "README.md, section Environment" in capsys.readouterr().out.replace("\n", " ")
    assert "README.md" in EPILOG
