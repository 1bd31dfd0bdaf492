"""Fuzzing every webhook route and parser.

Injected: arbitrary bodies, headers, queries and route parameters on every route of every
provider in ``provider_classes()`` (hypothesis, straight into ``verify``/``parse``); signed
MANGO forms carrying arbitrary JSON and near-valid events; signed forms with one part
tampered; and schemathesis cases generated from ``openapi.yaml`` (positive and negative)
sent over HTTP to the real web tier (``running(..., web_role=True, worker_role=False)``).

Must hold: the parsers raise nothing but WebhookForbidden/WebhookMalformed; nothing
unsigned ever parses; the web tier never answers 5xx, every rejection is a 4xx the
contract documents, and the events stream does not grow by a single entry from unsigned
input (while one correctly signed request does add one).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis as SyncRedis
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import status_code_conformance

from bot.app import running
from bot.config import Settings
from bot.pbx.base import Inbound, Provider, WebhookForbidden, WebhookMalformed
from bot.pbx.mango.signing import compact_json, sign, signed_form
from bot.pbx.providers import Providers
from bot.pbx.registry import provider_classes
from bot.pipeline.stream import decode_event, encode_event
from bot.storage import Keys
from sandbox.telegram import Limits, TelegramEmulator
from tests.conftest import MANGO_ACCOUNT
from tests.pbx.contract_cases import ACCOUNTS  # one account per provider of the contract
from tests.reliability.figures import record
from tests.secret_keys import TEST_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi.yaml"
EXAMPLES = int(os.environ.get("PBXGRAM_FUZZ_EXAMPLES", "150"))  # per provider and property
HTTP_EXAMPLES = int(os.environ.get("PBXGRAM_FUZZ_HTTP_EXAMPLES", "25"))  # per operation, mode
FORM = "application/x-www-form-urlencoded"
KEY: str = MANGO_ACCOUNT["api_key"]
SALT: str = MANGO_ACCOUNT["api_salt"]

SECRETS = [
    value
    for account in ACCOUNTS.values()
    for name, value in account.items()
    if name in ("api_key", "api_salt", "api_token", "callback_key", "secret")
]
# What an outsider may know: MANGO's key travels in every form, but only the salt signs.
HEADER_NAMES = ["Content-Type", "content-type", "X-AUTH-TOKEN", "X-Auth-Token", "Authorization"]
FIELD_NAMES = [
    "vpbx_api_key",
    "sign",
    "json",
    "action",
    "call_status",
    "phone",
    "direction",
    "call_id",
    "key",
    "number",
    "eventType",
]
# The fields each MANGO route reads (mango-office-api.txt), for near-valid events.
MANGO_FIELDS: dict[str, list[str]] = {
    "events/call": [
        "entry_id",
        "call_id",
        "timestamp",
        "seq",
        "call_state",
        "location",
        "from",
        "to",
        "disconnect_reason",
        "command_id",
        "task_id",
        "callback_initiator",
    ],
    "events/summary": [
        "entry_id",
        "call_direction",
        "from",
        "to",
        "line_number",
        "create_time",
        "forward_time",
        "talk_time",
        "end_time",
        "entry_result",
        "disconnect_reason",
    ],
    "events/recording": [
        "recording_id",
        "recording_state",
        "seq",
        "entry_id",
        "call_id",
        "extension",
        "timestamp",
        "completion_code",
        "command_id",
    ],
    "events/sms": ["command_id", "reason", "timestamp"],
    "events/dtmf": ["entry_id", "call_id", "seq", "dtmf", "location", "timestamp"],
    "result/stats": ["key", "request_id"],
}
RESULT_FIELDS = ["command_id", "result"]
SAMPLE_CALL = {
    "entry_id": "MTA3NzQ4NzkxMzo0MDE=",
    "call_id": "MToxMDE1NzY5Nzo0MDE6NjIzMzQ5ODE4",
    "timestamp": 1764000000,
    "seq": 1,
    "call_state": "Appeared",
    "location": "abonent",
    "from": {"number": "79001234567"},
    "to": {"extension": "101", "number": "74950000000", "line_number": "74950000000"},
}
HTTP_CHECKS = [not_a_server_error, status_code_conformance]


# --- strategies -------------------------------------------------------------------------


def near_misses(secret: str) -> st.SearchStrategy[str]:
    """Values that look like ``secret`` but are not it."""
    if not secret:
        return st.just("x")
    return st.sampled_from(
        [
            secret[:-1],
            secret + "0",
            secret[1:],
            secret[:-1] + ("0" if secret[-1] != "0" else "1"),
            secret.swapcase() if secret.swapcase() != secret else secret + "A",
            secret * 2,
            "",
        ]
    )


TEXT = st.text(max_size=40)
SECRETISH = st.one_of(st.just(KEY), *(near_misses(s) for s in SECRETS), TEXT)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# Values a sloppy or hostile sender might put where MANGO puts a number, id or state.
WILD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["", "1", "1000", "0", "-1", "1e400", "Appeared", "Connected", "Completed", "абв", "\x00"]
    ),
    st.text(max_size=20),
    st.dictionaries(
        st.sampled_from(["extension", "number", "line_number", "acd_group", "taken_from_call_id"]),
        st.none() | st.integers() | st.text(max_size=12),
        max_size=5,
    ),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
)


@st.composite
def form_body(draw: st.DrawFn) -> bytes:
    names = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=12))
    values = st.one_of(SECRETISH, JSON_VALUES.map(json.dumps), TEXT)
    fields = draw(st.lists(st.tuples(names, values), max_size=6))
    return urlencode(fields).encode()


HEX = st.text(alphabet="0123456789abcdefABCDEF", min_size=63, max_size=65)
MANGO_SHAPED = st.fixed_dictionaries(
    {
        "vpbx_api_key": SECRETISH,
        "sign": HEX | SECRETISH,
        "json": st.one_of(st.just(compact_json({"entry_id": "1"})), JSON_VALUES.map(json.dumps)),
    }
).map(lambda form: urlencode(form).encode())
BODIES = st.one_of(
    MANGO_SHAPED,
    form_body(),
    st.binary(max_size=300),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
)
CONTENT_TYPES = st.one_of(
    st.just(FORM),
    st.sampled_from([f"{FORM}; charset=utf-8", "application/json", "multipart/form-data"]),
    TEXT,
)


@st.composite
def unsigned_inbound(draw: st.DrawFn, provider: Provider) -> Inbound:
    """Any request to one of the provider's routes, made without its secrets."""
    route = draw(st.sampled_from(provider.routes))
    headers = draw(
        st.dictionaries(st.sampled_from(HEADER_NAMES) | st.text(min_size=1), SECRETISH, max_size=4)
    )
    if draw(st.integers(0, 3)):  # mostly a content type, so most requests reach the checks
        headers["Content-Type"] = draw(CONTENT_TYPES)
    query = draw(
        st.dictionaries(st.sampled_from(["key", "number", "token"]) | TEXT, SECRETISH, max_size=4)
    )
    params = {name: draw(SECRETISH) for name in re.findall(r"{(\w+)", route.path)}
    return Inbound(
        route=route.name,
        method=route.method,
        headers=headers,
        query=query,
        body=draw(BODIES),
        params=params,
    )


