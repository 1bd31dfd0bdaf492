"""Linking people to extensions: invites, phone proof, approvals, roles.

Use :class:`Access` from handlers and the ``pbxgram link`` command alike, so a link made
from the shell and one made in the chat follow the same rules.
"""

from __future__ import annotations

from bot.config import Account, Settings
from bot.domain import ApprovalRequest, Employee, Invite, Link, Role, User
from bot.pbx.providers import Providers
from bot.phones import normalise
from bot.services.audit import AuditLog
from bot.storage import Repositories

Actor = int | str | None  # who acted: a telegram id, "cli", or None (the bot itself)


class Access:
    """The rules for who is linked to what, with which role."""

    def __init__(
        self,
        repos: Repositories,
        settings: Settings,
        providers: Providers,
        audit: AuditLog | None = None,
    ) -> None:
        self.repos = repos
        self.settings = settings
        self.providers = providers
        self.audit = audit  # None: nothing is recorded (tools and tests that link directly)

    def account(self, account_id: str | None) -> Account | None:
        """The named account, or the only one when none is named."""
        if account_id is None:
            return self.settings.accounts[0] if len(self.settings.accounts) == 1 else None
        return self.settings.account(account_id)

    async def link(
        self,
        account: str,
        extension: str,
        telegram_id: int,
        role: Role,
        *,
        by: Actor = None,
        how: str = "",
    ) -> Link:
        """Link the user as ``extension`` with ``role``; whoever had the extension loses it.

        ``by`` and ``how`` (invite, phone, approval, cli) go to the audit trail."""
        previous = await self.repos.links.link(account, extension, telegram_id)
        if previous is not None:
            await self._drop_role_if_unlinked(previous.telegram_id)
        current = await self.repos.users.get(telegram_id)
        keep_admin = current is not None and current.role is Role.ADMIN
        await self.repos.users.set_role(telegram_id, Role.ADMIN if keep_admin else role)
        details = {"user": str(telegram_id), "extension": extension, "role": role.value}
        if how:
            details["how"] = how
        if previous is not None and previous.telegram_id != telegram_id:
            details["replaced"] = str(previous.telegram_id)
        await self._record("link", by, account, details)
        return Link(account=account, extension=extension, telegram_id=telegram_id)

    async def unlink(
        self, telegram_id: int, account: str | None = None, *, by: Actor = None
    ) -> list[Link]:
        removed = await self.repos.links.unlink(telegram_id, account)
        await self._drop_role_if_unlinked(telegram_id)
        for link in removed:
            details = {"user": str(telegram_id), "extension": link.extension}
            await self._record("unlink", by, link.account, details)
        return removed

    async def set_role(self, telegram_id: int, role: Role, *, by: Actor = None) -> None:
        """Give the user ``role`` (``/role``)."""
        await self.repos.users.set_role(telegram_id, role)
        await self._record("role", by, None, {"user": str(telegram_id), "role": role.value})

    async def create_invite(
        self, account: str, extension: str, role: Role, created_by: int
    ) -> Invite:
        """A one-time invite; the trail keeps who made it for what, never its code."""
        invite = await self.repos.invites.create(account, extension, role, created_by)
        details = {"extension": extension, "role": role.value}
        await self._record("invite_created", created_by, account, details)
        return invite

    async def accept_invite(self, code: str, telegram_id: int) -> Invite | None:
        """Use the invite once; None when it is unknown, expired or already used."""
        invite = await self.repos.invites.consume(code)
        if invite is None or self.settings.account(invite.account) is None:
            return None
        await self._record(
            "invite_used",
            telegram_id,
            invite.account,
            {"extension": invite.extension, "invited_by": str(invite.created_by)},
        )
        await self.link(
            invite.account, invite.extension, telegram_id, invite.role, by=telegram_id, how="invite"
        )
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

    async def _record(
        self, action: str, actor: Actor, account: str | None, details: dict[str, str]
    ) -> None:
        if self.audit is not None:
            await self.audit.record(action, actor=actor, account=account, details=details)

    async def _drop_role_if_unlinked(self, telegram_id: int) -> None:
        user = await self.repos.users.get(telegram_id)
        if user is None or user.role is Role.ADMIN:
            return
        if not await self.repos.links.of_user(telegram_id):
            await self.repos.users.set_role(telegram_id, None)
