"""The provider contract's cases: one account per provider and, for each, requests as that
PBX sends them, with payloads taken from its document in ``pbx-docs/``.

A case declares valid deliveries (each with the doc sample its stored events must carry in
``raw``), a forged and an unsigned variant of one of them, a properly authenticated
malformed request, and what must be in Redis or running before the web tier starts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from redis.asyncio import Redis

from bot.pbx.mango.signing import sign
from bot.pbx.mobilon.keys import EmployeeKeys
from bot.pbx.relay.redis_keys import RelayKeys
from bot.storage import Keys
from sandbox.mts import MtsSimulator
from sandbox.relay import encode_multipart
from tests.conftest import MANGO_ACCOUNT
from tests.secret_keys import TEST_BOX

# One account per provider, shared with the fuzz tests.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "mango": dict(MANGO_ACCOUNT),
    "mts": {
        "id": "mts",
        "provider": "mts",
        "api_token": "fuzz-mts-api-token-1",
        "callback_key": "fuzz-mts-callback-key-1",
    },
    "mobilon": {"id": "mobilon", "provider": "mobilon", "api_token": "fuzz-mobilon-token-1"},
    "relay": {"id": "relay", "provider": "relay", "secret": "fuzz-relay-secret-0123456789"},
}
UNKNOWN_ACCOUNT = "nobody"

# Account overrides and state a case needs before its web tier starts.
Arrange = Callable[[Redis, AsyncExitStack], Awaitable[dict[str, Any]]]


async def _nothing(redis: Redis, stack: AsyncExitStack) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Delivery:
    """One HTTP request from a PBX to ``/pbx/{account}{path}``."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    # The doc's fields (as the PBX sends them) that every event it stores keeps in ``raw``.
    sample: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContractCase:
    """What the contract sends one provider's account."""

    provider: str
    valid: tuple[Delivery, ...]
    forged: Delivery  # the secret is wrong
    unsigned: Delivery  # no secret at all
    malformed: Delivery  # authenticated, but not what the doc says the PBX sends
    arrange: Arrange = _nothing

    @property
    def account(self) -> dict[str, Any]:
        return ACCOUNTS[self.provider]


