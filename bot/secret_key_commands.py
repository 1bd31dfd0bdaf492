"""``pbxgram secret-key rotate``: encrypt every stored secret with a new key.

The new key comes from ``--new-key``, else ``PBXGRAM_NEW_SECRET_KEY``, else the first
line of standard input (piped) or a prompt that does not echo. The old key is
``PBXGRAM_SECRET_KEY``; keys still stored in plaintext are encrypted too.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import TYPE_CHECKING, TextIO

from bot.errors import PbxgramError

if TYPE_CHECKING:
    from bot.config import Settings

NEW_ENV = "PBXGRAM_NEW_SECRET_KEY"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``secret-key`` actions and their options."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    rotate = actions.add_parser(
        "rotate",
        help="re-encrypt every stored secret with a new key",
        description="re-encrypt every stored secret (Mobilon employee keys) with a new key",
    )
    rotate.add_argument(
        "--new-key",
        help=f"the new Fernet key (else {NEW_ENV}, else read from stdin or a prompt)",
    )


def new_key(given: str | None, stream: TextIO | None = None) -> str:
    """The new key: the option, the variable, piped stdin, or a prompt."""
    if given:
        return given.strip()
    if os.environ.get(NEW_ENV, "").strip():
        return os.environ[NEW_ENV].strip()
    stream = stream if stream is not None else sys.stdin
    if stream.isatty():
        return getpass.getpass("New PBXGRAM_SECRET_KEY: ").strip()
    return stream.readline().strip()


async def run(settings: Settings, args: argparse.Namespace) -> str:
    """Re-encrypt every Mobilon key of every configured account; return what to print."""
    from bot.pbx.mobilon.keys import EmployeeKeys
    from bot.secret_box import ENV, box_of
    from bot.storage import open_redis

    old = box_of(settings.pbxgram_secret_key)
    new = box_of(new_key(args.new_key), name="--new-key")
    accounts = [a.id for a in settings.accounts if getattr(a, "stores_secrets", False)]
    lines = []
    async with open_redis(settings) as redis:
        stored = EmployeeKeys(redis, box=old)
        for account in accounts:
            try:
                count = await stored.reseal(account, new)
            except ValueError as exc:
                raise PbxgramError(f"{exc}; nothing further changed") from None
            lines.append(f"{account}: {count} key(s) encrypted with the new key")
    lines.append(f"Now set {ENV} to the new key and restart pbxgram.")
    return "\n".join(lines)
