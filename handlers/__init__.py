"""aiogram routers, one per module, each built by its module's ``build_router()``.

Use :func:`build_router` once per Dispatcher; it decides the order of the routers.
"""

from __future__ import annotations

from aiogram import Router

from bot.pbx.registry import provider_routers
from bot.telegram.private_answers import LINE_SECONDS, PrivateAnswers
from handlers import (
    account,
    admin,
    approvals,
    audit,
    call_control,
    calling,
    common,
    fallback,
    forget,
    forward,
    from_group,
    groups,
    history,
    lines,
    missed_alerts,
    mobile,
    notes,
    reports,
    spam,
    start,
    telephony,
)


def build_router(*, group_line_seconds: float = LINE_SECONDS) -> Router:
    """A fresh root router: specific routers first, catch-alls last.

    Telephony and data commands sent in a group answer in the requester's private chat
    (the group's line saying so is deleted after ``group_line_seconds``); then a command
    drops a form still waiting for its answer before any router sees it.
    """
    root = Router(name="pbxgram")
    private_answers = PrivateAnswers(group_line_seconds)
    root.message.outer_middleware(private_answers)
    root.shutdown.register(private_answers.close)
    root.message.outer_middleware(calling.LeaveFormOnCommand())
    root.include_routers(
        from_group.build_router(),
        start.build_router(),
        approvals.build_router(),
        admin.build_router(),
        forget.build_router(),
        audit.build_router(),
        groups.build_router(),
        common.build_router(),
        missed_alerts.build_router(),
        call_control.build_router(),
        calling.build_router(),
        lines.build_router(),
        mobile.build_router(),
        forward.build_router(),
        notes.build_router(),
        spam.build_router(),
        account.build_router(),
        history.build_router(),
        reports.build_router(),
        *provider_routers(),
        telephony.build_router(),
        fallback.build_router(),
    )
    return root
