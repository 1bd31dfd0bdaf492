"""MANGO outbound-dialing campaigns. The spec numbers statuses differently in the list
method (3.8.1) and in the info/start/stop methods (3.8.2, 3.8.4): each is mapped as written.
"""

from __future__ import annotations

from typing import Any

from bot.domain import Campaign, CampaignStatus

LIST_STATUSES = {
    1: CampaignStatus.PLANNED,
    2: CampaignStatus.RUNNING,
    3: CampaignStatus.STOPPING,
    4: CampaignStatus.STOPPED,
    5: CampaignStatus.FINISHED,
    7: CampaignStatus.PROCESSING,
}
INFO_STATUSES = {
    0: CampaignStatus.STOPPED,
    1: CampaignStatus.PLANNED,
    2: CampaignStatus.RUNNING,
    3: CampaignStatus.STOPPING,
    4: CampaignStatus.FINISHED,
    5: CampaignStatus.PROCESSING,
    6: CampaignStatus.DELETING,
}


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def status_from_list(value: Any) -> CampaignStatus:
    return LIST_STATUSES.get(_code(value) or -1, CampaignStatus.UNKNOWN)


def status_from_info(value: Any) -> CampaignStatus:
    code = _code(value)
    return INFO_STATUSES.get(code if code is not None else -1, CampaignStatus.UNKNOWN)


def campaign_from_list(item: dict[str, Any]) -> Campaign:
    """A campaign from ``campaign/get_list`` (with task counts)."""
    return Campaign(
        id=str(item.get("campaign_id", "")),
        name=str(item.get("name") or ""),
        status=status_from_list(item.get("status")),
        vendor_status=str(item.get("status", "")),
        tasks_total=_code(item.get("tasks_count")),
        tasks_done=_code(item.get("finished_tasks_count")),
    )


def campaign_from_info(item: dict[str, Any]) -> Campaign:
    """A campaign from ``campaign`` (info: no task counts)."""
    return Campaign(
        id=str(item.get("campaign_id", "")),
        name=str(item.get("name") or ""),
        status=status_from_info(item.get("status")),
        vendor_status=str(item.get("status", "")),
    )
