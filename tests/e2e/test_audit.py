"""The audit trail through the chat: linking by invite, role changes, subscriptions, spam
and campaigns are recorded, and ``/audit`` shows them to admins, paged and filtered."""

from __future__ import annotations

import asyncio
import re

import pytest_asyncio

from bot.app import App
from bot.domain import Language, SubscriptionKind
from bot.formatting import moment
from bot.services.audit import AuditEntry, AuditLog
from sandbox.mango import Campaign, MangoSimulator
from sandbox.mango.campaigns import RUNNING, STOPPED
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.conftest import StartApp
from tests.e2e.conftest import ADMIN, GROUP, LINE, MARIA, REP_ANNA, STRANGER, drained, staff

CLIENT = "79001234567"


def _audit(app: App) -> AuditLog:
    assert app.access.audit is not None
    return app.access.audit


async def recorded(app: App, action: str, count: int = 1) -> list[AuditEntry]:
    """The entries of ``action``, once there are ``count`` of them."""
    for _ in range(500):
        found = await _audit(app).entries(action=action, limit=50)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no {action!r} entry recorded")


async def ask(
    emulator: TelegramEmulator, user: int, text: str, containing: str = ""
) -> ChatMessage:
    """Send ``text``; the bot's next new message to ``user`` (``containing`` this)."""
    seen = {m.message_id for m in emulator.bot_messages(user)}
    emulator.send_text(user, text)
    return await emulator.wait_for_message(
        user, lambda m: m.message_id not in seen and containing in m.text
    )


async def tap(
    emulator: TelegramEmulator, user: int, message: ChatMessage, label: str
) -> ChatMessage:
    """Press ``label`` under ``message``; the message once it has been edited."""
    before = message.text
    data = message.find_button(label).callback_data
    assert data is not None
    emulator.press_button(user, message.chat_id, message.message_id, data)
    return await emulator.wait_for_message(
        user, lambda m: m.message_id == message.message_id and m.text != before
    )


def lines(message: ChatMessage) -> list[str]:
    return [line for line in message.text.splitlines() if line.startswith("• ")]


async def test_linking_roles_and_subscriptions_are_on_the_trail(
    emulator: TelegramEmulator, app: App
) -> None:
    emulator.add_bot_to_group(GROUP, ADMIN)
    invite = await ask(emulator, ADMIN, "/invite 101 manager", "t.me/")
    match = re.search(r"\?start=([\w-]+)", invite.text)
    assert match is not None
    code = match.group(1)
    emulator.send_text(REP_ANNA, f"/start {code}")
    await recorded(app, "link")
    await ask(emulator, ADMIN, "/role @anna rep", "now has the role")
    await recorded(app, "role")
    emulator.send_text(ADMIN, "/subscribe missed", chat_id=GROUP)
    await recorded(app, "subscribe")
    emulator.send_text(ADMIN, "/unsubscribe missed", chat_id=GROUP)
    await recorded(app, "unsubscribe")

    [created] = await recorded(app, "invite_created")
    assert (created.actor, created.account) == (ADMIN, "main")
    assert created.details == {"extension": "101", "role": "manager"}  # never the code
    [used] = await recorded(app, "invite_used")
    assert (used.actor, used.details["invited_by"]) == (REP_ANNA, str(ADMIN))
    [linked] = await recorded(app, "link")
    assert linked.details == {
        "user": str(REP_ANNA),
        "extension": "101",
        "role": "manager",
        "how": "invite",
    }
    [role] = await recorded(app, "role")
    assert (role.actor, role.details) == (ADMIN, {"user": str(REP_ANNA), "role": "rep"})
    [subscribed] = await recorded(app, "subscribe")
    assert (subscribed.chat, subscribed.details) == (GROUP, {"kind": "missed"})
    assert await app.repos.subscriptions.chats("main", SubscriptionKind.MISSED) == []

    trail = await ask(emulator, ADMIN, "/audit")
    assert trail.text.startswith("Audit trail\n")
    when = moment(created.at, app.settings.zone, Language.EN)
    assert lines(trail) == [
        f"• {moment(e.at, app.settings.zone, Language.EN)} — {text}"
        for e, text in zip(
            await _audit(app).entries(),
            [
                "Admin (@boss) (id 1000): unsubscribed a chat (kind missed) · PBX “main” "
                "· chat -100500",
                "Admin (@boss) (id 1000): subscribed a chat (kind missed) · PBX “main” "
                "· chat -100500",
                "Admin (@boss) (id 1000): changed a role (user 2001, role rep)",
                "Anna (@anna) (id 2001): linked (user 2001, extension 101, role manager, "
                "via invite) · PBX “main”",
                "Anna (@anna) (id 2001): used an invite (extension 101, invited by 1000) "
                "· PBX “main”",
                "Admin (@boss) (id 1000): created an invite (extension 101, role manager) "
                "· PBX “main”",
            ],
            strict=True,
        )
    ]
    assert when in trail.text and code not in trail.text
    assert trail.buttons == []  # one page

    by_anna = await ask(emulator, ADMIN, "/audit @anna")
    assert by_anna.text.startswith("Audit trail: actions by Anna (@anna) (id 2001)\n")
    assert [line.split(": ", 1)[1] for line in lines(by_anna)] == [
        "linked (user 2001, extension 101, role manager, via invite) · PBX “main”",
        "used an invite (extension 101, invited by 1000) · PBX “main”",
    ]
    by_id = await ask(emulator, ADMIN, f"/audit {ADMIN}")
    assert len(lines(by_id)) == 4
    invites = await ask(emulator, ADMIN, "/audit action:invite")
    assert invites.text.startswith("Audit trail: “invite” actions\n")
    assert [line.split(": ", 1)[1].split(" (")[0] for line in lines(invites)] == [
        "used an invite",
        "created an invite",
    ]
    nobody = await ask(emulator, ADMIN, "/audit @nobody")
    assert "No user @nobody found" in nobody.text

    refused = await ask(emulator, STRANGER, "/audit")
    assert refused.text == "This command needs the “admin” role."
    admin_menu = [c["command"] for c in emulator.commands[(f"chat:{ADMIN}", "en")]]
    assert "audit" in admin_menu


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, mango: MangoSimulator, start_app: StartApp) -> App:
    """Staff linked, and two campaigns: one stopped, one running."""
    app = await staff(emulator, await start_app())
    mango.add_campaign(Campaign(16064, name="Spring promo", status=STOPPED, tasks_count=10))
    mango.add_campaign(Campaign(16065, name="Winter sale", status=RUNNING, tasks_count=20))
    return app


