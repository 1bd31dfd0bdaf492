"""Answers of the API methods, one function per path, after the request was verified."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.mango import codes, scenarios, stats
from sandbox.mango.address_book import CursorError
from sandbox.mango.blacklist import ListError
from sandbox.mango.campaigns import MSK
from sandbox.mango.live import Order
from sandbox.mango.speech import SpeechError
from sandbox.mango.transfers import NUMBER

if TYPE_CHECKING:
    from sandbox.mango.simulator import MangoSimulator

SMS_LIMIT_LATIN = 612
SMS_LIMIT_CYRILLIC = 268


@dataclass
class Reply:
    """An HTTP answer: a JSON object, raw bytes or nothing."""

    status: int = 200
    data: dict[str, Any] | None = None
    body: bytes | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def result_code(self) -> int | None:
        """The ``result`` (or ``code`` of an error) the answer carries."""
        if self.data is None:
            return None
        for key in ("result", "Result", "code"):
            if key in self.data and self.status != 503:
                try:
                    return int(self.data[key])
                except (TypeError, ValueError):
                    return None
        return None


class Invalid(Exception):
    """The request's data is wrong: answered HTTP 420 ``{"code": N}`` (spec 2.1.1)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def ok(data: dict[str, Any]) -> Reply:
    return Reply(200, data)


def failure(code: int) -> Reply:
    """HTTP 420 Method Failure with the error code, as the spec answers errors."""
    return Reply(420, {"code": code})


def text(payload: dict[str, Any], name: str, *, required: bool = True) -> str:
    """A string (or number) field; 3103 when missing, 3104 when of another type."""
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(codes.MISSING_PARAMETER)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Invalid(codes.BAD_FORMAT)
    return str(value)


Handler = Callable[["MangoSimulator", dict[str, Any]], Awaitable[Reply]]