def mango_inbound(route: str, form: dict[str, str] | list[tuple[str, str]]) -> Inbound:
    return Inbound(
        route=route,
        method="POST",
        headers={"Content-Type": FORM},
        query={},
        body=urlencode(form).encode(),
    )


MANGO_ROUTES = st.sampled_from(
    [r.name for r in provider_classes()["mango"].routes] if "mango" in provider_classes() else ["-"]
)


@st.composite
def near_valid_payload(draw: st.DrawFn, route: str) -> dict[str, Any]:
    """A payload with the route's own field names, each holding a wild value."""
    names = MANGO_FIELDS.get(route, RESULT_FIELDS)
    if draw(st.booleans()):
        return {name: draw(WILD) for name in names}
    return draw(st.dictionaries(st.sampled_from(names), WILD, max_size=len(names)))


# --- fixtures ---------------------------------------------------------------------------


def fuzz_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "accounts": list(ACCOUNTS.values()),
        "pbxgram_secret_key": TEST_SECRET_KEY,
    }
    values.update(overrides)
    return Settings(**values)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def providers() -> AsyncIterator[dict[str, Provider]]:
    """One built provider per provider type in the registry."""
    async with httpx.AsyncClient() as http:
        built = Providers.from_settings(fuzz_settings(), http)
        found = {pid: built.get(ACCOUNTS[pid]["id"]) for pid in provider_classes()}
        yield {pid: provider for pid, provider in found.items() if provider is not None}


def refused(provider: Provider, inbound: Inbound) -> str | None:
    """Run the web tier's verify → parse; the refusal's class name, or None if it parsed."""
    try:
        provider.verify(inbound)
        provider.parse(inbound)
    except (WebhookForbidden, WebhookMalformed) as exc:
        return exc.__class__.__name__
    return None


# --- (a) the parsers --------------------------------------------------------------------


