"""/recordings, /history and /missed as people see them, over calls the simulator played."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import App
from bot.domain import Role
from bot.services.missed_calls import MissedCall
from sandbox.mango import HistoryRow, MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import BORIS, LINE, MARIA, REP_ANNA, STRANGER, drained

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
OTHER = "79005550000"
OTHER_SHOWN = "+7 900 555-00-00"
MOSCOW = ZoneInfo("Europe/Moscow")


async def _ask(
    emulator: TelegramEmulator,
    chat: int,
    text: str,
    predicate: Callable[[ChatMessage], bool] | None = None,
    patience: float = 5.0,
) -> ChatMessage:
    """Send ``text`` and wait for the bot's answer to it (matching ``predicate``)."""
    before = max((m.message_id for m in emulator.transcript(chat)), default=0)
    emulator.send_text(chat, text)
    return await emulator.wait_for_message(
        chat,
        lambda m: m.message_id > before and (predicate is None or predicate(m)),
        timeout=patience,
    )


def _when(moment: datetime) -> str:
    local = moment.astimezone(MOSCOW)
    same_year = local.year == datetime.now(MOSCOW).year
    return local.strftime("%d.%m %H:%M" if same_year else "%d.%m.%Y %H:%M")


async def _started(app: App, entry_id: str) -> datetime:
    call = await app.call_log.get("main", entry_id)
    assert call is not None, entry_id
    return call.started_at