# commands (3.2) ---------------------------------------------------------------------
async def callback(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    caller = payload.get("from")
    if caller is None:
        raise Invalid(codes.MISSING_PARAMETER)
    if not isinstance(caller, dict):
        raise Invalid(codes.BAD_FORMAT)
    extension = text(caller, "extension")
    to_number = text(payload, "to_number")
    command_id = text(payload, "command_id", required=False)
    line_number = text(payload, "line_number", required=False) or None
    if not sim.auto_play:
        return ok({"result": codes.SUCCESS})
    if extension not in sim.directory.employees or not NUMBER.fullmatch(to_number):
        sim.spawn(sim.post_result("callback", command_id, codes.BAD_PARAMETERS))
    else:
        sim.spawn(
            sim.play_callback(extension, to_number, command_id=command_id, line_number=line_number)
        )
    return ok({"result": codes.SUCCESS})


async def callback_group(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    source, target = text(payload, "from"), text(payload, "to")
    line_number = text(payload, "line_number")
    command_id = text(payload, "command_id", required=False)
    directory = sim.directory
    has_group = any(directory.group_by_extension(n) for n in (source, target))
    known_lines = {line.number for line in directory.lines} | {
        line.name for line in directory.lines if line.name
    }
    good = has_group and (not known_lines or line_number in known_lines)
    group = directory.group_by_extension(source)
    if good and sim.auto_play and group is not None and NUMBER.fullmatch(target):
        members = directory.members(group)
        answerer = sim.group_answerer or (members[0] if members else None)
        sim.spawn(
            scenarios.play_group_callback(
                sim,
                source,
                target,
                command_id=command_id or None,
                line_number=line_number,
                answered_by=answerer,
            )
        )
        return ok({"result": codes.SUCCESS})
    result = codes.SUCCESS if good else codes.BAD_PARAMETERS
    sim.spawn(sim.post_result("callback_group", command_id, result))
    return ok({"result": codes.SUCCESS})


def _to_live_call(
    sim: MangoSimulator, command: str, payload: dict[str, Any], call_id: str, command_id: str
) -> bool:
    """Hand the command to the live call owning the leg, if there is one."""
    live = sim.live_call_of(call_id)
    if live is None:
        return False
    live.give(Order(command, call_id, command_id, payload))
    return True


async def hangup(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    call_id = text(payload, "call_id")
    command_id = text(payload, "command_id", required=False)
    if _to_live_call(sim, "call/hangup", payload, call_id, command_id):
        return ok({"result": codes.SUCCESS})
    result = codes.SUCCESS if call_id in sim.live_legs else codes.CALL_GONE
    if result == codes.SUCCESS:
        sim.hangups.add(call_id)
    sim.spawn(sim.post_result("call/hangup", command_id, result))
    return ok({"result": codes.SUCCESS})


async def recording_start(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    call_id = text(payload, "call_id")
    number = text(payload, "call_party_number")
    command_id = text(payload, "command_id", required=False)
    if _to_live_call(sim, "recording/start", payload, call_id, command_id):
        return ok({"result": codes.SUCCESS})
    if call_id not in sim.live_legs:
        result = codes.CALL_GONE
    elif sim.directory.by_number(number) is None:
        result = codes.NO_NUMBER
    else:
        result = codes.SUCCESS
    sim.spawn(sim.post_result("recording/start", command_id, result))
    return ok({"result": codes.SUCCESS})


async def route(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    call_id = text(payload, "call_id")
    text(payload, "to_number")
    command_id = text(payload, "command_id", required=False)
    if _to_live_call(sim, "route", payload, call_id, command_id):
        return ok({"result": codes.SUCCESS})
    result = codes.SUCCESS if call_id in sim.live_legs else codes.CALL_GONE
    sim.spawn(sim.post_result("route", command_id, result))
    return ok({"result": codes.SUCCESS})


async def transfer(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    call_id = text(payload, "call_id")
    text(payload, "to_number")
    if text(payload, "method") not in ("blind", "hold"):
        raise Invalid(codes.BAD_FORMAT)
    command_id = text(payload, "command_id", required=False)
    if _to_live_call(sim, "transfer", payload, call_id, command_id):
        return ok({"result": codes.SUCCESS})
    result = codes.SUCCESS if call_id in sim.live_legs else codes.CALL_GONE
    sim.spawn(sim.post_result("transfer", command_id, result))
    return ok({"result": codes.SUCCESS})


def sms_limit(message: str) -> int:
    """612 characters for Latin text, 268 once any other letter (Cyrillic) appears (3.2.4)."""
    return SMS_LIMIT_LATIN if message.isascii() else SMS_LIMIT_CYRILLIC


async def sms(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    message = payload.get("text")
    if message is None or message == "":
        raise Invalid(codes.MISSING_PARAMETER)
    if not isinstance(message, str):
        raise Invalid(codes.BAD_FORMAT)
    extension = text(payload, "from_extension")
    to_number = text(payload, "to_number")
    command_id = text(payload, "command_id", required=False)
    # 3.2.4: optional, a name not given (or not allowed) means the account's own; the FAQ
    # sends "" as mandatory. Left out, empty or a name: all accepted; not a string: 3104.
    if not isinstance(payload.get("sms_sender", ""), str):
        raise Invalid(codes.BAD_FORMAT)
    if len(message) > sms_limit(message):
        raise Invalid(codes.BAD_PARAMETERS)
    if not sim.auto_play:
        return ok({"result": codes.SUCCESS})
    if extension not in sim.directory.employees or to_number in sim.directory.employees:
        sim.spawn(sim.post_result("sms", command_id, codes.BAD_PARAMETERS))
    else:
        sim.spawn(sim.play_sms(command_id))
    return ok({"result": codes.SUCCESS})


# statistics (3.3) and recordings (3.4.1) --------------------------------------------
def _timestamp(payload: dict[str, Any], name: str) -> int:
    try:
        return int(text(payload, name))
    except ValueError:
        raise Invalid(codes.BAD_FORMAT) from None


async def stats_request(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    start, end = _timestamp(payload, "date_from"), _timestamp(payload, "date_to")
    if end < start or end - start > stats.MAX_PERIOD:
        raise Invalid(codes.BAD_PARAMETERS)
    key = stats.new_key()
    request_id = text(payload, "request_id", required=False) or None
    csv = stats.build_csv(sim.history, payload, start, end)
    sim.stats_jobs[key] = stats.StatsJob(csv, request_id, sim.stats_ready_after)
    if sim.stats_ready_after <= 0:
        sim.spawn(sim.post_stats_ready(key, request_id))
    return ok({"key": key})


async def stats_result(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    key = text(payload, "key")
    job = sim.stats_jobs.get(key)
    if job is None:
        return Reply(404)
    if job.polls_left > 0:
        job.polls_left -= 1
        if job.polls_left == 0:
            sim.spawn(sim.post_stats_ready(key, job.request_id))
        return Reply(204)
    del sim.stats_jobs[key]
    return Reply(200, body=job.csv.encode(), content_type="text/csv")


async def recording_post(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    recording_id = text(payload, "recording_id")
    action = text(payload, "action")
    if action not in ("download", "play"):
        raise Invalid(codes.BAD_FORMAT)
    return sim.recording_redirect(recording_id, action)


# configuration (3.6) and the contact centre (3.8) -----------------------------------
async def users(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.directory.users_answer(payload))


async def groups(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.directory.groups_answer(payload))


async def balance(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    amount, currency = sim.balance
    return ok(
        {
            "result": codes.SUCCESS,
            "balance": float(amount),
            "currency": currency,
            "response_at": datetime.now(MSK).strftime("%Y-%m-%d %H:%M:%S"),
        }
    )


async def lines(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.directory.lines_answer())


async def campaign_list(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.campaigns.list_answer())


async def campaign_info(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.campaigns.info_answer(payload))


async def campaign_task(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.campaigns.task_answer(payload))


async def campaign_start(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.campaigns.start_answer(payload, datetime.now(UTC)))


async def campaign_stop(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.campaigns.stop_answer(payload))


async def contacts_init(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    try:
        return ok(sim.address_book.init_answer(payload))
    except CursorError:
        raise Invalid(codes.BAD_PARAMETERS) from None


async def contacts_cursor(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    try:
        return ok(sim.address_book.cursor_answer(payload))
    except CursorError:
        raise Invalid(codes.BAD_PARAMETERS) from None


def _coded(answer: Callable[[], dict[str, Any]]) -> Reply:
    """The answer, or HTTP 420 with the result code the request was refused with."""
    try:
        return ok(answer())
    except (ListError, SpeechError) as exc:
        raise Invalid(exc.code) from None


async def bw_state(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.bwlists.state_answer())


async def bw_numbers(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return ok(sim.bwlists.numbers_answer())


async def bw_add(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return _coded(lambda: sim.bwlists.add(payload))


async def bw_delete(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return _coded(lambda: sim.bwlists.delete(payload))


async def transcripts(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return _coded(lambda: sim.speech.transcripts_answer(payload))


async def categories(sim: MangoSimulator, payload: dict[str, Any]) -> Reply:
    return _coded(lambda: sim.speech.categories_answer(payload))


HANDLERS: dict[str, Handler] = {
    "queries/recording_transcripts": transcripts,
    "queries/recording_categories": categories,
    "bwlists/state": bw_state,
    "bwlists/numbers": bw_numbers,
    "bwlists/number/add": bw_add,
    "bwlists/number/delete": bw_delete,
    "ab/contact/init": contacts_init,
    "ab/contact/cursor": contacts_cursor,
    "commands/callback": callback,
    "commands/callback_group": callback_group,
    "commands/call/hangup": hangup,
    "commands/sms": sms,
    "commands/recording/start": recording_start,
    "commands/route": route,
    "commands/transfer": transfer,
    "stats/request": stats_request,
    "stats/result": stats_result,
    "queries/recording/post": recording_post,
    "config/users/request": users,
    "groups": groups,
    "account/balance": balance,
    "incominglines": lines,
    "campaign/get_list": campaign_list,
    "io/v1/campaign/get_list": campaign_list,
    "campaign": campaign_info,
    "task": campaign_task,
    "campaign/start": campaign_start,
    "campaign/stop": campaign_stop,
}
"""Every POST method the simulator serves, by path relative to ``/vpbx/``."""