# --- MANGO: mango-office-api.txt, section 3.1 (signed form fields) ---------------------
MANGO_KEY: str = MANGO_ACCOUNT["api_key"]
MANGO_SALT: str = MANGO_ACCOUNT["api_salt"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

# 3.1.1 "Пример запроса", exactly as printed: "from", "to" and "dct" lack their colons.
MANGO_CALL_AS_PRINTED = """{
  "entry_id": "1MN0Q1MDOQ==",
  "call_id": "MIxEyNTzTo6NDxkzNMMOzNQ==",
  "timestamp": 1558422128,
  "seq": 2,
  "call_state": "Disconnected",
  "location": "abonent",
  "from" {
    "number": "79001234567",
    "taken_from_call_id": "oMNTMyzTzNTTo6NxNkDIxOxM3EMNTj"
  },
  "to" {
    "extension": "29",
    "number": "sip:user00000@tech.mangosip.ru",
    "line_number": "sip:line00000@tech.mangosip.ru",
    "acd_group": "303"
  },
  "disconnect_reason": 1131,
  "dct" {
    "number": "74001234567",
    "type": 1
  }
}"""
MANGO_CALL = MANGO_CALL_AS_PRINTED.replace('" {', '": {')
# 3.1.3 "Пример 1", verbatim.
MANGO_RECORDING = """{
  "recording_id" : "r100:777:500:256",
  "recording_state" : "Started",
  "seq" : 1,
  "call_id" : "100:500:256",
  "entry_id": "232wc3e3w3s222",
  "extension" : "1234",
  "timestamp" : "1399906976",
  "command_id" : "cmd.12.vpbx.12345.external.system.com.net"
}"""
# 3.1.4, verbatim.
MANGO_DTMF = """{
  "seq" : 1,
  "dtmf" : "124",
  "timestamp" : "1399906980",
  "call_id" : "100:500:256",
  "entry_id": "232wc3e3w3s222",
  "location" : "ivr.2",
  "initiator" : "790000000000",
  "from_number" : "790000000000",
  "to_number" : "7800123456789",
  "line_number" : "7800123456789"
}"""
# 3.1.5 "Пример 1", with the colon after "from" the doc leaves out.
MANGO_SUMMARY = """{
  "entry_id": "232wc3e3w3s222",
  "call_direction": 1,
  "from" {
    "number" : "7800123635242"
  },
  "to": {
    "extension": "123",
    "number" : "7800123456789"
  },
  "line_number" : "7800123456789",
  "create_time" : 1399906976,
  "forward_time" : 1399906978,
  "talk_time" : 1399906980,
  "end_time" : 1399906990,
  "entry_result": 1,
  "disconnect_reason" : 1100
}""".replace('" {', '": {')


def mango(path: str, text: str, *, salt: str = MANGO_SALT, signed: bool = True) -> Delivery:
    """The doc's form: ``vpbx_api_key``, ``sign`` over the ``json`` text as it is, ``json``."""
    form = {"vpbx_api_key": MANGO_KEY, "json": text}
    if signed:
        form["sign"] = sign(MANGO_KEY, text, salt)
    try:
        sample = json.loads(text)
    except ValueError:
        sample = {}
    return Delivery("POST", path, headers=FORM, body=urlencode(form).encode(), sample=sample)


MANGO = ContractCase(
    provider="mango",
    valid=(
        mango("/events/call", MANGO_CALL),
        mango("/events/recording", MANGO_RECORDING),
        mango("/events/dtmf", MANGO_DTMF),
        mango("/events/summary", MANGO_SUMMARY),
    ),
    forged=mango("/events/call", MANGO_CALL, salt="not-the-salt"),
    unsigned=mango("/events/call", MANGO_CALL, signed=False),
    malformed=mango("/events/call", MANGO_CALL_AS_PRINTED),
)


# --- MTS: mts-vpbx-api-crm.md, section 4.7 (X-AUTH-TOKEN is the callback key) ----------
# Section 4.7 as printed (its markdown line-end spaces dropped): CALL_ORIGINATED is bare.
MTS_NOTIFICATION_AS_PRINTED = """{
  "eventType": CALL_ORIGINATED,
  "abonentId": 0,
  "payload":
    {
      "callId": "string",
      "extTrackingId": "",
      "state": "string",
      "remotePartyName": "string",
      "remotePartyAddress": "string",
      "callDirection": "string",
      "startTime": 0,
      "answerTime": 0,
      "endTime": 0
    }
}"""
MTS_NOTIFICATION = MTS_NOTIFICATION_AS_PRINTED.replace("CALL_ORIGINATED", '"CALL_ORIGINATED"')
MTS_CALLBACK_KEY: str = ACCOUNTS["mts"]["callback_key"]


def mts(text: str, token: str | None = MTS_CALLBACK_KEY) -> Delivery:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-AUTH-TOKEN"] = token
    try:
        sample = json.loads(text)
    except ValueError:
        sample = {}
    return Delivery("POST", "/events", headers=headers, body=text.encode(), sample=sample)


async def mts_directory(redis: Redis, stack: AsyncExitStack) -> dict[str, Any]:
    """A new abonent id makes the provider read the directory (section 4.4) first."""
    sim = await stack.enter_async_context(MtsSimulator(ACCOUNTS["mts"]["api_token"]))
    return {"api_url": sim.base_url}


MTS = ContractCase(
    provider="mts",
    valid=(mts(MTS_NOTIFICATION),),
    forged=mts(MTS_NOTIFICATION, token="fuzz-mts-callback-key-2"),
    unsigned=mts(MTS_NOTIFICATION, token=None),
    malformed=mts(MTS_NOTIFICATION_AS_PRINTED),
    arrange=mts_directory,
)


# --- Mobilon: mobilon-api.md, "Получение звонков абонентами" ---------------------------
# The webhook URL carries {NUMBER} (the caller) and {KEY} (the key of the employee the call
# reached); the caller is the doc's "from" number of its call info example.
MOBILON_KEY = "mobilon-employee-key-101"
MOBILON_CALLER = "81234567890"


def mobilon(**query: str) -> Delivery:
    sample = {"number": query["number"]} if "number" in query else {}
    return Delivery("GET", "/incoming", query=query, sample=sample)


async def mobilon_key(redis: Redis, stack: AsyncExitStack) -> dict[str, Any]:
    """The employee's key, stored as the key command and ``pbxgram`` CLI store it."""
    await EmployeeKeys(redis, box=TEST_BOX).set(ACCOUNTS["mobilon"]["id"], "101", MOBILON_KEY)
    return {}


MOBILON = ContractCase(
    provider="mobilon",
    valid=(mobilon(number=MOBILON_CALLER, key=MOBILON_KEY),),
    forged=mobilon(number=MOBILON_CALLER, key="mobilon-employee-key-102"),
    unsigned=mobilon(number=MOBILON_CALLER),
    malformed=mobilon(key=MOBILON_KEY),  # {NUMBER} is what the webhook is for
    arrange=mobilon_key,
)


# --- relay: the "telephony via API" format (the secret is the URL's @channelKey) --------
RELAY_SECRET: str = ACCOUNTS["relay"]["secret"]
# The two cURL examples, sent as curl --form sends them.
RELAY_CREATE = {
    "action": "create_call",
    "direction": "outgoing",
    "phone": "777777777",
    "call_status": "ringing",
    "comment": "start",
}
RELAY_UPDATE = {
    "action": "update_call",
    "call_id": "725",
    "call_status": "canceled",
    "user_id": "1",
    "comment": "missed",
}


def relay(fields: Mapping[str, str], secret: str = RELAY_SECRET) -> Delivery:
    body, content_type = encode_multipart(fields.items())
    return Delivery(
        "POST", f"/calls/{secret}", headers={"Content-Type": content_type}, body=body, sample=fields
    )


async def relay_call_725(redis: Redis, stack: AsyncExitStack) -> dict[str, Any]:
    """The doc's create_call is answered call_id 725, the call its update_call example names."""
    await redis.set(RelayKeys.of(Keys(), ACCOUNTS["relay"]["id"]).call_ids(), 724)
    return {}


RELAY = ContractCase(
    provider="relay",
    valid=(relay(RELAY_CREATE), relay(RELAY_UPDATE)),
    forged=relay(RELAY_UPDATE, secret="fuzz-relay-secret-0123456788"),
    # Without a secret the URL has no route at all; the doc's URL with @channelKey unfilled.
    unsigned=relay(RELAY_UPDATE, secret="@channelKey"),
    malformed=relay({k: v for k, v in RELAY_CREATE.items() if k != "phone"}),
    arrange=relay_call_725,
)

CASES: dict[str, ContractCase] = {case.provider: case for case in (MANGO, MTS, MOBILON, RELAY)}
