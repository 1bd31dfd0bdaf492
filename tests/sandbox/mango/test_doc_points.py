"""The MANGO simulator on points where the spec (mango-office-api.txt) and its FAQ
(mango-office-api-faq.txt) are precise: where a recording goes, numbers switched off in
the directory, ``sms_sender``, and a call the voice menu ends itself."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from sandbox.mango import Employee, Line, MangoLimits, MangoSimulator, sign

KEY, SALT = "test-api-key", "test-api-salt"
LINE = "74950000000"
CLIENT = "79001234567"


@pytest_asyncio.fixture
async def posted() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    """The external system: its URL and every (path, payload) posted to it, signed right."""
    got: list[tuple[str, dict[str, Any]]] = []

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        raw = str(form.get("json", ""))
        assert form.get("sign") == sign(KEY, raw, SALT)
        got.append((request.match_info["path"], json.loads(raw)))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/pbx/main/{path:.+}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/pbx/main", got
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def sim(
    posted: tuple[str, list[tuple[str, dict[str, Any]]]],
) -> AsyncIterator[MangoSimulator]:
    async with MangoSimulator(
        KEY, SALT, webhook_url=posted[0], limits=MangoLimits.disabled(), step_delay=0.001
    ) as simulator:
        simulator.add_employee(
            Employee(
                extension="101",
                name="Anna",
                phones=["79991110000", "79991112233"],
                sips=["anna@vpbx.mangosip.ru"],
                switched_off=["79991110000"],
            )
        )
        simulator.add_line(Line(number=LINE))
        yield simulator


async def _post(sim: MangoSimulator, path: str, payload: Any) -> httpx.Response:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    form = {"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}
    async with httpx.AsyncClient() as http:
        return await http.post(sim.base_url + path, data=form)


def _of(posted: tuple[str, list[tuple[str, dict[str, Any]]]], path: str) -> list[dict[str, Any]]:
    return [payload for got, payload in posted[1] if got == path]


# recordings (3.1.3) ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("recipient", "in_the_cloud"), [("Cloud", True), ("Mail", False), ("CloudAndMail", True)]
)
async def test_a_recording_goes_where_its_recipient_says(
    sim: MangoSimulator,
    posted: tuple[str, list[tuple[str, dict[str, Any]]]],
    recipient: str,
    in_the_cloud: bool,
) -> None:
    """Lines 570 and 596-603: a Completed recording names its recipient; "Mail" is "отправлена
    на e-mail пользователя" and not in the cloud, so queries/recording/post (3.4.1, line
    1918) answers 3320 "Запись разговора не найдена" (line 7926) for it."""
    sim.recording_recipient = recipient  # type: ignore[assignment]
    record = await sim.play_inbound(LINE, CLIENT, answered_by="101", record=True)
    started, completed = _of(posted, "events/recording")
    assert "recipient" not in started
    assert (completed["recording_state"], completed["completion_code"]) == ("Completed", 1000)
    assert completed["recipient"] == recipient

    answer = await _post(
        sim, "queries/recording/post", {"recording_id": record.recording_id, "action": "download"}
    )
    if in_the_cloud:
        assert answer.status_code == 302
    else:
        assert (answer.status_code, answer.json()) == (420, {"code": 3320})


# the directory (3.6.1) ------------------------------------------------------------------
@pytest.mark.parametrize("ext_fields", [None, ["general.mobile"]])
async def test_the_directory_marks_each_number_on_or_off(
    sim: MangoSimulator, ext_fields: list[str] | None
) -> None:
    """Line 2347: "status – статус номера, возможные значения: on – активен, off –
    выключен", per number as in the answer of lines 2385-2430."""
    payload = {} if ext_fields is None else {"ext_fields": ext_fields}
    [user] = (await _post(sim, "config/users/request", payload)).json()["users"]
    statuses = [(n["number"], n["status"]) for n in user["telephony"]["numbers"]]
    assert statuses == [
        ("79991110000", "off"),
        ("79991112233", "on"),
        ("sip:anna@vpbx.mangosip.ru", "on"),
    ]


async def test_a_switched_off_number_does_not_ring(
    sim: MangoSimulator, posted: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    """Line 2347: an "off" number is "выключен": the employee's leg rings the first number
    switched on (line 727: "номер окончного устройства вызываемого абонента")."""
    await sim.play_inbound(LINE, CLIENT, ring=["101"], answered_by=None, record=False)
    ringing = [e for e in _of(posted, "events/call") if e["to"].get("extension") == "101"]
    assert {e["to"]["number"] for e in ringing} == {"79991112233"}


# commands/sms (3.2.4) -------------------------------------------------------------------
@pytest.mark.parametrize("sender", [None, "", "PRO-TAXI"])
async def test_sms_is_accepted_with_or_without_a_sender_name(
    sim: MangoSimulator,
    posted: tuple[str, list[tuple[str, dict[str, Any]]]],
    sender: str | None,
) -> None:
    """Spec line 1066: sms_sender "Поле опциональное ... Если не заполнено или не допустимо -
    будет использоваться имя отправителя, выбранное в ЛК"; FAQ line 278 sends "" as
    "ОБЯЗАТЕЛЬНЫЙ ПАРАМЕТР". Left out, empty or a name: all go out."""
    payload = {
        "command_id": "smsmsmsm",
        "text": "Hello world!",
        "from_extension": "101",
        "to_number": "74955404444",
    }
    if sender is not None:
        payload["sms_sender"] = sender
    answer = await _post(sim, "commands/sms", payload)
    assert (answer.status_code, answer.json()) == (200, {"result": 1000})
    await sim.wait_idle()
    assert _of(posted, "result/sms") == [{"command_id": "smsmsmsm", "result": 1000}]
    [delivery] = _of(posted, "events/sms")
    assert delivery["reason"] == 1000


async def test_a_sender_name_that_is_not_a_string_is_refused(sim: MangoSimulator) -> None:
    """Line 1066: "строка не более 128 байт"; a number is a parameter in the wrong format,
    3104 (line 7921), answered HTTP 420 as section 2.1.1 says."""
    payload = {"text": "Hi", "from_extension": "101", "to_number": CLIENT, "sms_sender": 5}
    answer = await _post(sim, "commands/sms", payload)
    assert (answer.status_code, answer.json()) == (420, {"code": 3104})


# a call the voice menu ends (3.1.5 example 2) -------------------------------------------
async def test_a_call_ended_in_the_voice_menu_is_summarised_as_example_2(
    sim: MangoSimulator, posted: tuple[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    """Lines 779-801: "разговор завершился в IVR меню без переадресации": "to" empty,
    forward_time set, talk_time 0 and entry_result 1, disconnect_reason 1170."""
    record = await sim.play_inbound(LINE, CLIENT, ends_in_ivr=True)
    [ivr] = [e for e in _of(posted, "events/call") if e["call_state"] == "Disconnected"]
    assert (ivr["location"], ivr["disconnect_reason"]) == ("ivr", 1170)
    [summary] = _of(posted, "events/summary")
    assert summary["entry_id"] == record.entry_id
    assert (summary["call_direction"], summary["from"], summary["to"]) == (
        1,
        {"number": CLIENT},
        {},
    )
    assert summary["line_number"] == LINE
    assert summary["forward_time"] == summary["create_time"] + 2
    assert (summary["talk_time"], summary["entry_result"]) == (0, 1)
    assert summary["disconnect_reason"] == 1170
    assert summary["end_time"] > summary["create_time"]
