"""The PBX directory: employees (3.6.1), groups (3.6.2) and lines (3.6.7), with the
answers of ``config/users/request``, ``groups`` and ``incominglines`` built from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_WAIT_SEC = 120


@dataclass
class Employee:
    """A PBX employee; ``phones`` are PSTN numbers, ``sips`` SIP accounts ("user@domain");
    ``switched_off`` the ones among them whose ``status`` is "off" (3.6.1)."""

    extension: str
    name: str
    phones: list[str] = field(default_factory=list)
    email: str = ""
    groups: list[int] = field(default_factory=list)
    user_id: int | None = None
    department: str = ""
    position: str = ""
    login: str = ""
    sips: list[str] = field(default_factory=list)
    mobile: str | None = None
    outgoingline: str | None = None
    line_id: int | None = None
    access_role_id: int = 10451
    dial_alg: int = 1
    use_status: int = 0
    use_cc_numbers: int = 0
    switched_off: list[str] = field(default_factory=list)

    @property
    def main_number(self) -> str | None:
        """The first device number switched on, as events and summaries show it."""
        on = [number for number, _ in self.numbers() if self.status(number) == "on"]
        return on[0] if on else None

    def numbers(self) -> list[tuple[str, str]]:
        """(number, protocol) of every device in ring order."""
        return [(p, "tel") for p in self.phones] + [("sip:" + s, "sip") for s in self.sips]

    def status(self, number: str) -> str:
        """A device's ``status``: "on – активен, off – выключен"."""
        off = number in self.switched_off or number.removeprefix("sip:") in self.switched_off
        return "off" if off else "on"


@dataclass
class Group:
    """A group of operators (``members`` are extensions) with the settings 3.6.2 lists."""

    id: int
    name: str
    extension: str = ""
    members: list[str] = field(default_factory=list)
    description: str = ""
    dial_alg_group: int = 2
    dial_alg_users: int = 1
    auto_redirect: int = 0
    auto_dial: int = 0
    line_id: int | None = None
    use_dynamic_ivr: int = 0
    use_dynamic_seq_num: int = 0
    melody_id: int | None = None


@dataclass
class Line:
    """A PBX number (DID, 7-800 or SIP line) as ``incominglines`` lists it."""

    number: str
    name: str | None = None
    line_id: int | None = None
    comment: str | None = None
    region: str | None = None
    schema_id: int | None = 10000008
    schema_name: str | None = "По умолчанию"

    def answer(self) -> dict[str, Any]:
        region = self.region
        if region is None:
            if self.number.startswith("sip:"):
                region = "sip"
            elif self.number.startswith("7800"):
                region = "toll-free"
            else:
                region = "2"
        return {
            "line_id": self.line_id,
            "number": self.number,
            "name": self.name,
            "comment": self.comment,
            "region": region,
            "schema_id": self.schema_id,
            "schema_name": self.schema_name,
        }


