"""Recordings, call history and today's missed calls.

Reps see their own calls (their extension); managers and admins every call of their
account. The call log answers at once; ``/history <number>`` also asks the PBX's call
statistics for the month before the log begins, which takes seconds, so it first says it
is looking and then edits that message with the result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.config import Settings
from bot.formatting import sentence
from bot.pbx.base import Capability, PbxError
from bot.pbx.providers import Providers
from bot.phones import normalise
from bot.pipeline.notify import Notifier
from bot.services.access import Access
from bot.services.call_history import Journal, JournalCall, merge_history, open_missed
from bot.services.call_log import CallLog
from bot.services.missed_calls import MissedCalls
from bot.storage import Repositories
from bot.telegram.callbacks import RecordingCallback
from bot.telegram.gates import RequireLink
from bot.telegram.identity import Identity
from bot.telegram.keyboards import missed_list_keyboard, recordings_keyboard
from bot.telegram.outbox import AudioRef, Outbox, OutMessage, Priority
from bot.texts import Translator

RECORDINGS_PAGE = 10
HISTORY_LINES = 20
MISSED_PAGE = 20
TODAY_WORDS = {"today", "сегодня"}


def build_router() -> Router:
    """``/recordings`` (and its buttons), ``/history``, ``/missed``; linked people only."""
    router = Router(name=__name__)
    router.message.middleware(RequireLink())
    router.callback_query.middleware(RequireLink())
    router.message.register(recordings, Command("recordings"))
    router.callback_query.register(send_recording, RecordingCallback.filter())
    router.message.register(history, Command("history"))
    router.message.register(missed, Command("missed"))
    return router


# /recordings ---------------------------------------------------------------------------
async def recordings(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    access: Access,
    settings: Settings,
    notifier: Notifier,
    providers: Providers,
    repos: Repositories,
    call_log: CallLog,
) -> None:
    journal = Journal(identity.links[0], identity, access, settings, notifier)
    provider = providers.get(journal.link.account)
    if provider is None or not provider.supports(Capability.RECORDINGS):
        await message.answer(t("pbx_unsupported", command="recordings", pbx=journal.pbx))
        return
    target = await _recordings_target(command.args, journal, identity, t, access, repos)
    if isinstance(target, str):
        await message.answer(target)
        return
    extension, number, since, scope = target
    calls = await call_log.recent_where(
        journal.link.account,
        lambda call: bool(call.recordings) and extension in (None, call.extension),
        extension=None if number else extension,
        number=number,
        since=since,
        limit=RECORDINGS_PAGE,
    )
    if not calls:
        await message.answer(t("recordings_empty", scope=scope))
        return
    shown = await journal.lines([JournalCall.logged(call) for call in calls])
    markup = recordings_keyboard(t, [call.ref for call in calls], shown)
    await message.answer(t("recordings_list", scope=scope, calls=shown), reply_markup=markup)


Target = tuple[str | None, str | None, datetime | None, list[str]]


async def _recordings_target(
    args: str | None,
    journal: Journal,
    identity: Identity,
    t: Translator,
    access: Access,
    repos: Repositories,
) -> Target | str:
    """(extension, number, since, scope words) of a /recordings request, or a refusal."""
    argument = (args or "").strip()
    extension, number, since = journal.own, None, None
    who = t.label("journal.scope_all") if journal.manager else t.label("journal.scope_own")
    extra: list[str] = []
    if argument.lower() in TODAY_WORDS:
        since = journal.start_of_today()
        extra.append(t.label("journal.scope_today"))
    elif argument.startswith("@"):
        person = await access.find_user(argument)
        theirs = None
        if person is not None:
            if person.telegram_id != identity.telegram_id and not journal.manager:
                return t("recordings_only_own")
            links = await repos.links.of_user(person.telegram_id)
            theirs = next((x for x in links if x.account == journal.link.account), None)
        if person is None or theirs is None:
            return t("recordings_unknown_user", target=argument)
        extension = theirs.extension
        if person.telegram_id != identity.telegram_id:
            who = t.label("journal.scope_person", name=person.first_name or argument)
        else:
            who = t.label("journal.scope_own")
    elif argument:
        number = normalise(argument, journal.region)
        if number is None:
            return t("history_bad_number", text=argument)
        extra.append(journal.shown(number) or number)
    return extension, number, since, [who, *extra]


async def send_recording(
    query: CallbackQuery,
    callback_data: RecordingCallback,
    identity: Identity,
    t: Translator,
    access: Access,
    settings: Settings,
    notifier: Notifier,
    call_log: CallLog,
    outbox: Outbox,
) -> None:
    call = await call_log.by_ref(callback_data.ref)
    if call is None or not call.recordings:
        await query.answer(t.label("journal.gone"), show_alert=True)
        return
    journal = Journal.of(identity, access, settings, notifier, call.account)
    if journal is None:
        await query.answer(t.label("calls.not_linked_here"), show_alert=True)
        return
    if journal.own is not None and call.extension != journal.own:
        await query.answer(t.label("journal.not_yours"), show_alert=True)
        return
    chat_id = query.message.chat.id if query.message else identity.telegram_id
    caption = t(
        "recording_caption",
        at=journal.when(call.started_at),
        client=journal.shown(call.client_number),
        employee=await journal.name(call.extension),
    )
    for recording_id in call.recordings:
        audio = AudioRef(
            account=call.account,
            recording_id=recording_id,
            title=journal.shown(call.client_number) or "",
        )
        # The press's own id in the slot: pressing again sends the recording again,
        # even where the call's notifications already delivered it.
        await outbox.put(
            f"rec:{call.account}:{recording_id}:{chat_id}:{query.id}",
            OutMessage(chat_id=chat_id, text=caption, audio=audio),
            Priority.RECORDING,
        )
    await query.answer(t.label("journal.sending"))


# /history ------------------------------------------------------------------------------
async def history(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    access: Access,
    settings: Settings,
    notifier: Notifier,
    providers: Providers,
    call_log: CallLog,
) -> None:
    journal = Journal(identity.links[0], identity, access, settings, notifier)
    account = journal.link.account
    argument = (command.args or "").strip()
    if not argument:
        own = await call_log.recent(account, extension=journal.link.extension, limit=HISTORY_LINES)
        lines = await journal.lines([JournalCall.logged(call) for call in own])
        await message.answer(t("history_list", number=None, calls=lines, older=None))
        return
    number = normalise(argument, journal.region)
    if number is None:
        await message.answer(t("history_bad_number", text=argument))
        return
    logged = await call_log.recent_where(
        account,
        lambda call: journal.own is None or call.involves(journal.own),
        number=number,
        limit=HISTORY_LINES,
    )
    calls = [JournalCall.logged(call) for call in logged]
    shown = journal.shown(number)
    provider = providers.get(account)
    if len(calls) >= HISTORY_LINES:
        older = None  # the log alone fills the page
    elif provider is None or not provider.supports(Capability.CALL_HISTORY):
        older = t.label("journal.older_unsupported", pbx=journal.pbx)
    else:
        looking = await message.answer(t("history_looking", number=shown))
        end = await call_log.oldest(account) or datetime.now(UTC)
        try:
            records = await provider.call_history(end - provider.history_window, end)
        except PbxError as exc:
            older = t.label("journal.older_failed", reason=sentence(t, exc))
        else:
            older = None
            calls = merge_history(calls, records, number, journal)
        lines = await journal.lines(calls[:HISTORY_LINES])
        await looking.edit_text(t("history_list", number=shown, calls=lines, older=older))
        return
    lines = await journal.lines(calls)
    await message.answer(t("history_list", number=shown, calls=lines, older=older))


# /missed -------------------------------------------------------------------------------
async def missed(
    message: Message,
    identity: Identity,
    t: Translator,
    access: Access,
    settings: Settings,
    notifier: Notifier,
    missed_calls: MissedCalls,
    clock: Callable[[], float],
) -> None:
    journal = Journal(identity.links[0], identity, access, settings, notifier, clock)
    calls = await open_missed(journal, missed_calls)
    if not calls:
        await message.answer(t("missed_list_empty"))
        return
    page = calls[:MISSED_PAGE]
    lines = await journal.missed_lines(page, t)
    await message.answer(
        t("missed_list", calls=lines, more=len(calls) - len(page)),
        reply_markup=missed_list_keyboard(t, page, journal.shown),
    )
