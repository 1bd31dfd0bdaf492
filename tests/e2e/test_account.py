"""/balance, the low-balance alert and /campaigns, against the MANGO simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio

from bot.app import App
from bot.domain import Language, Role
from bot.formatting import moment
from sandbox.mango import Campaign, MangoSimulator
from sandbox.mango.campaigns import FINISHED, RUNNING, STOPPED
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import REP_ANNA, drained
from tests.helpers import until

NBSP = "\u00a0"
MOSCOW = ZoneInfo("Europe/Moscow")
BORIS = 2002  # a rep of the same account
MARIA = 2003  # a manager who reads English
SPRING, WINTER, AUTUMN = 16064, 16065, 16066


def _minutes(language: Language, before: datetime, after: datetime) -> set[str]:
    """How the time of an answer given between ``before`` and ``after`` is shown."""
    return {moment(before, MOSCOW, language), moment(after, MOSCOW, language)}


def _balance_checks(mango: MangoSimulator) -> int:
    return len(mango.commands("account/balance"))


def _alerts(emulator: TelegramEmulator, chat: int) -> list[str]:
    return [m.text for m in emulator.bot_messages(chat) if "Баланс" in m.text]


def _buttons(message: ChatMessage) -> list[list[str]]:
    return [[button.text for button in row] for row in message.buttons]


def _tap(emulator: TelegramEmulator, chat: int, message: ChatMessage, text: str) -> str:
    """Press the inline button whose label contains ``text``; the callback query id."""
    data = message.find_button(text).callback_data
    assert data is not None
    return emulator.press_button(chat, chat, message.message_id, data)


# /balance ------------------------------------------------------------------------------
async def test_balance_for_a_manager(
    emulator: TelegramEmulator, mango: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    mango.balance = (Decimal("963592.45"), "RUB")

    before = datetime.now(MOSCOW)
    emulator.send_text(REP_ANNA, "/balance")
    answer = await emulator.wait_for_message(REP_ANNA)
    after = datetime.now(MOSCOW)

    assert answer.text in {
        f"💰 Баланс: 963{NBSP}592,45{NBSP}₽\nДанные на {when}."
        for when in _minutes(Language.RU, before, after)
    }
    assert answer.html is not None and f"<b>963{NBSP}592,45{NBSP}₽</b>" in answer.html
    assert mango.commands("account/balance") == [{}]  # signed and verified by the simulator


async def test_balance_in_english_with_the_alert_level(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    app: App = await start_app(account={"balance_alert_below": 2000})
    await app.access.link("main", "103", MARIA, Role.MANAGER)

    before = datetime.now(MOSCOW)
    emulator.send_text(MARIA, "/balance")
    answer = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("💰"))
    after = datetime.now(MOSCOW)

    assert answer.text in {
        f"💰 Balance: RUB{NBSP}1,234.50\nAs of {when}.\n"
        f"⚠️ Below the alert level of RUB{NBSP}2,000.00."
        for when in _minutes(Language.EN, before, after)
    }


async def test_balance_refused_for_a_rep(
    emulator: TelegramEmulator, mango: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.REP)

    emulator.send_text(REP_ANNA, "/balance")
    refusal = await emulator.wait_for_message(REP_ANNA)

    assert refusal.text == "Эта команда доступна только с ролью «руководитель»."
    assert mango.commands("account/balance") == []


async def test_balance_error_becomes_a_sentence(
    emulator: TelegramEmulator, mango: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    mango.fail_next("account/balance", code=3105, http_status=420)

    emulator.send_text(REP_ANNA, "/balance")
    answer = await emulator.wait_for_message(REP_ANNA)

    assert answer.text == "⚠️ Не удалось узнать баланс. Неверный ключ доступа к API АТС."


async def test_balance_refused_in_words_by_a_pbx_without_it(
    emulator: TelegramEmulator, start_app: Callable[..., Any]
) -> None:
    mts = {
        "id": "mts",
        "provider": "mts",
        "api_token": "mts-token",
        "callback_key": "mts-callback-key",
    }
    app: App = await start_app(accounts=[mts])
    await app.access.link("mts", "101", REP_ANNA, Role.MANAGER)

    emulator.send_text(REP_ANNA, "/balance")
    balance = await emulator.wait_for_message(REP_ANNA)
    emulator.send_text(REP_ANNA, "/campaigns")
    campaigns = await emulator.wait_for_message(
        REP_ANNA, lambda m: m.message_id != balance.message_id
    )

    assert balance.text == "Команда /balance недоступна: ваша АТС (MTS VPBX) этого не позволяет."
    assert campaigns.text == (
        "Команда /campaigns недоступна: ваша АТС (MTS VPBX) этого не позволяет."
    )
    assert campaigns.buttons == []


# low-balance alert ---------------------------------------------------------------------
async def test_low_balance_alerts_once_and_once_on_recovery(
    emulator: TelegramEmulator, mango: MangoSimulator, start_app: Callable[..., Any]
) -> None:
    emulator.add_user(BORIS, "Boris", username="boris", language_code="en")
    app: App = await start_app(balance_check_seconds=1, account={"balance_alert_below": 1000})
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    await app.access.link("main", "102", BORIS, Role.REP)
    await until(lambda: _balance_checks(mango) >= 1)  # 1234.50: fine, nothing to say

    mango.balance = (Decimal("450.00"), "RUB")
    before = datetime.now(MOSCOW)
    await emulator.wait_for_message(REP_ANNA, lambda m: "Баланс ниже порога" in m.text)
    after = datetime.now(MOSCOW)
    seen = _balance_checks(mango)
    await until(lambda: _balance_checks(mango) >= seen + 2)  # still low, twice more
    await drained(app)

    assert _alerts(emulator, REP_ANNA) in [
        [
            f"⚠️ Баланс ниже порога на аккаунте АТС main: 450,00{NBSP}₽, "
            f"порог — 1{NBSP}000,00{NBSP}₽ (данные на {when}).\n"
            "Пополните счёт, чтобы звонки не прервались."
        ]
        for when in _minutes(Language.RU, before, after)
    ]

    mango.balance = (Decimal("1500.00"), "RUB")
    before = datetime.now(MOSCOW)
    await emulator.wait_for_message(REP_ANNA, lambda m: "Баланс восстановлен" in m.text)
    after = datetime.now(MOSCOW)
    seen = _balance_checks(mango)
    await until(lambda: _balance_checks(mango) >= seen + 2)
    await drained(app)

    alerts = _alerts(emulator, REP_ANNA)
    assert len(alerts) == 2, emulator.describe(REP_ANNA)
    assert alerts[1] in {
        f"✅ Баланс восстановлен на аккаунте АТС main: 1{NBSP}500,00{NBSP}₽, "
        f"порог — 1{NBSP}000,00{NBSP}₽ (данные на {when})."
        for when in _minutes(Language.RU, before, after)
    }
    assert emulator.bot_messages(BORIS) == []  # reps are not told


# /campaigns ----------------------------------------------------------------------------
@pytest_asyncio.fixture
async def campaigns(mango: MangoSimulator) -> MangoSimulator:
    mango.add_campaign(
        Campaign(
            SPRING, name="Spring promo", status=STOPPED, tasks_count=10, finished_tasks_count=3
        )
    )
    mango.add_campaign(
        Campaign(
            WINTER, name="Winter sale", status=RUNNING, tasks_count=20, finished_tasks_count=12
        )
    )
    mango.add_campaign(
        Campaign(AUTUMN, name="Autumn", status=FINISHED, tasks_count=5, finished_tasks_count=5)
    )
    return mango


LISTING_RU = (
    "📋 Кампании исходящего обзвона\n\n"
    "• Spring promo — {spring}, выполнено 3 из 10\n"
    "• Winter sale — {winter}, выполнено 12 из 20\n"
    "• Autumn — завершена, выполнено 5 из 5"
)


async def _listing(emulator: TelegramEmulator, chat: int) -> ChatMessage:
    emulator.send_text(chat, "/campaigns")
    return await emulator.wait_for_message(chat, lambda m: m.buttons != [])


async def _press(
    emulator: TelegramEmulator, chat: int, message: ChatMessage, text: str, expect: str
) -> ChatMessage:
    """Press the button labelled ``text``; the message once it starts with ``expect``."""
    _tap(emulator, chat, message, text)
    return await emulator.wait_for_message(
        chat, lambda m: m.message_id == message.message_id and m.text.startswith(expect)
    )


async def test_campaigns_listed_with_the_actions_their_state_allows(
    emulator: TelegramEmulator, campaigns: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)

    listing = await _listing(emulator, REP_ANNA)

    assert listing.text == LISTING_RU.format(spring="остановлена", winter="идёт")
    assert _buttons(listing) == [
        ["▶️ Запустить: Spring promo"],
        ["⏹ Остановить: Winter sale"],
        ["🔄 Обновить"],
    ]
    assert len(campaigns.commands("io/v1/campaign/get_list")) == 1


async def test_start_and_stop_after_confirmation(
    emulator: TelegramEmulator, campaigns: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    listing = await _listing(emulator, REP_ANNA)

    question = await _press(emulator, REP_ANNA, listing, "Запустить", "Запустить кампанию")
    assert (
        question.text
        == "Запустить кампанию «Spring promo»?\nСейчас: остановлена, выполнено 3 из 10."
    )
    assert _buttons(question) == [["✅ Да", "❌ Нет"]]
    assert campaigns.commands("campaign/start") == []

    started = await _press(emulator, REP_ANNA, question, "Да", "▶️")
    assert started.text == "▶️ Кампания «Spring promo» запущена. Статус: идёт.\n\n" + (
        LISTING_RU.format(spring="идёт", winter="идёт")
    )
    assert _buttons(started) == [
        ["⏹ Остановить: Spring promo"],
        ["⏹ Остановить: Winter sale"],
        ["🔄 Обновить"],
    ]
    assert campaigns.commands("campaign/start") == [{"campaign_id": str(SPRING)}]

    question = await _press(
        emulator, REP_ANNA, started, "Остановить: Winter", "Остановить кампанию"
    )
    assert question.text == "Остановить кампанию «Winter sale»?\nСейчас: идёт, выполнено 12 из 20."
    stopped = await _press(emulator, REP_ANNA, question, "Да", "⏹")
    assert stopped.text == "⏹ Кампания «Winter sale» остановлена. Статус: остановлена.\n\n" + (
        LISTING_RU.format(spring="идёт", winter="остановлена")
    )
    assert _buttons(stopped) == [
        ["⏹ Остановить: Spring promo"],
        ["▶️ Запустить: Winter sale"],
        ["🔄 Обновить"],
    ]
    assert campaigns.commands("campaign/stop") == [{"campaign_id": str(WINTER)}]


async def test_no_leaves_the_campaign_alone(
    emulator: TelegramEmulator, campaigns: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    listing = await _listing(emulator, REP_ANNA)
    question = await _press(emulator, REP_ANNA, listing, "Остановить", "Остановить кампанию")

    back = await _press(emulator, REP_ANNA, question, "Нет", "📋")

    assert back.text == LISTING_RU.format(spring="остановлена", winter="идёт")
    assert _buttons(back) == _buttons(listing)
    assert campaigns.commands("campaign/stop") == []


async def test_refresh_shows_changes_made_elsewhere(
    emulator: TelegramEmulator, campaigns: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    listing = await _listing(emulator, REP_ANNA)
    campaigns.campaigns.items[WINTER].finished_tasks_count = 15

    _tap(emulator, REP_ANNA, listing, "Обновить")
    refreshed = await emulator.wait_for_message(
        REP_ANNA, lambda m: m.message_id == listing.message_id and "12 из 20" not in m.text
    )

    assert refreshed.text == LISTING_RU.format(spring="остановлена", winter="идёт").replace(
        "12 из 20", "15 из 20"
    )


async def test_pbx_error_on_start_becomes_a_sentence(
    emulator: TelegramEmulator, campaigns: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    listing = await _listing(emulator, REP_ANNA)
    question = await _press(emulator, REP_ANNA, listing, "Запустить", "Запустить кампанию")
    campaigns.fail_next("campaign/start", code=5102)

    failed = await _press(emulator, REP_ANNA, question, "Да", "⚠️")

    assert failed.text == (
        "⚠️ Кампанию «Spring promo» не удалось запустить. Превышен лимит активных кампаний.\n\n"
        + LISTING_RU.format(spring="остановлена", winter="идёт")
    )
    assert _buttons(failed) == _buttons(listing)


async def test_campaigns_in_english(
    emulator: TelegramEmulator, campaigns: MangoSimulator, app: App
) -> None:
    emulator.add_user(MARIA, "Maria", username="maria", language_code="en")
    await app.access.link("main", "103", MARIA, Role.MANAGER)
    listing = await _listing(emulator, MARIA)

    question = await _press(emulator, MARIA, listing, "Start", "Start campaign")
    started = await _press(emulator, MARIA, question, "Yes", "▶️")

    assert question.text == "Start campaign “Spring promo”?\nNow: stopped, 3 of 10 done."
    assert _buttons(question) == [["✅ Yes", "❌ No"]]
    assert started.text == (
        "▶️ Campaign “Spring promo” started. Status: running.\n\n"
        "📋 Outbound-dialing campaigns\n\n"
        "• Spring promo — running, 3 of 10 done\n"
        "• Winter sale — running, 12 of 20 done\n"
        "• Autumn — finished, 5 of 5 done"
    )


async def test_campaigns_refused_for_a_rep(
    emulator: TelegramEmulator, campaigns: MangoSimulator, app: App
) -> None:
    await app.access.link("main", "101", REP_ANNA, Role.MANAGER)
    listing = await _listing(emulator, REP_ANNA)
    await app.access.link("main", "101", REP_ANNA, Role.REP)  # demoted meanwhile

    emulator.send_text(REP_ANNA, "/campaigns")
    refusal = await emulator.wait_for_message(REP_ANNA, lambda m: not m.buttons)
    query = _tap(emulator, REP_ANNA, listing, "Запустить")
    answer = await emulator.wait_for_callback_answer(query)

    assert refusal.text == "Эта команда доступна только с ролью «руководитель»."
    assert answer.get("text") == "Эта команда доступна только с ролью «руководитель»."
    assert answer.get("show_alert") is True
    assert len(campaigns.commands("io/v1/campaign/get_list")) == 1
    assert campaigns.commands("campaign/start") == []