class Directory:
    """Employees, groups and lines of one simulated PBX."""

    def __init__(self) -> None:
        self.employees: dict[str, Employee] = {}
        self.groups: dict[int, Group] = {}
        self.lines: list[Line] = []
        self._next_user_id = 300052401
        self._next_line_id = 300049195

    def add_employee(self, employee: Employee) -> Employee:
        if employee.user_id is None:
            employee.user_id = self._next_user_id
            self._next_user_id += 1
        self.employees[employee.extension] = employee
        return employee

    def add_group(self, group: Group) -> Group:
        self.groups[group.id] = group
        return group

    def add_line(self, line: Line) -> Line:
        if line.line_id is None:
            line.line_id = self._next_line_id
            self._next_line_id += 1
        self.lines.append(line)
        return line

    def by_number(self, number: str) -> Employee | None:
        """The employee with this extension or device number."""
        if number in self.employees:
            return self.employees[number]
        bare = number.removeprefix("sip:")
        for employee in self.employees.values():
            if number in employee.phones or bare in employee.sips or number == employee.mobile:
                return employee
        return None

    def group_by_extension(self, extension: str) -> Group | None:
        return next((g for g in self.groups.values() if g.extension == extension), None)

    def members(self, group: Group) -> list[str]:
        """Extensions in the group: its own list plus employees that name the group."""
        found = list(group.members)
        for employee in self.employees.values():
            if group.id in employee.groups and employee.extension not in found:
                found.append(employee.extension)
        return found

    def groups_of(self, employee: Employee) -> list[int]:
        found = list(employee.groups)
        for group in self.groups.values():
            if employee.extension in group.members and group.id not in found:
                found.append(group.id)
        return found

    # answers ---------------------------------------------------------------------
    def users_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``config/users/request``: example 1's shape, or example 2's with ``ext_fields``."""
        extension = payload.get("extension")
        ext_fields = payload.get("ext_fields") or []
        wanted = {str(f) for f in ext_fields} if isinstance(ext_fields, list) else set()
        chosen: Iterable[Employee] = self.employees.values()
        if extension not in (None, ""):
            chosen = [e for e in chosen if e.extension == str(extension)]
        return {"users": [self._user(e, wanted) for e in chosen]}

    def _user(self, employee: Employee, wanted: set[str]) -> dict[str, Any]:
        general: dict[str, Any] = {
            "name": employee.name,
            "email": employee.email,
            "department": employee.department,
            "position": employee.position,
        }
        extra_general = {
            "general.user_id": ("user_id", employee.user_id),
            "general.access_role_id": ("access_role_id", employee.access_role_id),
            "general.mobile": ("mobile", employee.mobile),
            "general.login": ("login", employee.login or None),
            "general.use_status": ("use_status", employee.use_status),
            "general.use_cc_numbers": ("use_cc_numbers", employee.use_cc_numbers),
            "general.sips": ("sips", [{"number": sip} for sip in employee.sips]),
        }
        for name, (key, value) in extra_general.items():
            if name in wanted:
                general[key] = value
        numbers: list[dict[str, Any]] = []
        for order, (number, protocol) in enumerate(employee.numbers()):
            if wanted:
                item: dict[str, Any] = {"number": number}
                if protocol == "tel":
                    item["number_normalized"] = number
                item |= {"protocol": protocol, "order": order, "wait_sec": DEFAULT_WAIT_SEC}
                item["status"] = employee.status(number)
                if "telephony.numbers.schedule" in wanted:
                    item["schedule"] = []
            else:
                item = {
                    "number": number,
                    "protocol": protocol,
                    "order": str(order),
                    "wait_sec": str(DEFAULT_WAIT_SEC),
                    "status": employee.status(number),
                }
            numbers.append(item)
        telephony: dict[str, Any] = {
            "extension": employee.extension,
            "outgoingline": employee.outgoingline,
            "numbers": numbers,
        }
        if "telephony.dial_alg" in wanted:
            telephony["dial_alg"] = employee.dial_alg
        if "telephony.line_id" in wanted:
            telephony["line_id"] = employee.line_id
        if "telephony.trunk_number_id" in wanted:
            telephony["trunk_number_id"] = None
        user: dict[str, Any] = {"general": general, "telephony": telephony}
        if "groups" in wanted:
            user["groups"] = self.groups_of(employee)
        return user

    def groups_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``groups``: every group, one (``group_id``) or an operator's; operators on request."""
        chosen = list(self.groups.values())
        group_id = payload.get("group_id")
        if group_id not in (None, ""):
            chosen = [g for g in chosen if str(g.id) == str(group_id)]
        operator = self._operator(payload)
        if operator is not None:
            chosen = [g for g in chosen if g.id in self.groups_of(operator)]
        elif payload.get("operator_id") or payload.get("operator_extension"):
            chosen = []
        show_users = str(payload.get("show_users", "0")) == "1"
        return {"result": 1000, "groups": [self._group(g, show_users) for g in chosen]}

    def _operator(self, payload: dict[str, Any]) -> Employee | None:
        if payload.get("operator_extension"):
            return self.employees.get(str(payload["operator_extension"]))
        if payload.get("operator_id"):
            wanted = str(payload["operator_id"])
            return next((e for e in self.employees.values() if str(e.user_id) == wanted), None)
        return None

    def _group(self, group: Group, show_users: bool) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": group.id,
            "name": group.name,
            "description": group.description,
            "extension": group.extension,
            "dial_alg_group": group.dial_alg_group,
            "dial_alg_users": group.dial_alg_users,
            "auto_redirect": group.auto_redirect,
            "auto_dial": group.auto_dial,
            "line_id": group.line_id,
            "use_dynamic_ivr": group.use_dynamic_ivr,
            "use_dynamic_seq_num": group.use_dynamic_seq_num,
            "melody_id": group.melody_id,
        }
        if show_users:
            operators = []
            for order, extension in enumerate(self.members(group), start=1):
                employee = self.employees.get(extension)
                operators.append(
                    {
                        "id": employee.user_id if employee else None,
                        "name": employee.name if employee else "",
                        "extension": extension,
                        "priority": order,
                        "order": order,
                    }
                )
            item["operators"] = operators
        return item

    def lines_answer(self) -> dict[str, Any]:
        """``incominglines``."""
        return {"result": 1000, "lines": [line.answer() for line in self.lines]}