async def test_spam_and_campaigns_are_on_the_trail(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    [alert] = [m for m in emulator.bot_messages(MARIA) if "Missed call" in m.text]
    data = alert.find_button("Spam").callback_data
    assert data is not None
    emulator.press_button(MARIA, MARIA, alert.message_id, data)
    offer = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("🚫 +7"))
    await tap(emulator, MARIA, offer, "Block on MANGO OFFICE")
    listing = await ask(emulator, MARIA, "/blocked", "Numbers marked as spam")
    await tap(emulator, MARIA, listing, "Unblock")

    campaigns = await ask(emulator, MARIA, "/campaigns", "Spring promo")
    question = await tap(emulator, MARIA, campaigns, "Start: Spring")
    started = await tap(emulator, MARIA, question, "Yes")
    question = await tap(emulator, MARIA, started, "Stop: Winter")
    await tap(emulator, MARIA, question, "Yes")
    await recorded(company, "campaign_stop")

    spam = await recorded(company, "spam", 3)
    assert [(e.action, e.actor, e.account, e.details) for e in spam] == [
        (action, MARIA, "main", {"number": f"+{CLIENT}"})
        for action in ("spam_unblock", "spam_block", "spam_mark")
    ]
    assert all(e.chat == MARIA for e in spam)
    steps = await recorded(company, "campaign", 2)
    assert [(e.action, e.details) for e in steps] == [
        ("campaign_stop", {"campaign": "16065", "name": "Winter sale"}),
        ("campaign_start", {"campaign": "16064", "name": "Spring promo"}),
    ]

    shown = await ask(emulator, ADMIN, "/audit action:spam", "Audit trail")
    assert [line.split(": ", 1)[1] for line in lines(shown)] == [
        "unblocked a number (number +79001234567) · PBX “main” · chat 2003",
        "blocked a number on the PBX (number +79001234567) · PBX “main” · chat 2003",
        "marked a number as spam (number +79001234567) · PBX “main” · chat 2003",
    ]
    assert all("Maria (@maria) (id 2003)" in line for line in lines(shown))
    shown = await ask(emulator, ADMIN, "/audit action:campaign", "Audit trail")
    assert [line.split(": ", 1)[1] for line in lines(shown)] == [
        "stopped a campaign (campaign 16065, name Winter sale) · PBX “main” · chat 2003",
        "started a campaign (campaign 16064, name Spring promo) · PBX “main” · chat 2003",
    ]


async def test_audit_pages_back_and_to_the_newest(emulator: TelegramEmulator, app: App) -> None:
    await ask(emulator, REP_ANNA, "/start")
    for n in range(23):
        await _audit(app).record("role", actor=ADMIN, details={"user": str(n), "role": "rep"})
    await _audit(app).record("link", actor=REP_ANNA, account="main")

    first = await ask(emulator, ADMIN, f"/audit {ADMIN}")
    assert [line.split("(user ")[1].split(",")[0] for line in lines(first)] == [
        str(n) for n in range(22, 12, -1)
    ]
    assert [[b.text for b in row] for row in first.buttons] == [["⬅️ Older"]]

    second = await tap(emulator, ADMIN, first, "Older")
    assert second.text.startswith(f"Audit trail: actions by Admin (@boss) (id {ADMIN}), older")
    assert [line.split("(user ")[1].split(",")[0] for line in lines(second)] == [
        str(n) for n in range(12, 2, -1)
    ]
    assert [[b.text for b in row] for row in second.buttons] == [["⬅️ Older", "⏮ Newest"]]

    third = await tap(emulator, ADMIN, second, "Older")
    assert [line.split("(user ")[1].split(",")[0] for line in lines(third)] == ["2", "1", "0"]
    assert [[b.text for b in row] for row in third.buttons] == [["⏮ Newest"]]

    newest = await tap(emulator, ADMIN, third, "Newest")
    assert lines(newest) == lines(first)

    everyone = await ask(emulator, ADMIN, "/audit")
    assert "Anna (@anna) (id 2001): linked · PBX “main”" in lines(everyone)[0]
    assert len(lines(everyone)) == 10


async def test_no_call_back_for_spam_is_on_the_trail(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    await mango.play_inbound(LINE, CLIENT, group_id=1, ring=["101", "102"], answered_by=None)
    await mango.wait_idle()
    await drained(company)
    [alert] = [m for m in emulator.bot_messages(MARIA) if "Missed call" in m.text]
    data = alert.find_button("No call back").callback_data
    assert data is not None
    emulator.press_button(MARIA, MARIA, alert.message_id, data)
    why = await emulator.wait_for_message(MARIA, lambda m: m.text.startswith("Why does"))
    await tap(emulator, MARIA, why, "Spam")

    [entry] = await recorded(company, "spam_mark")
    assert (entry.actor, entry.account, entry.chat) == (MARIA, "main", MARIA)
    assert entry.details == {"number": f"+{CLIENT}", "how": "no_call_back"}
