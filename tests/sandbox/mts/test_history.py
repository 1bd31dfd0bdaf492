"""The MTS simulator's call history and recordings as the doc shows them: a call through the
voice menu and the queue (section 4.5.1) and recordings fetched by the conversation's id in
the form of section 4.9's example."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from sandbox.mts import Abonent, MtsSimulator

CLIENT = "+79121112233"
FIELDS = [  # a row's fields in the doc's order (lines 373-394)
    "enterpriseBwksId",
    "groupBwksId",
    "departmentBwksId",
    "userId",
    "callTime",
    "callingNumber",
    "calledNumber",
    "duration",
    "direction",
    "status",
    "answerDuration",
    "terminationCause",
    "redirectingNumber",
    "redirectingReason",
    "callGroupId",
    "recordAbonentId",
    "abonentName",
    "timeZone",
    "extTrackingId",
]


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[MtsSimulator]:
    async with MtsSimulator("t", step_delay=0.001) as pbx:
        pbx.add_abonent(Abonent(1, "201", "Ivan", phone_number="+79165818888"))
        pbx.add_abonent(Abonent(2, "202", "Olga", phone_number="+79165819999"))
        yield pbx


async def test_a_call_through_the_menu_and_the_queue_is_logged_as_the_doc_shows(
    sim: MtsSimulator,
) -> None:
    """Section 4.5.1 (lines 365-483): the menu's row (lines 373-394) and the queue's
    (lines 403-423) are PLACED with answerDuration 0; the agent who declined is MISSED
    with USER_BUSY and CALL_CENTER (lines 431-452); the one who picked up is PLACED after
    ringing, with the queue's number as callingNumber and the agent before as
    redirectingNumber (lines 459-480). Every row shares the call's extTrackingId base."""
    base = await sim.menu_queue_call(CLIENT, ["202", "201"], answered_by="201")
    menu, queue, busy, agent = sim.history

    assert all(list(r) == FIELDS for r in sim.history)
    assert all(r["extTrackingId"].startswith(f"{base}callhalf-") for r in sim.history)
    assert {r["direction"] for r in sim.history} == {"TERMINATING"}
    assert menu["userId"].endswith("AutoAttendant1@inside.mts.ru")
    assert (menu["callingNumber"], menu["calledNumber"]) == (CLIENT, "+79165817777")
    assert queue["userId"].endswith("CallCenter2@inside.mts.ru")
    assert (queue["calledNumber"], queue["redirectingNumber"]) == ("718", "+79165817777")
    assert queue["redirectingReason"] == "DEFLECTION"
    for service in (menu, queue):
        assert (service["status"], service["answerDuration"]) == ("PLACED", 0)
        assert service["callGroupId"] == menu["extTrackingId"].split("-")[1].split(":")[0]
    assert (busy["status"], busy["terminationCause"]) == ("MISSED", "USER_BUSY")
    assert (busy["callingNumber"], busy["calledNumber"]) == (CLIENT, "+79165819999")
    assert (busy["redirectingNumber"], busy["redirectingReason"]) == ("+79165817777", "CALL_CENTER")
    assert (agent["status"], agent["callingNumber"]) == ("PLACED", "718")
    assert agent["answerDuration"] >= 1
    assert (agent["redirectingNumber"], agent["calledNumber"]) == ("+79165819999", "+79165818888")
    queue_half = queue["extTrackingId"].split("callhalf-")[1].split(":")[0]
    assert busy["callGroupId"] == agent["callGroupId"] == queue_half


async def test_a_call_nobody_in_the_queue_took_has_only_placed_services(
    sim: MtsSimulator,
) -> None:
    await sim.menu_queue_call(CLIENT, ["201", "202"])
    statuses = [(r["status"], r["answerDuration"]) for r in sim.history]
    assert statuses == [("PLACED", 0), ("PLACED", 0), ("MISSED", 0), ("MISSED", 0)]


async def test_answered_legs_ring_at_least_a_second(sim: MtsSimulator) -> None:
    """Lines 246, 471: a person picks up after ringing; the doc's answered rows have
    answerDuration 2 to 8, never the 0 of a service."""
    await sim.ring_group(CLIENT, ["201", "202"], answered_by="202")
    rows = {r["calledNumber"]: r for r in sim.history}
    assert rows["+79165819999"]["status"] == "PLACED"
    assert rows["+79165819999"]["answerDuration"] >= 1
    assert rows["+79165818888"]["status"] == "MISSED"
    assert rows["+79165818888"]["answerDuration"] == 0


async def test_recordings_are_fetched_by_the_conversation_s_id_only(sim: MtsSimulator) -> None:
    """Section 4.9: ``GET /api/callRecording/mp3/{extTrackingId}``, "идентификатор
    разговора" (lines 949-952), example ``11122233:1`` (line 958; line 935 for the original
    file). A call half's ``…callhalf-…:0`` is not that form: 400."""
    base = await sim.ring_group(CLIENT, ["201"], answered_by="201", record=True)
    [leg] = [leg for leg in sim.legs.values() if leg.base == base]
    assert list(sim.recordings) == [base]

    async with httpx.AsyncClient(base_url=sim.base_url, headers={"X-AUTH-TOKEN": "t"}) as api:
        mp3 = await api.get(f"api/callRecording/mp3/{base}")
        original = await api.get(f"api/callRecording/{base}")
        half = await api.get(f"api/callRecording/mp3/{leg.ext_tracking_id}")
        unknown = await api.get("api/callRecording/mp3/11122233:1")

    assert (mp3.status_code, original.status_code) == (200, 200)
    assert mp3.content == sim.recordings[base]
    assert half.status_code == 400
    assert unknown.status_code == 404
