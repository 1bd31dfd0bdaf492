"""What the MTS simulator keeps: abonents, subscriptions, calls and the requests it got."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

ENDED = ("Released", "Detached")  # leg states with no way back


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
    redirecting_number: str = ""  # who transferred the call to this abonent, if anybody
    in_history: bool = False

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def base(self) -> str:
        """The ``extTrackingId`` part every half of this call shares."""
        return self.ext_tracking_id.split("callhalf-", 1)[0]

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


@dataclass(eq=False)
class LiveCall:
    """A call that stays up in real time between ``caller`` (the client, or an abonent's
    leg) and ``called`` (the legs or the number it rings; one once answered).

    It ends on hang-up, when nobody answers within ``ring_timeout`` seconds, after
    ``talk_timeout`` seconds of talk (the far side hangs up) or on
    :meth:`MtsSimulator.end_live_call`. Transfers keep the object: read :attr:`legs`
    again to find the abonent who took the call over.
    """

    base: str
    caller: Leg | str
    called: list[Leg | str]
    ring_timeout: float
    talk_timeout: float
    talking: bool = False
    timer: asyncio.TimerHandle | None = None

    @property
    def ends(self) -> list[Leg | str]:
        return [self.caller, *self.called]

    @property
    def legs(self) -> list[Leg]:
        """The abonents' legs still on the call."""
        return [end for end in self.ends if isinstance(end, Leg) and not end.ended]

    def has(self, leg: Leg) -> bool:
        return any(end is leg for end in self.ends)

    def other(self, leg: Leg) -> Leg | str:
        """The party ``leg`` talks (or would talk) to."""
        if leg is not self.caller:
            return self.caller
        answered = (e for e in self.called if isinstance(e, str) or e.state != "Alerting")
        return next(answered, self.called[0])


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
