"""Linking people to extensions: invites, phone proof, approvals, roles.

Use :class:`Access` from handlers and the ``pbxgram link`` command alike, so a link made
from the shell and one made in the chat follow the same rules.
"""

from __future__ import annotations

from bot.config import Account, Settings
from bot.domain import ApprovalRequest, Employee, Invite, Link, Role, User
from bot.pbx.providers import Providers
from bot.phones import normalise
from bot.storage import Repositories


class Access:
    """The rules for who is linked to what, with which role."""

    def __init__(self, repos: Repositories, settings: Settings, providers: Providers) -> None:
        self.repos = repos
        self.settings = settings
        self.providers = providers

    def account(self, account_id: str | None) -> Account | None:
        """The named account, or the only one when none is named."""
        if account_id is None:
            return self.settings.accounts[0] if len(self.settings.accounts) == 1 else None
        return self.settings.account(account_id)

    async def link(self, account: str, extension: str, telegram_id: int, role: Role) -> Link:
        """Link the user as ``extension`` with ``role``; whoever had the extension loses it."""
        previous = await self.repos.links.link(account, extension, telegram_id)
        if previous is not None:
            await self._drop_role_if_unlinked(previous.telegram_id)
        current = await self.repos.users.get(telegram_id)
        keep_admin = current is not None and current.role is Role.ADMIN
        await self.repos.users.set_role(telegram_id, Role.ADMIN if keep_admin else role)
        return Link(account=account, extension=extension, telegram_id=telegram_id)

    async def unlink(self, telegram_id: int, account: str | None = None) -> list[Link]:
        removed = await self.repos.links.unlink(telegram_id, account)
        await self._drop_role_if_unlinked(telegram_id)
        return removed

    async def accept_invite(self, code: str, telegram_id: int) -> Invite | None:
        """Use the invite once; None when it is unknown, expired or already used."""
        invite = await self.repos.invites.consume(code)
        if invite is None or self.settings.account(invite.account) is None:
            return None
        await self.link(invite.account, invite.extension, telegram_id, invite.role)
        return invite

    async def employee_for_phone(self, raw_phone: str) -> tuple[str | None, Employee | None]:
        """The normalised number and the employee it belongs to, if any."""
        phone = normalise(raw_phone)
        if phone is None:
            return None, None
        return phone, await self.providers.find_employee_by_phone(phone)

    async def request_approval(self, user: User, phone: str, employee: Employee) -> ApprovalRequest:
        request = ApprovalRequest(
            id=self.repos.approvals.new_id(),
            telegram_id=user.telegram_id,
            account=employee.account,
            extension=employee.extension,
            employee_name=employee.name,
            phone=phone,
        )
        await self.repos.approvals.save(request)
        return request

    async def admin_ids(self) -> list[int]:
        """Everyone who is an admin: ``ADMIN_IDS`` and users given the admin role."""
        stored = {u.telegram_id for u in await self.repos.users.all() if u.role is Role.ADMIN}
        return sorted(stored | set(self.settings.admin_ids))

    async def find_user(self, target: str) -> User | None:
        """A known user by telegram id or @username."""
        target = target.strip()
        if target.lstrip("-").isdigit():
            return await self.repos.users.get(int(target))
        name = target.removeprefix("@").lower()
        return next(
            (u for u in await self.repos.users.all() if (u.username or "").lower() == name),
            None,
        )

    async def _drop_role_if_unlinked(self, telegram_id: int) -> None:
        user = await self.repos.users.get(telegram_id)
        if user is None or user.role is Role.ADMIN:
            return
        if not await self.repos.links.of_user(telegram_id):
            await self.repos.users.set_role(telegram_id, None)
