"""``pbxgram set-key``: store an employee's Mobilon key from the shell.

The key is read from standard input (piped) or typed at a prompt that does not echo it,
never taken as an argument, so it stays out of the shell history and the process list.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, TextIO

from bot.accounts import CliCommand
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Settings


def read_key(extension: str, stream: TextIO | None = None) -> str:
    """The key: the first line of ``stream`` (stdin) when piped, else typed at a prompt."""
    stream = stream if stream is not None else sys.stdin
    if stream.isatty():
        return getpass.getpass(f"Mobilon key for extension {extension}: ").strip()
    return stream.readline().strip()


async def set_key(
    settings: Settings, account_id: str, extension: str, stream: TextIO | None = None
) -> str:
    """Store the key read from ``stream`` for ``extension``; the line to print."""
    # Here, not at the top: the account model declares this command and is read with the
    # configuration, which must not wait for Redis clients to load.
    from bot.pbx.mobilon.account import MobilonAccount
    from bot.pbx.mobilon.keys import EXTENSION_PATTERN, EmployeeKeys, looks_like_key
    from bot.secret_box import box_of
    from bot.storage import open_redis

    account = settings.account(account_id)
    if not isinstance(account, MobilonAccount):
        known = ", ".join(a.id for a in settings.accounts if isinstance(a, MobilonAccount))
        raise ConfigError(
            f"--account: no Mobilon account {account_id!r} (Mobilon accounts: {known or 'none'})"
        )
    if not EXTENSION_PATTERN.match(extension):
        raise ConfigError("--extension: digits only, e.g. 101")
    key = read_key(extension, stream)
    if not key:
        raise ConfigError("no key given: pipe it on standard input or type it at the prompt")
    if not looks_like_key(key):
        raise ConfigError(
            "that does not look like a Mobilon key (6–200 Latin letters, digits, - _ .)"
        )
    box = box_of(settings.pbxgram_secret_key)
    async with open_redis(settings) as redis:
        await EmployeeKeys(redis, box=box).set(account.id, extension, key)
    return f"Saved the Mobilon key for extension {extension} of {account.id}."


def _set_key_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True, help="the Mobilon account id")
    parser.add_argument("--extension", required=True, help="the employee's extension, e.g. 101")


async def _run_set_key(settings: Settings, args: argparse.Namespace) -> str:
    return await set_key(settings, args.account, args.extension)


SET_KEY = CliCommand(
    name="set-key",
    help="store an employee's Mobilon key, read from stdin or a prompt",
    add_arguments=_set_key_arguments,
    run=_run_set_key,
)