@pytest.mark.parametrize("provider_id", sorted(provider_classes()))
def test_unsigned_requests_never_parse(provider_id: str, providers: dict[str, Provider]) -> None:
    provider = providers[provider_id]
    assert provider.routes, f"{provider_id} serves no webhook routes"
    outcomes: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(inbound=unsigned_inbound(provider))
    def check(inbound: Inbound) -> None:
        outcome = refused(provider, inbound)
        assert outcome is not None, f"an unsigned request parsed: {inbound!r}"
        outcomes[outcome] += 1

    check()
    record(
        f"Fuzz: unsigned {provider_id} webhooks",
        f"{EXAMPLES} hypothesis requests per provider: random bodies (bytes, forms, JSON), "
        "headers, queries and route parameters, secrets and near-misses of them mixed in.",
        "verify/parse raise only WebhookForbidden or WebhookMalformed; nothing parses.",
        {"provider": provider_id, "routes": len(provider.routes), **dict(outcomes)},
    )


mango_only = pytest.mark.skipif("mango" not in provider_classes(), reason="no MANGO provider")


@mango_only
@settings(max_examples=EXAMPLES * 2, deadline=None, database=None)
@given(route=MANGO_ROUTES, data=st.data())
def test_signed_mango_forms_parse_or_are_malformed(
    providers: dict[str, Provider], route: str, data: st.DataObject
) -> None:
    """A correctly signed form with any JSON: storable events, or a 400, and nothing else."""
    payload = data.draw(st.one_of(near_valid_payload(route), JSON_VALUES), label="payload")
    provider = providers["mango"]
    inbound = mango_inbound(route, signed_form(KEY, SALT, payload))
    provider.verify(inbound)  # signed: must pass
    try:
        events = provider.parse(inbound)
    except WebhookMalformed:
        return
    assert events
    for event in events:  # whatever parses can be stored and read back by a worker
        assert decode_event(encode_event(event)).account == "main"


