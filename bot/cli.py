"""The ``pbxgram`` command line: parse arguments, load settings, run one command.

Every expected failure ends as one plain line on stderr: exit 2 for configuration
mistakes, 1 for anything else that stops the program.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from bot import audit_commands, dead_letter_commands, secret_key_commands
from bot.config import Settings, load_settings
from bot.domain import Role
from bot.errors import ConfigError, PbxgramError
from bot.logs import configure_logging
from bot.pbx.registry import cli_commands
from bot.runtime.event_loop import run_service
from bot.secret_box import settings_box
from bot.webhook_urls import TELEGRAM_WEBHOOK_PATH, pbx_urls

if TYPE_CHECKING:
    from bot.services.phonebook import PhonebookEntry


EPILOG = (
    "Settings come from environment variables and the PBXGRAM_CONFIG accounts file: "
    "see the table in README.md, section Environment."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pbxgram", description="Telegram bot for cloud PBX telephony.", epilog=EPILOG
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, epilog=EPILOG)

    command("run", "everything in one process: web, workers, Telegram")
    command("web", "the web role alone: PBX webhooks, health, metrics")
    command("worker", "the worker role alone (and Telegram long polling)")
    check = command("check-config", "validate the configuration and print the URLs for each PBX")
    check.add_argument(
        "--reveal", action="store_true", help="print secret parts of URLs instead of a mask"
    )
    link = command("link", "link a Telegram user to a PBX extension")
    link.add_argument("--account", required=True, help="the account id from PBXGRAM_CONFIG")
    link.add_argument("--extension", required=True, help="the PBX extension, digits, e.g. 101")
    link.add_argument(
        "--telegram-id", required=True, type=int, help="the user's numeric Telegram id"
    )
    link.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.REP.value,
        help="what the user may do (default: rep)",
    )
    phonebook = command("phonebook", "the company's phonebook: client names shown on cards")
    phonebook_commands = phonebook.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = phonebook_commands.add_parser(
        "import", help="replace the phonebook with a CSV file (phone, name, organisation)"
    )
    load.add_argument("file", help="CSV with a header row; comma or semicolon separated")
    load.add_argument(
        "--region", help="country of numbers written without one (default: the first account's)"
    )
    forget = command(
        "forget", "remove a client's number from everything pbxgram stores (all accounts)"
    )
    forget.add_argument("number", help="the number in any form, e.g. +79001234567 or 89001234567")
    forget.add_argument(
        "--region", help="country of a number written without one (default: each account's)"
    )
    dead_letter_commands.add_arguments(
        command("dead-letters", "events and messages that kept failing: list, replay, drop")
    )
    secret_key_commands.add_arguments(
        command("secret-key", "the key secrets kept in Redis are encrypted with")
    )
    audit_commands.add_arguments(
        command("audit", "the audit trail: who linked, invited, subscribed, marked spam…")
    )
    for extra in cli_commands():
        extra.add_arguments(command(extra.name, extra.help))
    demo = command(
        "demo", "offline sandbox: the real bot through a scripted morning, then the chats"
    )
    demo.add_argument("-v", "--verbose", action="store_true", help="log at INFO, not WARNING")
    demo.add_argument(
        "--keep-running", action="store_true", help="stay up afterwards to play more calls"
    )
    _with_epilog(parser)
    return parser


def _with_epilog(parser: argparse.ArgumentParser) -> None:
    """Every (sub)command's help ends pointing to the environment table."""
    parser.epilog = parser.epilog or EPILOG
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _with_epilog(sub)


