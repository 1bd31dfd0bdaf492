"""aiogram routers, one per module; their order is decided here."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, approvals, calls, common, fallback, groups, start, telephony


def build_router() -> Router:
    """The root router: specific routers first, catch-alls last."""
    root = Router(name="pbxgram")
    root.include_routers(
        start.router,
        approvals.router,
        admin.router,
        groups.router,
        groups.admin_router,
        common.router,
        calls.router,
        telephony.router,
        fallback.router,
    )
    return root
