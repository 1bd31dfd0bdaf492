"""aiogram routers, one per module; their order is decided here."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    account,
    admin,
    approvals,
    calling,
    calls,
    common,
    fallback,
    groups,
    journal,
    mobilon_keys,
    reports,
    start,
    telephony,
)


def build_router() -> Router:
    """The root router: specific routers first, catch-alls last.

    The feature routers live at module level, as aiogram intends; a process that builds
    more than one Dispatcher (the test suite) takes them back from the previous root,
    since aiogram offers no public way to detach a router.
    """
    routers = (
        start.router,
        approvals.router,
        admin.router,
        groups.router,
        groups.admin_router,
        common.router,
        calls.router,
        calling.router,
        account.router,
        journal.router,
        reports.router,
        mobilon_keys.router,
        telephony.router,
        fallback.router,
    )
    for router in routers:
        previous = router.parent_router
        if previous is not None:
            previous.sub_routers.remove(router)
            router._parent_router = None
    root = Router(name="pbxgram")
    root.include_routers(*routers)
    return root