def _version() -> str:
    try:
        return version("pbxgram")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":  # its own settings: no token, no PBX account needed
            from sandbox.demo import run_demo

            return run_demo(verbose=args.verbose, keep_running=args.keep_running)
        settings = load_settings()
        settings_box(settings)  # PBXGRAM_SECRET_KEY, where stored secrets need it
        configure_logging(settings)
        if args.command == "check-config":
            print(check_config_report(settings, reveal=args.reveal))
            if args.reveal:
                note = asyncio.run(audit_commands.record_best_effort(settings, "config_reveal"))
                if note is not None:
                    print(f"Note: {note}.")
            return 0
        if args.command == "audit":
            asyncio.run(audit_commands.export(settings, args.since, print))
            return 0
        if args.command == "link":
            print(asyncio.run(_link(settings, args)))
            return 0
        if args.command == "secret-key":
            print(asyncio.run(secret_key_commands.run(settings, args)))
            return 0
        if args.command == "dead-letters":
            print(asyncio.run(dead_letter_commands.run(settings, args)))
            return 0
        if args.command == "phonebook":
            print(_phonebook_import(settings, args.file, args.region))
            return 0
        if args.command == "forget":
            print(asyncio.run(_forget(settings, args.number, args.region)))
            return 0
        extra = next((c for c in cli_commands() if c.name == args.command), None)
        if extra is not None:
            print(asyncio.run(extra.run(settings, args)))
            return 0
        web_role = args.command in ("run", "web")
        worker_role = args.command in ("run", "worker")
        settings.require_bot_token()
        run_service(_serve(settings, web_role=web_role, worker_role=worker_role))
        return 0
    except ConfigError as exc:
        for problem in str(exc).splitlines():  # one line per mistake
            print(f"pbxgram: configuration error: {problem}", file=sys.stderr)
        return 2
    except PbxgramError as exc:
        print(f"pbxgram: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def check_config_report(settings: Settings, *, reveal: bool) -> str:
    """What ``pbxgram check-config`` prints: warnings, where the settings came from (absolute
    paths), and the URLs per account."""
    from pathlib import Path

    from bot.config_sources import ENV_FILE, SECRETS_DIR_VARIABLE

    warnings = []
    if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
        warnings.append("BOT_TOKEN is not set: run, web and worker need it (from @BotFather).")
    if settings.public_url is None:
        warnings.append("PUBLIC_URL is not set: replace <PUBLIC_URL> below with your address.")
    if not settings.accounts:
        warnings.append(f"No PBX accounts: set PBXGRAM_CONFIG or put pbxgram.toml in {Path.cwd()}.")
    plural = "" if len(warnings) == 1 else "s"
    lines = [
        f"Configuration is valid, with {len(warnings)} warning{plural}:"
        if warnings
        else "Configuration is valid."
    ]
    lines.extend(f"  warning: {warning}" for warning in warnings)
    config = settings.pbxgram_config
    lines.append(f"Accounts file: {config.resolve() if config is not None else 'none'}")
    if ENV_FILE.is_file():
        lines.append(f"Variables file: {ENV_FILE.resolve()}")
    if settings.pbxgram_secrets_dir is not None:
        lines.append(f"Secrets directory ({SECRETS_DIR_VARIABLE}): {settings.pbxgram_secrets_dir}")
    data_dir = settings.pbxgram_data_dir.resolve()
    lines.append(
        "Redis: " + ("REDIS_URL" if settings.redis_url else f"embedded, data in {data_dir}")
    )
    if settings.webhook_mode:
        lines.append(f"Telegram: webhook at {settings.public_base()}{TELEGRAM_WEBHOOK_PATH}")
    else:
        lines.append("Telegram: long polling")
    for account in settings.accounts:
        lines.append("")
        api = f", API {account.base_api_url}" if account.base_api_url else ""
        lines.append(f"[{account.id}] provider {account.provider}{api}")
        lines.extend(f"  {line}" for line in pbx_urls(settings, account, reveal=reveal))
    return "\n".join(lines)


async def _link(settings: Settings, args: argparse.Namespace) -> str:
    import httpx

    from bot.pbx.providers import Providers
    from bot.services.access import Access
    from bot.services.audit import AuditLog
    from bot.storage import Keys, Repositories, open_redis

    if settings.account(args.account) is None:
        known = ", ".join(a.id for a in settings.accounts) or "none configured"
        raise ConfigError(f"--account: no account {args.account!r} (accounts: {known})")
    if not str(args.extension).isdigit():
        raise ConfigError("--extension: digits only, e.g. 101")
    async with open_redis(settings) as redis, httpx.AsyncClient() as http:
        providers = Providers.from_settings(settings, http)
        audit = AuditLog(
            redis,
            Keys(),
            max_entries=settings.audit_max_entries,
            retention_days=settings.audit_retention_days,
        )
        access = Access(Repositories.over(redis), settings, providers, audit)
        await access.link(
            args.account,
            args.extension,
            args.telegram_id,
            Role(args.role),
            by=audit_commands.CLI_ACTOR,
            how="cli",
        )
    return (
        f"Linked Telegram user {args.telegram_id} as extension {args.extension} "
        f"of {args.account} (role {args.role})."
    )


def _phonebook_import(settings: Settings, path: str, region: str | None) -> str:
    from bot.services.phonebook import decode, import_report, read_csv

    try:
        with open(path, "rb") as file:
            text = decode(file.read())
    except OSError as exc:
        raise PbxgramError(f"cannot read {path}: {exc.strerror}") from None
    region = (region or (settings.accounts[0].region if settings.accounts else "RU")).upper()
    found = read_csv(text, region)
    report = import_report(found)
    if found.problem is not None or (not found.entries and found.rejected):
        raise PbxgramError(report)
    asyncio.run(_replace_phonebook(settings, found.entries))
    return report


async def _replace_phonebook(settings: Settings, entries: dict[str, PhonebookEntry]) -> None:
    from bot.services.phonebook import Phonebook
    from bot.storage import Keys, open_redis

    async with open_redis(settings) as redis:
        await Phonebook(redis, Keys()).replace(entries)


async def _forget(settings: Settings, number: str, region: str | None) -> str:
    from bot.services.audit import AuditLog
    from bot.services.forget import Forgetter, forget_number, report, salt_of
    from bot.storage import Keys, open_redis

    keys = Keys()
    async with open_redis(settings) as redis:
        forgetter = Forgetter(redis, keys, settings.accounts)
        audit = AuditLog(
            redis,
            keys,
            max_entries=settings.audit_max_entries,
            retention_days=settings.audit_retention_days,
        )
        forgotten = await forget_number(
            forgetter, audit, number, actor="cli", salt=salt_of(settings), region=region
        )
    if forgotten is None:
        raise PbxgramError(f"{number!r} is not a phone number")
    return report(forgotten)


async def _serve(settings: Settings, *, web_role: bool, worker_role: bool) -> None:
    from bot.app import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(settings, web_role=web_role, worker_role=worker_role) as app:
        waiters = [asyncio.create_task(stop.wait()), *app.tasks]
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        waiters[0].cancel()
        for task in done:
            if task is not waiters[0] and task.exception() is not None:
                if isinstance(task.exception(), ConfigError):  # e.g. the token is rejected
                    raise task.exception()  # type: ignore[misc]
                raise PbxgramError(f"a component stopped: {task.exception()!r}")
