"""MANGO OFFICE end to end where its spec (mango-office-api.txt) says what to do: recordings
kept in e-mail only, numbers switched off in the directory, codes outside the code table,
and a call that ended in the voice menu."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio

from bot.app import App
from bot.domain import SubscriptionKind
from sandbox.mango import MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import ADMIN, BORIS, GROUP, LINE, REP_ANNA, STRANGER, drained, staff

CLIENT = "79001234567"
CLIENT_SHOWN = "+7 900 123-45-67"
MAILED_EN = "📧 The PBX sends this call's recording to e-mail only"
MAILED_RU = "📧 Запись этого разговора АТС отправляет только на e-mail"


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, staffed: App) -> App:
    """The staffed app; the sales group follows summaries and recordings."""
    await staffed.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.SUMMARY)
    await staffed.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.RECORDINGS)
    emulator.add_bot_to_group(GROUP, ADMIN)
    return staffed


def _about_calls(emulator: TelegramEmulator, chat: int) -> list[ChatMessage]:
    """The bot's messages about calls (after its answer to /start)."""
    return [m for m in emulator.bot_messages(chat) if "pbxgram" not in m.text]


# 1. recordings kept in e-mail only -----------------------------------------------------
async def test_a_recording_sent_to_email_only_is_told_where_it_would_have_gone(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    """Lines 570 and 596-603: the Completed events/recording names recipient "Mail" --
    "Запись вызова отправлена на e-mail пользователя", nothing in the cloud. pbxgram asks
    queries/recording/post (line 1918) not once, and says so, in the card's thread."""
    mango.recording_recipient = "Mail"
    record = await mango.play_inbound(
        LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by="102", record=True
    )
    await mango.wait_idle()
    await drained(company)

    assert record.recording_id is not None
    assert mango.commands("queries/recording/post") == []
    [card, notice] = _about_calls(emulator, BORIS)
    assert notice.file is None
    assert notice.reply_to == card.message_id
    assert notice.text.startswith("🎙 Call recording · ")
    assert f"{CLIENT_SHOWN} — Boris Ivanov" in notice.text
    assert MAILED_EN in notice.text
    [summary, group_notice] = _about_calls(emulator, GROUP)
    assert group_notice.reply_to == summary.message_id
    assert MAILED_RU in group_notice.text
    for chat in (REP_ANNA, BORIS, GROUP):
        assert not any(m.file for m in emulator.bot_messages(chat)), chat


async def test_a_recording_also_mailed_still_arrives_as_audio(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    """Line 603: "CloudAndMail" is kept in the cloud as well: the audio comes as always."""
    mango.recording_recipient = "CloudAndMail"
    await mango.play_inbound(LINE, CLIENT, ring=["102"], answered_by="102", record=True)
    await mango.wait_idle()
    await drained(company)

    [card, audio] = _about_calls(emulator, BORIS)
    assert audio.file is not None
    assert audio.reply_to == card.message_id
    assert MAILED_EN not in audio.text


# 2. numbers switched off in the directory ----------------------------------------------
async def test_a_switched_off_number_links_nobody(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    """Line 2347: "status – статус номера ... off – выключен": a number the directory of
    config/users/request (line 2312) marks off does not prove who shares it, even where
    the account links by phone at once; the employee's number switched on still does."""
    anna = mango.directory.employees["101"]
    anna.phones.append("79991110000")
    anna.switched_off.append("79991110000")
    await start_app(account={"auto_link_by_phone": True})

    emulator.share_contact(STRANGER, "+7 999 111-00-00", contact_user_id=STRANGER)
    refused = await emulator.wait_for_message(STRANGER)
    assert "+7 999 111-00-00 is not in the PBX employee directory" in refused.text

    emulator.share_contact(REP_ANNA, "+79991112233", contact_user_id=REP_ANNA)
    linked = await emulator.wait_for_message(REP_ANNA)
    assert "Номер подтверждён" in linked.text


# 3. codes outside the code table -------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        (
            5008,  # lines 220-236 and 7485
            "The MANGO contact centre API is turning requests away (too many requests a "
            "second, or the service is unavailable); please try again in a minute.",
        ),
        (
            5201,  # lines 348-361 and 3084
            "The API connector is not enabled in the MANGO OFFICE account: an administrator "
            "of the account has to switch it on under Integrations → API connector.",
        ),
        (5202, "The group or employee is used in a call forwarding scheme."),  # line 3085
        (5203, "The group or employee is used in forwarding by the client's number."),  # 3086
        (5204, "The group or employee is used in the callback widget."),  # line 3087
    ],
)
async def test_a_call_refused_with_a_code_outside_the_table_says_what_it_means(
    emulator: TelegramEmulator,
    mango: MangoSimulator,
    start_app: Callable[..., Any],
    code: int,
    sentence: str,
) -> None:
    """Lines 232, 360 and 3084-3087 give these codes outside the table (lines 7842-7967),
    where they would read as 5000 "Ошибка сервера": a /call refused with one says its own
    sentence."""
    app = await staff(emulator, await start_app())
    mango.fail_next("commands/callback", code=code)
    asked = emulator.send_text(BORIS, "/call 89001234567")["message"]["message_id"]
    status = await emulator.wait_for_message(
        BORIS, lambda m: m.reply_to == asked and m.text.startswith("❌")
    )
    assert status.text == f"❌ The call to {CLIENT_SHOWN} did not go through. {sentence}"
    await drained(app)


async def test_the_api_connector_sentence_in_russian(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    """Lines 352-361: «Интеграции → API коннектор» not switched on answers {result: 5201}."""
    await staff(emulator, await start_app())
    mango.fail_next("commands/callback", code=5201, http_status=420)
    asked = emulator.send_text(REP_ANNA, "/call 89001234567")["message"]["message_id"]
    status = await emulator.wait_for_message(
        REP_ANNA, lambda m: m.reply_to == asked and m.text.startswith("❌")
    )
    assert status.text == (
        f"❌ Звонок на {CLIENT_SHOWN} не состоялся. В личном кабинете MANGO OFFICE не "
        "подключён API коннектор: его должен включить администратор АТС в разделе "
        "«Интеграции → API коннектор»."
    )


# 4. summary example 2 ------------------------------------------------------------------
async def test_a_call_ended_in_the_voice_menu_is_not_answered(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    """Lines 779-801: the summary of a call that "завершился в IVR меню без
    переадресации" carries entry_result 1 with talk_time 0; line 742: talk_time is zero
    "Если в звонке не состоялся разговор". Nobody talked: the summary says not answered
    and, where the account wants them, the voice-menu alert goes out."""
    app = await staff(emulator, await start_app(account={"alert_ivr_abandoned": True}))
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.SUMMARY)
    await app.repos.subscriptions.subscribe(GROUP, "main", SubscriptionKind.MISSED)
    emulator.add_bot_to_group(GROUP, ADMIN)

    await mango.play_inbound(LINE, CLIENT, ends_in_ivr=True)
    await mango.wait_idle()
    await drained(app)

    [summary] = [m for m in _about_calls(emulator, GROUP) if "звонок ·" in m.text]
    assert "Не отвечен" in summary.text
    assert "Разговор:" not in summary.text
    alerts = [m for m in _about_calls(emulator, GROUP) if "голосовом меню" in m.text]
    assert len(alerts) == 1
    assert CLIENT_SHOWN in alerts[0].text
