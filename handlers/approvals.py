"""Admins approving or rejecting a phone-proof link request."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.domain import ApprovalRequest, Role
from bot.phones import display
from bot.services.access import Access
from bot.telegram.callbacks import ApprovalCallback, Decision
from bot.telegram.gates import RequireRole
from bot.telegram.identity import Identity
from bot.telegram.notices import Notices
from bot.texts import Translator


def build_router() -> Router:
    """Approve / Reject buttons on link requests; admins only."""
    router = Router(name=__name__)
    router.callback_query.middleware(RequireRole(Role.ADMIN))
    router.callback_query.register(approve, ApprovalCallback.filter(F.decision == Decision.APPROVE))
    router.callback_query.register(reject, ApprovalCallback.filter(F.decision == Decision.REJECT))
    return router


async def approve(
    query: CallbackQuery,
    callback_data: ApprovalCallback,
    identity: Identity,
    t: Translator,
    access: Access,
    notices: Notices,
) -> None:
    await _decide(query, callback_data, identity, t, access, notices, approved=True)


async def reject(
    query: CallbackQuery,
    callback_data: ApprovalCallback,
    identity: Identity,
    t: Translator,
    access: Access,
    notices: Notices,
) -> None:
    await _decide(query, callback_data, identity, t, access, notices, approved=False)


async def _decide(
    query: CallbackQuery,
    callback_data: ApprovalCallback,
    identity: Identity,
    t: Translator,
    access: Access,
    notices: Notices,
    *,
    approved: bool,
) -> None:
    """Link (or not) the applicant, tell them, and close every admin's copy of the request."""
    request = await access.repos.approvals.take(callback_data.request_id)
    if request is None:
        await query.answer(t.label("notices.already_decided"), show_alert=True)
        return
    if approved:
        await access.link(
            request.account,
            request.extension,
            request.telegram_id,
            Role.REP,
            by=identity.telegram_id,
            how="approval",
        )
    if access.audit is not None:
        await access.audit.record(
            "approval_approved" if approved else "approval_rejected",
            actor=identity.telegram_id,
            account=request.account,
            details={"user": str(request.telegram_id), "extension": request.extension},
        )
    await notices.send(
        request.telegram_id,
        "access_granted" if approved else "access_rejected",
        extension=request.extension,
        account=request.account,
    )
    await _close_admin_messages(request, query, identity, approved, access, notices)
    await query.answer(t.label("notices.approved" if approved else "notices.rejected"))


async def _close_admin_messages(
    request: ApprovalRequest,
    query: CallbackQuery,
    identity: Identity,
    approved: bool,
    access: Access,
    notices: Notices,
) -> None:
    """Edit every admin's copy of the request to say who decided what."""
    applicant = await access.repos.users.get(request.telegram_id)
    targets = set(request.admin_messages)
    if query.message is not None:
        targets.add((query.message.chat.id, query.message.message_id))
    for chat_id, message_id in sorted(targets):
        await notices.edit(
            chat_id,
            message_id,
            "approval_decided",
            fallback=identity.language,
            approved=approved,
            name=applicant.display_name if applicant else str(request.telegram_id),
            phone=display(request.phone),
            extension=request.extension,
            account=request.account,
            admin=identity.user.display_name,
        )
