"""``/line``: calls placed from Telegram go out on the line a person chose, else a call
back on the line the client called in on, else the PBX's default."""

from __future__ import annotations

from bot.app import App
from sandbox.mango import Line, MangoSimulator
from sandbox.telegram import ChatMessage, TelegramEmulator
from tests.e2e.conftest import LINE, MARIA, drained

CLIENT = "79001234567"
SECOND_LINE = "74951112233"


async def ask(emulator: TelegramEmulator, chat: int, text: str, starts: str) -> ChatMessage:
    before = max((m.message_id for m in emulator.transcript(chat)), default=0)
    emulator.send_text(chat, text)
    return await emulator.wait_for_message(
        chat, lambda m: m.message_id > before and m.text.startswith(starts), timeout=10
    )


async def press(emulator: TelegramEmulator, message: ChatMessage, text: str) -> None:
    data = message.find_button(text).callback_data
    assert data is not None
    query = emulator.press_button(message.chat_id, message.chat_id, message.message_id, data)
    await emulator.wait_for_callback_answer(query)


async def test_calls_go_out_on_the_chosen_line_else_the_client_s_else_the_default(
    emulator: TelegramEmulator, mango: MangoSimulator, staffed: App
) -> None:
    mango.add_line(Line(number=SECOND_LINE, name="Sales line"))
    listing = await ask(emulator, MARIA, "/line", "📞 Outgoing line")
    assert listing.text.startswith("📞 Outgoing line: the PBX's default")
    assert listing.button_texts() == [
        "+7 495 000-00-00 · Main line",
        "+7 495 111-22-33 · Sales line",
        "✓ PBX default",
    ]

    await ask(emulator, MARIA, "/call +7 916 000-00-01", "📞")
    await press(emulator, listing, "Sales line")
    listing = await emulator.wait_for_message(
        MARIA, lambda m: m.message_id == listing.message_id and "+7 495 111-22-33\n" in m.text
    )
    assert "✓ +7 495 111-22-33 · Sales line" in listing.button_texts()
    await ask(emulator, MARIA, "/call +7 916 000-00-02", "📞")

    # Back to the default: a client who called in on the main line is called back from it.
    await press(emulator, listing, "PBX default")
    await mango.play_inbound(LINE, CLIENT, ring=["103"], answered_by=None)
    await mango.wait_idle()
    await drained(staffed)
    await ask(emulator, MARIA, f"/call {CLIENT}", "📞")
    await mango.wait_idle()
    await drained(staffed)

    sent = [(c["to_number"], c.get("line_number")) for c in mango.commands("commands/callback")]
    assert sent == [
        ("79160000001", None),
        ("79160000002", SECOND_LINE),
        (CLIENT, LINE),
    ]