def _audio(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    return [m for m in emulator.bot_messages(chat) if m.file and m.file["kind"] == "audio"]


# /recordings --------------------------------------------------------------------------------
async def test_recordings_by_role_and_the_button_sends_the_audio(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    borises = await mango.play_inbound(
        LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102", record=True
    )
    annas = await mango.play_inbound(
        LINE, OTHER, group_id=1, ring=["101", "102"], answered_by="101", record=True
    )
    await mango.play_inbound(LINE, "79007770000", ring=["101"], answered_by="101", record=False)
    await mango.wait_idle()
    await drained(staffed)
    boris_at = _when(await _started(staffed, borises.entry_id))
    anna_at = _when(await _started(staffed, annas.entry_id))

    mine = await _ask(emulator, BORIS, "/recordings")
    assert mine.text == (
        "🎙 Recordings · your calls\n"
        f"1. {boris_at} ⬇️ inbound · {CLIENT_SHOWN} · Boris Ivanov · ✅ answered, 0:30\n\n"
        "Press a call to get its recording."
    )
    assert mine.button_texts() == [f"🎧 1. {boris_at} · {CLIENT_SHOWN}"]

    anna = await _ask(emulator, REP_ANNA, "/recordings")
    assert anna.text == (
        "🎙 Записи разговоров · ваши звонки\n"
        f"1. {anna_at} ⬇️ входящий · {OTHER_SHOWN} · Anna Petrova · ✅ отвечен, 0:30\n\n"
        "Нажмите на звонок, чтобы получить запись."
    )

    everyone = await _ask(emulator, MARIA, "/recordings")
    header, *lines, blank, footer = everyone.text.split("\n")
    assert header == "🎙 Recordings · all calls"
    assert sorted(line[3:] for line in lines) == sorted(
        [
            f"{boris_at} ⬇️ inbound · {CLIENT_SHOWN} · Boris Ivanov · ✅ answered, 0:30",
            f"{anna_at} ⬇️ inbound · {OTHER_SHOWN} · Anna Petrova · ✅ answered, 0:30",
        ]
    )
    assert (blank, footer) == ("", "Press a call to get its recording.")
    assert len(everyone.button_texts()) == 2

    of_anna = await _ask(emulator, MARIA, "/recordings @anna")
    assert of_anna.text.split("\n")[0] == "🎙 Recordings · calls of Anna"
    assert of_anna.button_texts() == [f"🎧 1. {anna_at} · {OTHER_SHOWN}"]

    by_number = await _ask(emulator, MARIA, "/recordings 8 900 123-45-67")
    assert by_number.text.split("\n")[0] == f"🎙 Recordings · all calls · {CLIENT_SHOWN}"
    assert by_number.button_texts() == [f"🎧 1. {boris_at} · {CLIENT_SHOWN}"]

    # The pipeline already sent Boris this recording; pressing the button sends it again,
    # and so does every further press.
    stored = mango.recordings.items[borises.recording_id or ""]
    assert len(_audio(emulator, BORIS)) == 1
    button = mine.find_button("🎧 1.").callback_data
    assert button is not None
    for presses in (1, 2):
        query = emulator.press_button(BORIS, BORIS, mine.message_id, button)
        answer = await emulator.wait_for_callback_answer(query)
        assert answer.get("text") == "Sending the recording…"
        await drained(staffed)
        audio = _audio(emulator, BORIS)
        assert len(audio) == 1 + presses
        assert audio[-1].file is not None and audio[-1].file["size"] == len(stored.data) > 0
        assert audio[-1].text == f"🎙 Call recording · {boris_at}\n{CLIENT_SHOWN} — Boris Ivanov"

    # Maria's list holds both calls; Anna's recording goes to Maria's chat only.
    annas_button = everyone.find_button(OTHER_SHOWN).callback_data
    assert annas_button is not None
    anna_audio = len(_audio(emulator, REP_ANNA))
    emulator.press_button(MARIA, MARIA, everyone.message_id, annas_button)
    await drained(staffed)
    assert [m.file["size"] for m in _audio(emulator, MARIA) if m.file] == [
        len(mango.recordings.items[annas.recording_id or ""].data)
    ]
    assert len(_audio(emulator, REP_ANNA)) == anna_audio


async def test_recordings_refusals(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, ring=["102"], answered_by="102", record=True)
    await mango.wait_idle()
    await drained(staffed)

    other = await _ask(emulator, REP_ANNA, "/recordings @boris")
    assert other.text == (
        "Вы можете слушать только свои разговоры. Записи коллег доступны руководителям."
    )
    assert other.buttons == []
    unknown = await _ask(emulator, MARIA, "/recordings @nobody")
    assert unknown.text == (
        "I don't know @nobody as an employee on this PBX: they need to open the bot "
        "and get linked to their extension first."
    )
    bad = await _ask(emulator, BORIS, "/recordings 12ab")
    assert bad.text == (
        "“12ab” does not look like a phone number. Write it like +7 999 123-45-67 "
        "or 8 999 123-45-67."
    )
    nothing = await _ask(emulator, REP_ANNA, "/recordings сегодня")
    assert nothing.text == "🎙 Записанных звонков нет: ваши звонки · сегодня."

    requests = len(mango.requests)
    stranger = await _ask(emulator, STRANGER, "/recordings")
    assert stranger.text == (
        "This command works once you are linked to your extension. Open the invite link "
        "from your admin, or tap /start and share your phone number."
    )
    assert len(mango.requests) == requests


async def test_relay_account_keeps_uploaded_recordings_but_has_no_pbx_history(
    emulator: TelegramEmulator, start_app: Callable[..., Any]
) -> None:
    app: App = await start_app(
        accounts=[
            {
                "id": "asterisk",
                "provider": "relay",
                "secret": "relay-secret-0123456789",
            }
        ]
    )
    emulator.send_text(REP_ANNA, "/start")
    await emulator.wait_for_message(REP_ANNA)
    await app.access.link("asterisk", "101", REP_ANNA, Role.REP)
    answer = await _ask(emulator, REP_ANNA, "/recordings")
    assert answer.text == "🎙 Записанных звонков нет: ваши звонки."
    history = await _ask(emulator, REP_ANNA, "/history 89001234567")
    assert history.text == (
        f"📒 Звонки с номером {CLIENT_SHOWN}\n"
        "Звонков не найдено.\n\n"
        "Более ранние звонки: ваша АТС (asterisk) не отдаёт историю звонков."
    )


# /history ------------------------------------------------------------------------------------
async def test_history_of_a_number_merges_the_log_and_the_pbx_statistics(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    inbound = await mango.play_inbound(
        LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102", record=True
    )
    callback = await mango.play_callback("101", CLIENT, talk_seconds=75)
    await mango.play_inbound(LINE, OTHER, ring=["102"], answered_by="102")
    await mango.wait_idle()
    await drained(staffed)
    oldest = await staffed.call_log.oldest("main")
    assert oldest is not None
    now = int(datetime.now(UTC).timestamp())
    ten_days = now - 10 * 86400
    twelve_days = now - 12 * 86400
    mango.history += [
        HistoryRow(  # answered by Boris ten days ago
            entry_id="old-answered",
            start=ten_days,
            answer=ten_days + 20,
            finish=ten_days + 20 + 95,
            from_number=CLIENT,
            to_extension="102",
            to_number="79992223344",
            line_number=LINE,
        ),
        HistoryRow(  # rang Anna twelve days ago, nobody answered
            entry_id="old-missed",
            start=twelve_days,
            finish=twelve_days + 40,
            from_number=CLIENT,
            to_extension="101",
            to_number="79991112233",
            line_number=LINE,
        ),
        HistoryRow(  # another client
            entry_id="old-other",
            start=ten_days,
            finish=ten_days + 50,
            answer=ten_days + 5,
            from_number=OTHER,
            to_extension="102",
            line_number=LINE,
        ),
        HistoryRow(  # before the month the bot asks for
            entry_id="too-old",
            start=int(oldest.timestamp()) - 31 * 86400,
            finish=int(oldest.timestamp()) - 31 * 86400 + 60,
            answer=int(oldest.timestamp()) - 31 * 86400 + 10,
            from_number=CLIENT,
            to_extension="102",
            line_number=LINE,
        ),
    ]
    mango.stats_ready_after = 1  # the first stats/result answers 204
    inbound_at = _when(await _started(staffed, inbound.entry_id))
    callback_at = _when(await _started(staffed, callback.entry_id))
    ten_days_at = _when(datetime.fromtimestamp(ten_days, UTC))
    twelve_days_at = _when(datetime.fromtimestamp(twelve_days, UTC))

    answer = await _ask(
        emulator, MARIA, "/history +7 (900) 123-45-67", lambda m: m.text.startswith("📒"), 20
    )
    assert answer.edited  # the "looking…" message, edited with the result
    header, *lines = answer.text.split("\n")
    assert header == f"📒 Calls with {CLIENT_SHOWN}"
    assert sorted(lines[:2]) == sorted(
        [
            f"{inbound_at} ⬇️ inbound · {CLIENT_SHOWN} · Boris Ivanov · ✅ answered, 0:30",
            f"{callback_at} ⬆️ outbound · {CLIENT_SHOWN} · Anna Petrova · ✅ answered, 1:15",
        ]
    )
    assert lines[2:] == [
        f"{ten_days_at} ⬇️ inbound · {CLIENT_SHOWN} · Boris Ivanov · ✅ answered, 1:35",
        f"{twelve_days_at} ⬇️ inbound · {CLIENT_SHOWN} · Anna Petrova · ❌ missed",
    ]
    [request] = mango.commands("stats/request")
    assert int(request["date_to"]) == int(oldest.timestamp())
    assert int(request["date_from"]) == int(oldest.timestamp()) - 30 * 86400
    assert len(mango.commands("stats/result")) == 2  # 204, then the CSV

    # A rep sees only the calls of their own extension, from the log and the PBX alike.
    mango.stats_ready_after = 0
    boris = await _ask(emulator, BORIS, f"/history {CLIENT}", lambda m: "📒" in m.text, 20)
    assert boris.text == "\n".join(
        [
            f"📒 Calls with {CLIENT_SHOWN}",
            f"{inbound_at} ⬇️ inbound · {CLIENT_SHOWN} · Boris Ivanov · ✅ answered, 0:30",
            f"{ten_days_at} ⬇️ inbound · {CLIENT_SHOWN} · Boris Ivanov · ✅ answered, 1:35",
        ]
    )


async def test_history_when_the_pbx_statistics_fail(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    inbound = await mango.play_inbound(LINE, CLIENT, ring=["102"], answered_by="102")
    await mango.wait_idle()
    await drained(staffed)
    mango.fail_next("stats/request", code=2230)
    inbound_at = _when(await _started(staffed, inbound.entry_id))
    answer = await _ask(emulator, MARIA, f"/history {CLIENT}", lambda m: "📒" in m.text)
    assert answer.text == (
        f"📒 Calls with {CLIENT_SHOWN}\n"
        f"{inbound_at} ⬇️ inbound · {CLIENT_SHOWN} · Boris Ivanov · ✅ answered, 0:30\n\n"
        "Older calls could not be loaded. This service is not available."
    )


async def test_history_of_ones_own_calls_and_a_bad_number(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    missed = await mango.play_inbound(LINE, OTHER, group_id=1, ring=["101", "102"])
    await mango.play_inbound(LINE, "79007770000", ring=["102"], answered_by="102")
    await mango.wait_idle()
    await drained(staffed)
    missed_at = _when(await _started(staffed, missed.entry_id))

    own = await _ask(emulator, REP_ANNA, "/history")
    assert own.text == (
        "📒 Ваши последние звонки\n"
        f"{missed_at} ⬇️ входящий · {OTHER_SHOWN} · Anna Petrova · ❌ пропущен"
    )
    none = await _ask(emulator, MARIA, "/history")
    assert none.text == "📒 Your recent calls\nNo calls found."
    bad = await _ask(emulator, REP_ANNA, "/history позвони мне")
    assert bad.text == (
        "«позвони мне» не похоже на номер телефона. Напишите его так: +7 999 123-45-67 "
        "или 8 999 123-45-67."
    )
    assert mango.commands("stats/request") == []


# /missed -------------------------------------------------------------------------------------
async def test_missed_lists_only_open_calls_with_their_buttons(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"])
    await mango.play_inbound(LINE, OTHER, ring=["102"])
    await mango.play_inbound(LINE, "79007770000", ring=["101"])
    await mango.wait_idle()
    await drained(staffed)
    await mango.play_callback("101", "79007770000")  # Anna calls the third one back
    await mango.wait_idle()
    await drained(staffed)
    first = await staffed.notifier.missed.open_for("main", "+" + CLIENT)
    second = await staffed.notifier.missed.open_for("main", "+" + OTHER)
    assert await staffed.notifier.missed.open_for("main", "+79007770000") == []
    client_at = first[0].at.astimezone(MOSCOW).strftime("%d.%m %H:%M")
    other_at = second[0].at.astimezone(MOSCOW).strftime("%d.%m %H:%M")

    anna = await _ask(emulator, REP_ANNA, "/missed")
    assert anna.text == (
        "❌ Пропущенные, ещё без перезвона (сначала старые)\n"
        f"1. {client_at} · {CLIENT_SHOWN} · ждёт 0 мин · "
        "звонок шёл на: Anna Petrova, Boris Ivanov · никто не взял"
    )
    assert anna.button_texts() == [f"📞 1. Перезвонить {CLIENT_SHOWN}", "🙋 1. Беру"]

    maria = await _ask(emulator, MARIA, "/missed")
    header, *lines = maria.text.split("\n")
    assert header == "❌ Missed, not called back yet (oldest first)"
    assert sorted(line[3:] for line in lines) == [  # within the same second or so
        f"{client_at} · {CLIENT_SHOWN} · waiting 0 min · it rang: Anna Petrova, Boris Ivanov"
        " · nobody took it",
        f"{other_at} · {OTHER_SHOWN} · waiting 0 min · it rang: Boris Ivanov · nobody took it",
    ]
    assert len(maria.buttons) == 2 and all(len(row) == 2 for row in maria.buttons)

    # The buttons are the missed-call alert's own: taking it shows who took it.
    take = anna.find_button("Беру").callback_data
    assert take is not None
    query = emulator.press_button(REP_ANNA, REP_ANNA, anna.message_id, take)
    assert (await emulator.wait_for_callback_answer(query)).get("text") == "Звонок ваш."
    await drained(staffed)
    again = await _ask(emulator, REP_ANNA, "/missed")
    assert again.text.endswith("Anna Petrova, Boris Ivanov · 🙋 Anna")

    call_back = again.find_button("Перезвонить").callback_data
    assert call_back is not None
    mango.auto_play = False  # the PBX takes the command; no need to play the call
    query = emulator.press_button(REP_ANNA, REP_ANNA, again.message_id, call_back)
    await emulator.wait_for_callback_answer(query)
    [command] = mango.commands("commands/callback")
    assert command["from"] == {"extension": "101"}
    assert command["to_number"] == CLIENT


async def test_missed_when_nothing_is_open(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    await mango.play_inbound(LINE, OTHER, ring=["102"])
    await mango.wait_idle()
    await drained(staffed)
    anna = await _ask(emulator, REP_ANNA, "/missed")
    assert anna.text == "✅ На этой неделе нет пропущенных звонков, которые ждут перезвона."
    assert anna.buttons == []


async def test_missed_lists_the_weeks_open_calls_oldest_first_with_age_and_overdue(
    emulator: TelegramEmulator, staffed: App
) -> None:
    now = datetime.now(MOSCOW).replace(second=0, microsecond=0)
    days_ago, minutes_ago = now - timedelta(days=3), now - timedelta(minutes=30)
    for call_id, client, at, deadline in (
        ("minutes-ago", OTHER, minutes_ago, minutes_ago + timedelta(minutes=45)),
        ("days-ago", CLIENT, days_ago, days_ago + timedelta(minutes=15)),
        ("last-month", CLIENT, now - timedelta(days=10), None),  # too old to list
    ):
        await staffed.notifier.missed.save(
            MissedCall(
                account="main",
                call_id=call_id,
                client_number="+" + client,
                at=at.astimezone(UTC),
                line_number="+" + LINE,
                rang=["101"],
                remind_at=deadline,
            )
        )
    maria = await _ask(emulator, MARIA, "/missed")
    assert maria.text == (
        "❌ Missed, not called back yet (oldest first)\n"
        f"1. {days_ago:%d.%m %H:%M} · {CLIENT_SHOWN} · waiting 72 h 0 min · ⚠️ overdue · "
        "it rang: Anna Petrova · nobody took it\n"
        f"2. {minutes_ago:%d.%m %H:%M} · {OTHER_SHOWN} · waiting 30 min · "
        "it rang: Anna Petrova · nobody took it"
    )
