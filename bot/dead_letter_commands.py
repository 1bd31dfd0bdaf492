"""``pbxgram dead-letters list | show ID | replay ID|--all | drop ID|--all``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.errors import PbxgramError

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.dead_letter_store import DeadLetter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``dead-letters`` actions and their options."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="every dead letter: id, when, stream, what, why")
    show = actions.add_parser("show", help="one dead letter with all its fields")
    show.add_argument("id", help="as listed, e.g. events:1733400000000-0")
    for name, text in (
        ("replay", "put back where it came from (events stream or outbox), then remove"),
        ("drop", "remove for good"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("id", nargs="?", help="as listed, e.g. outbox:1733400000000-0")
        action.add_argument("--all", action="store_true", help="every dead letter")


async def run(settings: Settings, args: argparse.Namespace) -> str:
    """Do the action; return what to print (secrets masked, as in the log)."""
    from bot.logs import RedactSecrets, secret_values

    return RedactSecrets(secret_values(settings)).redact(await _run(settings, args))


async def _run(settings: Settings, args: argparse.Namespace) -> str:
    from bot.audit_commands import CLI_ACTOR
    from bot.dead_letter_store import DeadLetters
    from bot.services.audit import AuditLog
    from bot.storage import Keys, open_redis

    if args.action in ("replay", "drop") and bool(args.id) == bool(args.all):
        raise PbxgramError(f"dead-letters {args.action}: give one ID or --all")
    async with open_redis(settings) as redis:
        box = DeadLetters(redis)
        if args.action == "list":
            return list_report(await box.all())
        if args.action == "show":
            return show_report(await box.get(args.id))
        letters = await box.all() if args.all else [await box.get(args.id)]
        audit = AuditLog(
            redis,
            Keys(),
            max_entries=settings.audit_max_entries,
            retention_days=settings.audit_retention_days,
        )
        lines = []
        for letter in letters:
            if args.action == "replay":
                lines.append(f"{letter.id}: replayed to {await box.replay(letter)}")
            else:
                await box.drop(letter)
                lines.append(f"{letter.id}: dropped")
            details = {"id": letter.id, "stream": letter.stream}
            await audit.record(f"dead_letter_{args.action}", actor=CLI_ACTOR, details=details)
        return "\n".join(lines) or "No dead letters."


def list_report(letters: list[DeadLetter]) -> str:
    if not letters:
        return "No dead letters."
    lines = [f"{len(letters)} dead letter(s):"]
    for letter in letters:
        lines.append(
            f"{letter.id}  {letter.failed_at:%Y-%m-%d %H:%M:%S}Z  {letter.stream}  "
            f"{letter.what()}: {letter.reason}"
        )
    return "\n".join(lines)


def show_report(letter: DeadLetter) -> str:
    lines = [
        f"id: {letter.id}",
        f"set aside: {letter.failed_at:%Y-%m-%d %H:%M:%S} UTC",
        f"dead-letter stream: {letter.stream}",
        f"came from: {letter.fields.get('source', letter.stream.removesuffix(':dead'))}",
        f"what: {letter.what()}",
        f"why: {letter.reason}",
        "fields:",
    ]
    lines += [f"  {name}: {value}" for name, value in sorted(letter.fields.items())]
    return "\n".join(lines)
