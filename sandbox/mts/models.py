"""What the MTS simulator keeps: abonents, subscriptions, calls and the requests it got."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Abonent:
    """An abonent of the enterprise (section 4.4)."""

    user_id: int
    extension: str
    first_name: str = ""
    last_name: str = ""
    phone_number: str = ""
    group_id: int = 0
    department: str = ""
    email: str = ""
    service_provider_id: int = 1

    def as_api(self) -> dict[str, Any]:
        return {
            "callingLineIdPhoneNumber": self.phone_number,
            "department": self.department,
            "email": self.email,
            "extension": self.extension,
            "firstName": self.first_name,
            "groupId": self.group_id,
            "lastName": self.last_name,
            "phoneNumber": self.phone_number,
            "serviceProviderId": self.service_provider_id,
            "userId": self.user_id,
        }


@dataclass
class Subscription:
    abonent_id: int
    subscription_id: str
    expires_at: float  # time.monotonic()

    def expires_in(self) -> int:
        return max(0, round(self.expires_at - time.monotonic()))


@dataclass
class Leg:
    """One abonent's side of a call, as the events describe it."""

    abonent_id: int
    call_id: str
    ext_tracking_id: str
    remote: str
    direction: str  # Originator | Terminator | Click-to-Dial
    remote_name: str = ""  # the remote party's name as the PBX knows it, if it does
    state: str = "Alerting"
    start_time: int = field(default_factory=now_ms)
    answer_time: int = 0
    end_time: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "callId": self.call_id,
            "extTrackingId": self.ext_tracking_id,
            "state": self.state,
            "remotePartyName": self.remote_name,
            "remotePartyAddress": f"tel:{self.remote}",
            "callDirection": self.direction,
            "startTime": self.start_time,
            "answerTime": self.answer_time,
            "endTime": self.end_time,
        }


@dataclass(frozen=True)
class ReceivedRequest:
    """A request the simulator received (after the token check)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int


@dataclass(frozen=True)
class Posted:
    """A notification the simulator sent, and the bot's answer (0: no answer)."""

    url: str
    event: dict[str, Any]
    status: int
