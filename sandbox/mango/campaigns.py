"""Outbound-dialing campaigns of the contact centre (spec 3.8.1-3.8.4).

The spec numbers campaign statuses differently in the list (3.8.1) and in the info,
start and stop answers (3.8.2, 3.8.4); :attr:`Campaign.status` holds the info numbering
and the list answer translates it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sandbox.mango import codes

if TYPE_CHECKING:
    from sandbox.mango.directory import Directory

MSK = timezone(timedelta(hours=3))

STOPPED, PLANNED, RUNNING, STOPPING, FINISHED, PROCESSING, DELETING = range(7)
"""Statuses as 3.8.2 and 3.8.4 number them."""

LIST_STATUS = {PLANNED: 1, RUNNING: 2, STOPPING: 3, STOPPED: 4, FINISHED: 5, PROCESSING: 7}
"""3.8.2 status -> 3.8.1 status (a campaign being deleted is not listed)."""


@dataclass
class CampaignTask:
    """One contact to dial in a campaign, as ``task`` (3.8.3) describes it."""

    campaign_task_id: int
    number: str
    name: str = ""
    position: str | None = None
    organization: str | None = None
    talk_duration: int = 0
    status: int = 1
    status_reason: int | None = None
    comment: str | None = None
    blocked_until: int | None = None
    transfer_number: str | None = None
    updated: int | None = None
    end: int | None = None
    created: int | None = None


@dataclass
class Campaign:
    """A campaign; ``status`` uses the 3.8.2 numbering (0 stopped, 1 planned, 2 running,
    3 stopping, 4 finished, 5 processing, 6 deleting); ``members`` are extensions,
    ``member_id`` the author's user id.
    """

    campaign_id: int
    name: str = ""
    status: int = STOPPED
    priority: int = 2
    line_id: int | None = None
    member_id: int | None = None
    members: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    dial_mode: int = 2
    redial_busy: int = 3
    redial_no_answer: int = 3
    redial_not_avail: int = 3
    answer_wait: int = 30
    additional_calls_coefficient: str = "1.0"
    timer_busy: int = 900
    timer_no_answer: int = 3600
    timer_not_avail: int = 3600
    service_type: int = 1
    tasks_count: int | None = None
    finished_tasks_count: int | None = None
    call_processing: int = 0
    status_reason: int = 1
    schema_id: int | None = None
    created: datetime | None = None
    completed: datetime | None = None
    tasks: list[CampaignTask] = field(default_factory=list)

    @property
    def total_tasks(self) -> int:
        return self.tasks_count if self.tasks_count is not None else len(self.tasks)

    @property
    def finished_tasks(self) -> int:
        if self.finished_tasks_count is not None:
            return self.finished_tasks_count
        return sum(1 for task in self.tasks if task.status == 4)  # 3.8.3: 4 - завершен


def _dotted(moment: datetime | None) -> str | None:
    """The list answer's "уууу.ММ.дд hh:mm:ss" (Moscow time)."""
    return moment.astimezone(MSK).strftime("%Y.%m.%d %H:%M:%S") if moment else None


