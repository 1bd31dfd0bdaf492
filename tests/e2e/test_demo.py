"""``pbxgram demo``: the real process plays the morning and prints each chat as people
read it; a step that shows nothing fails the demo in words; demo data never lands in a
data directory that already holds something.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from sandbox.demo import cast, stage
from sandbox.mango import MangoSimulator
from tests.cli.helpers import run_pbxgram
from tests.turns import turn

MESSAGE_START = re.compile(r"^\[\d{2}:\d{2}\] #\d+ ", re.MULTILINE)
CALLED_BACK = re.compile(r"✅ Called back by Boris Ivanov at \d{2}:\d{2}$", re.MULTILINE)


def chats_of(output: str) -> dict[str, list[str]]:
    """The printed transcripts: heading -> the chat's messages (each with its lines)."""
    chats: dict[str, list[str]] = {}
    for block in output.split("\n── ")[1:]:
        heading, _, body = block.partition("\n")
        body = body.split("\n\nAll ", 1)[0]
        starts = [m.start() for m in MESSAGE_START.finditer(body)]
        chats[heading.rstrip("─ ")] = [
            body[a:b].rstrip("\n") for a, b in zip(starts, [*starts[1:], len(body)], strict=True)
        ]
    return chats


def chat(chats: dict[str, list[str]], person: cast.Person | None) -> list[str]:
    wanted = f"{person.label}, private chat" if person else f"group chat “{cast.GROUP_TITLE}”"
    assert wanted in chats, list(chats)
    return chats[wanted]


def with_text(messages: list[str], *parts: str) -> list[str]:
    return [m for m in messages if all(part in m for part in parts)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str, float]:
    """One run of ``python -m bot demo``: exit code, stdout, stderr, wall time."""
    with turn(exclusive=False):  # module-wide: runs before any test's own turn
        began = time.monotonic()
        done = run_pbxgram("demo", cwd=tmp_path_factory.mktemp("demo"), timeout=120)
    return done.returncode, done.stdout, done.stderr, time.monotonic() - began


def test_demo_exits_0_quietly_within_a_minute(demo: tuple[int, str, str, float]) -> None:
    code, stdout, stderr, seconds = demo
    assert code == 0, stderr + stdout
    assert stderr == ""  # WARNING and above only, and nothing went wrong
    assert seconds < 60
    progress = stdout.split("\n── ", 1)[0]
    steps = [line for line in progress.splitlines() if line.startswith("  ")]
    assert len(steps) == 13, steps
    assert all(re.search(r"… ✓ \d+\.\d s$", line) for line in steps), steps
    assert "All 12 steps showed what they should" in stdout


def test_setup_went_through_invites_and_group_subscriptions(
    demo: tuple[int, str, str, float],
) -> None:
    chats = chats_of(demo[1])
    olga = chat(chats, cast.OLGA)
    for person in cast.STAFF:
        assert len(with_text(olga, f"Invite for extension {person.extension}", "?start=")) == 1
        assert len(with_text(olga, f"{person.first_name} (@{person.username}) accepted")) == 1
        assert with_text(chat(chats, person), "/start ")  # they opened the link
    group = chat(chats, None)
    for kind in ("missed", "summary", "recordings", "digest"):
        assert with_text(group, f"Olga: /subscribe {kind}")
        assert with_text(group, f"Done: this chat is subscribed to {kind} (PBX “main”).")


def test_calls_show_on_cards_and_in_the_group(demo: tuple[int, str, str, float]) -> None:
    chats = chats_of(demo[1])
    anna, boris, group = chat(chats, cast.ANNA), chat(chats, cast.BORIS), chat(chats, None)

    [answered] = with_text(anna, cast.CLIENT_ANSWERED.shown, "✅ Call ended")
    assert "bot (edited)" in answered
    assert "Talk time: 1:35" in answered
    assert "✎ first: 📞 Incoming call" in answered  # what it showed while ringing
    # The client's name may reach the summary before it is first sent, or edit it later.
    assert with_text(group, "⬇️ Inbound call", "Client: ", cast.CLIENT_ANSWERED.shown)

    [colleague] = with_text(anna, cast.CLIENT_GROUP.shown)
    assert "bot (edited)" in colleague
    assert "👥 Answered by Boris Ivanov" in colleague
    [his] = with_text(boris, cast.CLIENT_GROUP.shown, "✅ Call ended")
    assert "Group: Sales" in his


def test_a_regular_client_is_named_with_her_last_call_and_a_note(
    demo: tuple[int, str, str, float],
) -> None:
    chats = chats_of(demo[1])
    [card] = with_text(chat(chats, cast.BORIS), cast.CLIENT_ANSWERED.shown, "✅ Call ended")
    assert f"{cast.CLIENT_ANSWERED_NAME}, {cast.CLIENT_ANSWERED.shown}" in card
    assert "🕘 2nd call in 7 days · last: talked to Anna Petrova, today " in card
    assert "📝 Boris: Wants a quote for 20 office chairs" in card
    assert with_text(chat(chats, cast.BORIS), "📝 Note added to the call.")


def test_the_recording_arrives_as_audio(demo: tuple[int, str, str, float]) -> None:
    chats = chats_of(demo[1])
    for messages in (chat(chats, cast.ANNA), chat(chats, None)):
        [recording] = with_text(messages, "🎙 Call recording", cast.CLIENT_ANSWERED.shown)
        audio = r"🎵 audio: \+7 \d{3} \d{3}-\d{2}-\d{2}\.mp3 \(\d+\.\d KB, audio/mpeg\)"
        assert re.search(audio, recording), recording


