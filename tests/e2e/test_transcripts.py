"""Transcripts: where MANGO's speech analytics is connected, what was said goes under the
recording (an expandable quote, each phrase with its side) with its topics; where it is
not, the PBX's answer is one line in /status, never a word on the cards."""

from __future__ import annotations

from dataclasses import replace

import pytest_asyncio

from bot.app import App
from bot.services.transcripts import TranscriptTiming
from sandbox.mango import MangoSimulator, Said
from sandbox.telegram import TelegramEmulator
from tests.conftest import FAST, StartApp
from tests.e2e.conftest import ADMIN, BORIS, LINE, drained, staff
from tests.helpers import until

CLIENT = "79001234567"
QUICK = replace(FAST, transcripts=TranscriptTiming(first=0.1, retries=(0.1, 0.1, 0.1), period=0.05))


@pytest_asyncio.fixture
async def company(emulator: TelegramEmulator, start_app: StartApp) -> App:
    return await staff(emulator, await start_app(QUICK))


async def test_the_transcript_goes_under_the_recording_with_its_topics(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    mango.speech.connected = True
    mango.recording_ready_after = 0
    call = await mango.play_inbound(LINE, CLIENT, ring=["102"], answered_by="102")
    assert call.recording_id is not None
    mango.add_transcript(
        call.recording_id,
        Said(
            phrases=[
                ("operator", "здравствуйте компания Ромашка"),
                ("client", "хочу узнать цену на <доставку>"),
            ],
            topics=["Цена", "Доставка"],
            not_ready=1,  # the speech service is still at it when first asked
        ),
    )
    await mango.wait_idle()
    await until(lambda: any("Transcript" in m.text for m in emulator.bot_messages(BORIS)))
    await drained(company)

    audio = next(m for m in emulator.bot_messages(BORIS) if m.file is not None)
    [transcript] = [m for m in emulator.bot_messages(BORIS) if "Transcript" in m.text]
    assert transcript.reply_to == audio.message_id
    assert transcript.text == (
        "📝 Transcript\n"
        "Сотрудник: здравствуйте компания Ромашка\n"
        "Клиент: хочу узнать цену на <доставку>\n"
        "🏷 Topics: Цена, Доставка"
    )
    assert "<blockquote expandable><b>Сотрудник:</b>" in (transcript.html or "")
    [asked, *_] = mango.commands("queries/recording_transcripts")
    assert asked == {"recording_id": f'["{call.recording_id}"]'}


async def test_without_speech_analytics_status_says_so_once(
    emulator: TelegramEmulator, mango: MangoSimulator, company: App
) -> None:
    for _ in range(2):
        await mango.play_inbound(LINE, CLIENT, ring=["102"], answered_by="102")
        await mango.wait_idle()
        await until(lambda: len(mango.commands("queries/recording_transcripts")) >= 1)
    await drained(company)
    assert len(mango.commands("queries/recording_transcripts")) == 1  # not asked again
    assert not any("Transcript" in m.text for m in emulator.bot_messages(BORIS))

    emulator.send_text(ADMIN, "/status")
    status = await emulator.wait_for_message(ADMIN, lambda m: "pbxgram status" in m.text)
    assert (
        "transcripts: not available (the PBX answered code 2230: This service is not "
        "available.)" in status.text
    )