def _unix(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


class Campaigns:
    """The campaign store and the answers of 3.8.1-3.8.4."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.items: dict[int, Campaign] = {}

    def add(self, campaign: Campaign) -> Campaign:
        self.items[campaign.campaign_id] = campaign
        return campaign

    def _find(self, payload: dict[str, Any]) -> Campaign | None:
        try:
            return self.items.get(int(payload.get("campaign_id", "")))
        except (TypeError, ValueError):
            return None

    def list_answer(self) -> dict[str, Any]:
        """``campaign/get_list`` (3.8.1), statuses in the list numbering."""
        listed = [c for c in self.items.values() if c.status in LIST_STATUS]
        return {
            "result": codes.SUCCESS,
            "cmd_id": str(uuid.uuid4()),
            "campaigns": [self._list_item(c) for c in listed],
        }

    def _list_item(self, campaign: Campaign) -> dict[str, Any]:
        member_ids = [
            e.user_id
            for ext in campaign.members
            if (e := self.directory.employees.get(ext)) is not None
        ]
        return {
            "campaign_id": campaign.campaign_id,
            "member_id": campaign.member_id,
            "name": campaign.name,
            "priority": campaign.priority,
            "status": LIST_STATUS[campaign.status],
            "start": _dotted(campaign.start),
            "end": _dotted(campaign.end),
            "member_ids": member_ids,
            "dial_mode": campaign.dial_mode,
            "redial_busy": campaign.redial_busy,
            "redial_no_answer": campaign.redial_no_answer,
            "redial_not_avail": campaign.redial_not_avail,
            "answer_wait": campaign.answer_wait,
            "additional_calls_coefficient": campaign.additional_calls_coefficient,
            "timer_busy": campaign.timer_busy,
            "timer_no_answer": campaign.timer_no_answer,
            "timer_not_avail": campaign.timer_not_avail,
            "service_type": campaign.service_type,
            "tasks_count": campaign.total_tasks,
            "finished_tasks_count": campaign.finished_tasks,
            "created": _dotted(campaign.created),
            "completed": _dotted(campaign.completed),
        }

    def info_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``campaign`` (3.8.2), statuses in the info numbering, times as unix seconds."""
        campaign = self._find(payload)
        if campaign is None:
            return {"result": codes.NO_OBJECT, "message": "Объект не существует"}
        author = next(
            (e for e in self.directory.employees.values() if e.user_id == campaign.member_id),
            None,
        )
        created_by = (
            {"user_id": author.user_id, "name": author.name, "extension": author.extension}
            if author
            else {"user_id": campaign.member_id, "name": None, "extension": None}
        )
        return {
            "result": codes.SUCCESS,
            "campaign": {
                "campaign_id": campaign.campaign_id,
                "line_id": campaign.line_id,
                "created_by": created_by,
                "name": campaign.name,
                "start": _unix(campaign.start),
                "end": _unix(campaign.end),
                "status": campaign.status,
                "priority": campaign.priority,
                "members": list(campaign.members),
                "redial_busy": campaign.redial_busy,
                "redial_no_answer": campaign.redial_no_answer,
                "redial_not_avail": campaign.redial_not_avail,
                "timer_busy": campaign.timer_busy,
                "timer_no_answer": campaign.timer_no_answer,
                "timer_not_avail": campaign.timer_not_avail,
                "answer_wait": campaign.answer_wait,
                "add_calls_coef": float(campaign.additional_calls_coefficient),
                "dial_mode": campaign.dial_mode,
                "call_processing": campaign.call_processing,
                "status_reason": campaign.status_reason,
                "schema_id": campaign.schema_id,
                "created": _unix(campaign.created),
            },
        }

    def task_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``task`` (3.8.3); the spec's answer spells the code key ``Result``."""
        wanted = str(payload.get("task_id", ""))
        for campaign in self.items.values():
            for task in campaign.tasks:
                if str(task.campaign_task_id) == wanted:
                    return {"Result": codes.SUCCESS, "task": _task(campaign, task)}
        return {"Result": codes.NO_OBJECT, "message": "Объект не существует"}

    def start_answer(self, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
        """``campaign/start``: planned until its start time, running after it."""
        campaign = self._find(payload)
        if campaign is None:
            return {"result": codes.NO_OBJECT, "message": "Объект не существует"}
        if campaign.status in (FINISHED, DELETING, PROCESSING):
            return {"result": codes.IMPOSSIBLE, "status": campaign.status}
        if campaign.end is not None and campaign.end <= now:
            return {"result": codes.IMPOSSIBLE, "status": campaign.status}
        campaign.status = PLANNED if campaign.start and campaign.start > now else RUNNING
        campaign.status_reason = 1
        return {"result": codes.SUCCESS, "status": campaign.status}

    def stop_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``campaign/stop``: the campaign is stopped (0), as the spec's example answers."""
        campaign = self._find(payload)
        if campaign is None:
            return {"result": codes.NO_OBJECT, "message": "Объект не существует"}
        if campaign.status in (PLANNED, RUNNING, STOPPING):
            campaign.status = STOPPED
            campaign.status_reason = 1
        return {"result": codes.SUCCESS, "status": campaign.status}


def _task(campaign: Campaign, task: CampaignTask) -> dict[str, Any]:
    return {
        "campaign_task_id": task.campaign_task_id,
        "campaign_id": campaign.campaign_id,
        "name": task.name,
        "position": task.position,
        "organization": task.organization,
        "number": task.number,
        "talk_duration": task.talk_duration,
        "status": task.status,
        "status_reason": task.status_reason,
        "comment": task.comment,
        "blocked_until": task.blocked_until,
        "transfer_number": task.transfer_number,
        "updated": task.updated,
        "end": task.end,
        "created": task.created,
    }