def test_one_missed_alert_each_taken_then_called_back(demo: tuple[int, str, str, float]) -> None:
    chats = chats_of(demo[1])
    for person in (cast.ANNA, cast.BORIS, cast.MARIA, None):
        alerts = with_text(
            chat(chats, person), "❌ Missed call", "It rang:", cast.CLIENT_MISSED.shown
        )
        assert len(alerts) == 1, (person, alerts)
        [alert] = alerts
        assert cast.CLIENT_MISSED.shown in alert
        assert "bot (edited)" in alert
        assert CALLED_BACK.search(alert), alert
        assert "✎ first: " in alert and "[ 🙋 I'll take it ]" in alert
        assert "✎ then: 🙋 Taken by Boris  [ 📞 Call back ]" in alert
        assert "[ " not in alert.split("✎")[0]  # no buttons left once called back

    [status] = with_text(chat(chats, cast.BORIS), "The PBX is calling you on 102")
    assert cast.CLIENT_MISSED.shown in status
    assert with_text(chat(chats, None), "⬆️ Outbound call", f"Client: {cast.CLIENT_MISSED.shown}")


def test_a_missed_call_nobody_takes_is_reminded_until_called_back(
    demo: tuple[int, str, str, float],
) -> None:
    chats = chats_of(demo[1])
    waiting = cast.CLIENT_WAITING.shown
    for person in (cast.ANNA, None):
        [reminder] = with_text(chat(chats, person), "⏰ Not called back yet", waiting)
        assert "has waited 15 min." in reminder
        assert "↪" in reminder  # a reply to the alert
        [alert] = with_text(chat(chats, person), "❌ Missed call", "It rang:", waiting)
        assert "✅ Called back by Anna Petrova at " in alert
    [group_reminder] = with_text(chat(chats, None), "⏰ Not called back yet")
    assert "Anna Petrova, Boris Ivanov, please call back" in group_reminder
    assert with_text(chat(chats, cast.MARIA), "⏰") == []  # managers: only at escalation


def test_call_sms_balance_and_campaigns(demo: tuple[int, str, str, float]) -> None:
    chats = chats_of(demo[1])
    anna, maria = chat(chats, cast.ANNA), chat(chats, cast.MARIA)
    number = cast.CLIENT_DIALED.shown

    [call] = with_text(anna, f"Pick up, and it will connect you to {number}.")
    assert "bot (edited) ↪" in call
    assert f"✎ first: 📞 Calling you on 101, then {number}…" in call

    [sms] = with_text(anna, f"✅ The SMS to {number} was delivered.")
    assert "bot (edited) ↪" in sms
    assert "Hello! Your order 1042 is ready, we are open until 8 pm." in sms
    assert f"✎ first: ✉️ Sending an SMS to {number} from 101…" in sms

    assert with_text(maria, "💰 Balance: RUB\u00a048,210.75")

    [campaigns] = with_text(maria, "📋 Outbound-dialing campaigns")
    assert campaigns.splitlines()[0].endswith(
        "bot (edited): ⏹ Campaign “Spring promo” stopped. Status: stopped."
    )
    assert "▶️ Campaign “Spring promo” started. Status: running." in campaigns
    assert "[ ▶️ Start: Spring promo ]" in campaigns


def test_the_digest_with_its_chart(demo: tuple[int, str, str, float]) -> None:
    group = chat(chats_of(demo[1]), None)
    [digest] = with_text(group, "📊 Day summary")
    assert "⬇️ Inbound: 6 · answered 4 · missed 2" in digest
    assert "↩️ Missed and not called back yet: 0" in digest
    assert "⬆️ Outbound: 3 · answered 3" in digest
    assert re.search(r"🖼 photo: \S+\.png \(\d+\.\d KB, image/png\)", digest), digest
    assert group[-1] == digest


# failures ---------------------------------------------------------------------------------
@pytest.fixture
def root_logging() -> Iterator[None]:
    """The demo configures logging for its process; put it back for the next tests."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_step_that_shows_nothing_fails_the_demo_in_words(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    root_logging: None,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("PBXGRAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(stage, "PATIENCE", 2.0)
    furnish = cast.furnish_pbx

    def wrong_salt(sim: MangoSimulator) -> None:  # the PBX signs with another salt
        furnish(sim)
        sim.api_salt = "not-the-configured-salt"

    monkeypatch.setattr(cast, "furnish_pbx", wrong_salt)

    assert cli.main(["demo"]) == 1
    out, err = capsys.readouterr()
    assert "1. A client calls the main line; Anna answers … FAILED" in out
    assert err.startswith(
        "pbxgram: Anna's card of the answered call, ended: nothing like it arrived within 2 s."
    )
    assert "The chat so far:" in err


def test_a_data_directory_in_use_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "appendonlydir").mkdir()
    monkeypatch.setenv("PBXGRAM_DATA_DIR", str(tmp_path))

    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"pbxgram: configuration error: PBXGRAM_DATA_DIR: {tmp_path} is not empty; the demo "
        "needs an empty directory (or unset PBXGRAM_DATA_DIR to use a temporary one)\n"
    )