@mango_only
def test_signed_mango_json_that_breaks_decoders_is_malformed(
    providers: dict[str, Provider],
) -> None:
    """Signed, but numbers out of every range and nesting deeper than the decoder goes."""
    provider = providers["mango"]
    hostile = [
        '{"command_id":"1","reason":1000,"timestamp":1e400}',
        '{"command_id":"1","reason":1000,"timestamp":Infinity}',
        '{"command_id":"1","reason":1000,"timestamp":99999999999999999999}',
        '{"command_id":"1","reason":1000,"timestamp":1000000000000000000}',
        '{"command_id":"1","reason":1e400,"timestamp":1}',
        '{"a":' * 100_000 + "1" + "}" * 100_000,
    ]
    for text in hostile:
        form = {"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}
        with pytest.raises(WebhookMalformed):
            provider.parse(mango_inbound("events/sms", form))


@mango_only
@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(route=MANGO_ROUTES, data=st.data())
def test_tampered_mango_forms_are_forbidden(
    providers: dict[str, Provider], route: str, data: st.DataObject
) -> None:
    """One part of a correctly signed form changed: 403, and ``parse`` refuses it too."""
    provider = providers["mango"]
    text = compact_json(SAMPLE_CALL)
    good = {"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}
    form = dict(good)
    how = data.draw(st.sampled_from(["key", "sign", "json", "salt", "drop"]), label="tamper")
    if how == "key":
        # The key is compared without regard to case (the sign still covers the exact key).
        form["vpbx_api_key"] = data.draw(
            (near_misses(KEY) | TEXT).filter(lambda key: key.lower() != KEY.lower()), label="key"
        )
    elif how == "sign":
        digit = data.draw(st.integers(0, len(good["sign"]) - 1), label="at")
        flipped = "0" if good["sign"][digit] != "0" else "1"
        form["sign"] = data.draw(
            st.sampled_from(
                [
                    good["sign"][:digit] + flipped + good["sign"][digit + 1 :],
                    good["sign"][:-1],
                    good["sign"] + "0",
                    sign(KEY, text, SALT + "x"),
                    "",
                ]
            ),
            label="sign",
        )
    elif how == "json":
        form["json"] = data.draw(
            st.sampled_from([text + " ", text.replace("Appeared", "appeared"), "{}", ""])
            | JSON_VALUES.map(compact_json),
            label="json",
        )
    elif how == "salt":
        form = signed_form(KEY, data.draw(near_misses(SALT) | TEXT, label="salt"), SAMPLE_CALL)
    else:
        form.pop(data.draw(st.sampled_from(["vpbx_api_key", "sign"]), label="dropped"))
    if form == good:
        return
    inbound = mango_inbound(route, form)
    with pytest.raises(WebhookForbidden):
        provider.verify(inbound)
    with pytest.raises(WebhookForbidden):
        provider.parse(inbound)


# --- (b) schemathesis over HTTP against the real web tier -------------------------------


@dataclass(frozen=True)
class WebTier:
    url: str
    redis_url: str


@pytest.fixture(scope="module")
def web_tier(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebTier]:
    """The real web role, on its own event loop in a thread, so schemathesis can call it."""
    started: list[tuple[asyncio.AbstractEventLoop, asyncio.Event, str]] = []
    failed: list[BaseException] = []
    ready = threading.Event()

    async def serve() -> None:
        stop = asyncio.Event()
        async with TelegramEmulator(limits=Limits.disabled()) as emulator:
            config = fuzz_settings(
                bot_token=emulator.token,
                telegram_api_url=emulator.base_url,
                redis_url=redis_url,
                web_port=0,
                pbxgram_data_dir=tmp_path_factory.mktemp("fuzz-data"),
                log_level="WARNING",
            )
            async with running(config, web_role=True, worker_role=False) as app:
                assert app.web_url is not None
                started.append((asyncio.get_running_loop(), stop, app.web_url))
                ready.set()
                await stop.wait()

    def thread_main() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:
            failed.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=thread_main, name="web-tier", daemon=True)
    thread.start()
    ready.wait(60)
    if failed or not started:
        raise RuntimeError(f"the web tier did not start: {failed!r}")
    loop, stop, url = started[0]
    try:
        yield WebTier(url, redis_url)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


def stream_length(tier: WebTier) -> int:
    client = SyncRedis.from_url(tier.redis_url)
    try:
        key = Keys().events_stream()
        return int(client.xlen(key)) if client.exists(key) else 0
    finally:
        client.close()


def test_schema_fuzzing_never_errs_and_enqueues_nothing(web_tier: WebTier) -> None:
    schema = schemathesis.openapi.from_path(str(OPENAPI))
    accounts = {pid: ACCOUNTS[pid]["id"] for pid in ACCOUNTS}
    statuses: Counter[int] = Counter()
    calls = 0
    before = stream_length(web_tier)
    started = time.monotonic()
    with httpx.Client(base_url=web_tier.url, timeout=10) as client:
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            tag = (operation.tags or ["service"])[0]
            modes = [GenerationMode.POSITIVE]
            strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
            if tag in accounts:
                own = {"account": accounts[tag]}
                modes.append(GenerationMode.NEGATIVE)
                strategies = [
                    st.one_of(
                        operation.as_strategy(mode, path_parameters=own),
                        operation.as_strategy(mode),
                    )
                    for mode in modes
                ]
            for strategy in strategies:
                calls += fuzz_operation(strategy, web_tier.url, statuses, webhook=tag != "service")
        unsigned_growth = stream_length(web_tier) - before
        seconds = time.monotonic() - started
        # The control: a correctly signed event is stored, so the count above can move.
        signed = client.post(
            "/pbx/main/events/call",
            content=urlencode(signed_form(KEY, SALT, SAMPLE_CALL)),
            headers={"Content-Type": FORM},
        )
    assert unsigned_growth == 0, f"{unsigned_growth} unverified events were stored"
    assert signed.status_code == 200
    assert stream_length(web_tier) - before == 1
    assert all(status < 500 for status in statuses)
    record(
        "Fuzz: web tier from openapi.yaml",
        f"schemathesis cases from openapi.yaml, up to {HTTP_EXAMPLES} per operation and "
        "generation mode (positive, and negative for the webhooks), over HTTP to "
        "running(..., web_role=True, worker_role=False); account path parameter either the "
        "provider's configured account or generated.",
        "no 5xx; every webhook answer a documented 4xx; events stream unchanged by unsigned "
        "input; a signed control request stored.",
        {
            "requests": calls,
            "seconds": round(seconds, 1),
            "statuses": dict(sorted(statuses.items())),
            "unsigned_events_stored": unsigned_growth,
        },
    )


def fuzz_operation(
    strategy: st.SearchStrategy[Case[Any]], url: str, statuses: Counter[int], *, webhook: bool
) -> int:
    """Send up to HTTP_EXAMPLES generated cases; check each answer; the number sent."""
    sent = 0

    @settings(
        max_examples=HTTP_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(case=strategy)
    def check(case: Case[Any]) -> None:
        nonlocal sent
        response = case.call(base_url=url, timeout=10)
        sent += 1
        statuses[response.status_code] += 1
        case.validate_response(response, checks=HTTP_CHECKS)
        if webhook:
            assert 400 <= response.status_code < 500, (
                f"{case.method} {case.formatted_path}: unsigned input answered"
                f" {response.status_code}"
            )

    check()
    return sent
