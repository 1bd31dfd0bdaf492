"""One-time invites (24 h) and pending phone-proof approvals."""

from __future__ import annotations

import secrets
from datetime import timedelta

from redis.asyncio import Redis

from bot.domain import ApprovalRequest, Invite, Role
from bot.storage.keys import Keys

INVITE_TTL = timedelta(hours=24)
APPROVAL_TTL = timedelta(days=7)


class InviteRepository:
    """Create invites and consume them exactly once (GETDEL)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def create(self, account: str, extension: str, role: Role, created_by: int) -> Invite:
        invite = Invite(
            code=secrets.token_urlsafe(18),
            account=account,
            extension=extension,
            role=role,
            created_by=created_by,
        )
        await self._redis.set(
            self._keys.invite(invite.code), invite.model_dump_json(), ex=INVITE_TTL
        )
        return invite

    async def consume(self, code: str) -> Invite | None:
        """The invite, removed so no one can use it again; None if unknown, used or expired."""
        if not code or len(code) > 64:
            return None
        raw = await self._redis.getdel(self._keys.invite(code))
        return Invite.model_validate_json(raw) if raw else None


class ApprovalRepository:
    """Pending approvals; a decision takes the request atomically so it is made once."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def save(self, request: ApprovalRequest) -> None:
        await self._redis.set(
            self._keys.approval(request.id), request.model_dump_json(), ex=APPROVAL_TTL
        )

    async def take(self, request_id: str) -> ApprovalRequest | None:
        """The request, removed; None when another admin already decided or it expired."""
        raw = await self._redis.getdel(self._keys.approval(request_id))
        return ApprovalRequest.model_validate_json(raw) if raw else None

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(9)
