"""Getting in: ``/start``, invite links and phone-contact proof (private chats)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message, ReplyKeyboardRemove

from bot.domain import ApprovalRequest, Role
from bot.phones import display
from bot.services.access import Access
from bot.telegram.identity import Identity
from bot.telegram.keyboards import approval_keyboard, contact_keyboard
from bot.telegram.notices import Notices
from bot.texts import Translator


def build_router() -> Router:
    """``/start`` (with or without an invite) and phone proof, in private chats."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.message.register(start_with_invite, CommandStart(deep_link=True))
    router.message.register(start, CommandStart())
    router.message.register(contact_shared, F.contact, _proves_a_phone)
    return router


async def start_with_invite(
    message: Message,
    command: CommandObject,
    identity: Identity,
    t: Translator,
    access: Access,
    notices: Notices,
) -> None:
    invite = await access.accept_invite(command.args or "", identity.telegram_id)
    if invite is None:
        await message.answer(t("invite_invalid"))
        return
    role = t.label(f"roles.{invite.role.value}")
    await message.answer(
        t("invite_accepted", extension=invite.extension, account=invite.account, role=role),
        reply_markup=ReplyKeyboardRemove(),
    )
    await notices.send(
        invite.created_by,
        "invite_used",
        fallback=t.language,
        name=identity.user.display_name,
        extension=invite.extension,
        account=invite.account,
    )


async def start(message: Message, identity: Identity, t: Translator) -> None:
    if identity.linked:
        await message.answer(
            t("start_linked", name=identity.user.first_name, links=identity.links),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    await message.answer(
        t("start_unlinked", name=identity.user.first_name),
        reply_markup=contact_keyboard(t),
    )


def _proves_a_phone(message: Message, identity: Identity) -> bool:
    """A contact for linking: one's own, or anything from someone not linked yet.

    A linked person's contact of someone else is a number to call (handlers/calling.py).
    """
    contact = message.contact
    return not identity.linked or (contact is not None and contact.user_id == identity.telegram_id)


async def contact_shared(
    message: Message, identity: Identity, t: Translator, access: Access, notices: Notices
) -> None:
    contact = message.contact
    if contact is None or contact.user_id != identity.telegram_id:
        await message.answer(t("contact_not_own"), reply_markup=contact_keyboard(t))
        return
    phone, employee = await access.employee_for_phone(contact.phone_number)
    if phone is None:
        await message.answer(t("contact_bad_number"), reply_markup=ReplyKeyboardRemove())
        return
    if employee is None:
        await message.answer(
            t("contact_no_match", phone=display(phone)), reply_markup=ReplyKeyboardRemove()
        )
        return
    if any(
        link.account == employee.account and link.extension == employee.extension
        for link in identity.links
    ):
        await message.answer(
            t("contact_already_linked", extension=employee.extension),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    account = access.account(employee.account)
    if account is not None and account.auto_link_by_phone:
        await access.link(
            employee.account,
            employee.extension,
            identity.telegram_id,
            Role.REP,
            by=identity.telegram_id,
            how="phone",
        )
        await message.answer(
            t("contact_linked", extension=employee.extension, account=employee.account),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    request = await access.request_approval(identity.user, phone, employee)
    sent = await _ask_admins(request, identity, access, notices)
    reply = "contact_pending" if sent else "contact_no_admins"
    await message.answer(t(reply), reply_markup=ReplyKeyboardRemove())


async def _ask_admins(
    request: ApprovalRequest, identity: Identity, access: Access, notices: Notices
) -> bool:
    """Send the request to every reachable admin; remember the messages to edit later."""
    messages: list[tuple[int, int]] = []
    for admin_id in await access.admin_ids():
        sent = await notices.send(
            admin_id,
            "approval_request",
            fallback=identity.language,
            markup=lambda admin_t: approval_keyboard(admin_t, request.id),
            name=identity.user.display_name,
            telegram_id=identity.telegram_id,
            phone=display(request.phone),
            employee=request.employee_name,
            extension=request.extension,
            account=request.account,
        )
        if sent is not None:
            messages.append((admin_id, sent.message_id))
    if messages:
        await access.repos.approvals.save(
            request.model_copy(update={"admin_messages": tuple(messages)})
        )
    return bool(messages)
