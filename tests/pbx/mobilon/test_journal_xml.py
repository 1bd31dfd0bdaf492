"""Reading ``/api/call/info`` and ``/api/call/journal`` as the doc writes them: its own XML
examples, the time zone of ``time``, and the answers that must be refused (malformed XML,
a shape the doc does not show, DTDs and entity bombs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.pbx.mobilon import safe_xml
from bot.pbx.mobilon.journal import JournalEntry, UnexpectedAnswer, call_info, journal
from tests.pbx.mobilon.doc_examples import INFO, JOURNAL

MOSCOW = ZoneInfo("Europe/Moscow")
RECORD_URL = "/api/call/record?token={token}&callid={callid}"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE calls [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<calls><call><callid>&lol9;</callid></call></calls>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE call [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<call><callid>&secret;</callid></call>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE call SYSTEM "http://127.0.0.1:9/evil.dtd">
<call><callid>1</callid></call>
"""


def at(text: str, zone: ZoneInfo = MOSCOW) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def test_the_docs_call_info_example() -> None:
    """mobilon-api.md lines 118-127: one ``<call>`` with every field, ``record_url``'s
    ``&`` written bare."""
    info = call_info(safe_xml.parse(INFO.encode()), MOSCOW)

    assert info == JournalEntry(
        callid="1324324.8997834",
        status="ANSWERED",
        duration=203,
        caller="81234567890",
        callee="123123",
        time=at("2015-04-28 12:00:00"),
        record_url=RECORD_URL,
    )
    assert info.answered
    assert info.time.astimezone(UTC) == datetime(2015, 4, 28, 9, 0, tzinfo=UTC)


def test_the_docs_journal_example() -> None:
    """mobilon-api.md lines 151-170: ``<calls>`` with two ``<call>``s, the first (the later
    call) without ``record_url``."""
    records = journal(safe_xml.parse(JOURNAL.encode()), MOSCOW)

    assert records == [
        JournalEntry(
            callid="32423423.324324",
            status="ANSWERED",
            duration=113,
            caller="81234567890",
            callee="987315",
            time=at("2015-04-28 13:12:00"),
        ),
        JournalEntry(
            callid="32423423.323242",
            status="ANSWERED",
            duration=203,
            caller="81234567890",
            callee="123123",
            time=at("2015-04-28 12:00:00"),
            record_url=RECORD_URL,
        ),
    ]


def test_journal_zone_shifts_the_time_read() -> None:
    """mobilon-api.md lines 126 and 159 give ``time`` without a zone: it is read in the
    account's ``journal_zone``."""
    yekaterinburg = ZoneInfo("Asia/Yekaterinburg")  # UTC+5, two hours ahead of Moscow
    root = safe_xml.parse(JOURNAL.encode())

    moscow = [r.time for r in journal(root, MOSCOW)]
    local = [r.time for r in journal(root, yekaterinburg)]

    assert local[1] == at("2015-04-28 12:00:00", yekaterinburg)
    assert local[1].astimezone(UTC) == datetime(2015, 4, 28, 7, 0, tzinfo=UTC)
    assert [m - y for m, y in zip(moscow, local, strict=True)] == [timedelta(hours=2)] * 2


def test_empty_answers() -> None:
    """The doc shows no empty answer: ``<calls>`` without a ``<call>`` is a day without
    calls, an empty ``<call>`` a call the PBX has no record of yet."""
    for empty in (b"<calls/>", b'<?xml version="1.0" encoding="UTF-8"?>\n<calls>\n</calls>\n'):
        assert journal(safe_xml.parse(empty), MOSCOW) == []
    assert call_info(safe_xml.parse(b"<call/>"), MOSCOW) is None


def test_escaped_ampersands_are_read_once() -> None:
    body = b"<call><callid>1.2</callid><status>ANSWERED</status><time>2015-04-28 12:00:00</time>"
    body += b"<record_url>/api/call/record?token=t&amp;callid=1.2</record_url></call>"

    info = call_info(safe_xml.parse(body), MOSCOW)

    assert info is not None and info.record_url == "/api/call/record?token=t&callid=1.2"


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
    ids=["entity-bomb", "external-entity", "external-dtd"],
)
def test_dtds_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(safe_xml.MalformedXml, match="document type declarations"):
        safe_xml.parse(body)


@pytest.mark.parametrize(
    "body",
    [b"", b"<calls><call>", b"<call><callid>&undeclared;</callid></call>", b'{"calls": []}'],
    ids=["empty", "unclosed", "undeclared-entity", "json"],
)
def test_malformed_xml_is_refused(body: bytes) -> None:
    with pytest.raises(safe_xml.MalformedXml, match="not well-formed XML"):
        safe_xml.parse(body)


@pytest.mark.parametrize(
    ("body", "read"),
    [
        (b"<result>FAIL</result>", "info"),
        (b"<call><callid>1</callid></call>", "journal"),
        (b"<call><callid>1</callid><status>ANSWERED</status></call>", "info"),
        (
            b"<call><callid>1</callid><status>ANSWERED</status>"
            b"<time>28.04.2015 12:00</time></call>",
            "info",
        ),
        (
            b"<call><callid>1</callid><status>ANSWERED</status><duration>3,5</duration>"
            b"<time>2015-04-28 12:00:00</time></call>",
            "info",
        ),
    ],
    ids=["other-root", "call-for-journal", "no-time", "bad-time", "bad-duration"],
)
def test_a_shape_the_doc_does_not_show_is_refused(body: bytes, read: str) -> None:
    root = safe_xml.parse(body)
    reader = call_info if read == "info" else journal

    with pytest.raises(UnexpectedAnswer):
        reader(root, MOSCOW)


def test_one_unreadable_journal_record_does_not_hold_up_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = safe_xml.parse(
        b"<calls><record/><call><callid>7</callid><status>ANSWERED</status>"
        b"<duration>5</duration><time>2015-04-28 12:00:00</time></call></calls>"
    )
    [kept] = journal(root, MOSCOW)
    assert kept.callid == "7"
    assert "a record left out" in caplog.text
