"""Setting up the company the way its admin would: ``/start``, an invite link per
employee (each accepts it with ``/start <code>``), then the bot added to the team's group
chat and subscribed there to missed calls, summaries, recordings and the digest.
"""

from __future__ import annotations

import re

from bot.domain import SubscriptionKind
from sandbox.demo import cast
from sandbox.demo.stage import DemoFailed, Stage

INVITE_LINK = re.compile(r"https://t\.me/\w+\?start=([\w-]+)")
GROUP_KINDS = (
    SubscriptionKind.MISSED,
    SubscriptionKind.SUMMARY,
    SubscriptionKind.RECORDINGS,
    SubscriptionKind.DIGEST,
)


async def admin_starts(stage: Stage) -> None:
    """Olga, whose Telegram id is in ADMIN_IDS, opens the bot."""
    sent = stage.say(cast.OLGA, "/start")
    await stage.expect(cast.OLGA.telegram_id, "the admin's welcome", lambda m: m.message_id > sent)


async def invite(stage: Stage, person: cast.Person) -> None:
    """Olga makes an invite link for ``person``'s extension; they open it."""
    admin = cast.OLGA.telegram_id
    asked = stage.say(cast.OLGA, f"/invite {person.extension} {person.role.value}")
    answer = await stage.expect(
        admin,
        f"an invite link for extension {person.extension}",
        lambda m: m.message_id > asked and INVITE_LINK.search(m.text) is not None,
    )
    found = INVITE_LINK.search(answer.text)
    assert found is not None
    opened = stage.say(person, f"/start {found.group(1)}")
    await stage.expect(
        person.telegram_id,
        f"{person.first_name}'s welcome after the invite",
        lambda m: m.message_id > opened,
    )
    await stage.expect(
        admin,
        f"the admin told that {person.first_name} accepted the invite",
        lambda m: m.message_id > answer.message_id and person.first_name in m.text,
    )
    links = await stage.app.repos.links.of_user(person.telegram_id)
    if [(link.account, link.extension) for link in links] != [(cast.ACCOUNT_ID, person.extension)]:
        raise DemoFailed(f"{person.first_name} is not linked to extension {person.extension}")


async def group_subscribes(stage: Stage) -> None:
    """Olga adds the bot to the group chat and subscribes it to everything."""
    group = cast.GROUP_CHAT
    stage.emulator.add_bot_to_group(group, cast.OLGA.telegram_id)
    await stage.expect(group, "the bot's greeting in the group", lambda m: True)
    for kind in GROUP_KINDS:
        await _subscribe(stage, kind)
        chats = await stage.app.repos.subscriptions.chats(cast.ACCOUNT_ID, kind)
        if group not in chats:
            raise DemoFailed(f"the group chat is not subscribed to {kind.value}")


async def _subscribe(stage: Stage, kind: SubscriptionKind) -> None:
    asked = stage.say(cast.OLGA, f"/subscribe {kind.value}", chat=cast.GROUP_CHAT)
    await stage.expect(
        cast.GROUP_CHAT, f"the answer to /subscribe {kind.value}", lambda m: m.message_id > asked
    )


async def set_up_company(stage: Stage) -> None:
    """Everything above, in order."""
    await admin_starts(stage)
    for person in cast.STAFF:
        await invite(stage, person)
    await group_subscribes(stage)
