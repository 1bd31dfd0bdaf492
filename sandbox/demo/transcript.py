"""Chats as a person reads them: who wrote what and when, buttons under a message,
``(edited)`` with the final text, and files by kind, name and size.

Use :func:`render_chat` for one chat and :func:`render_message` for one message (the
live view of ``pbxgram demo --keep-running`` prints messages one by one).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sandbox.demo.history import History, Version
from sandbox.telegram import ChatMessage, TelegramEmulator

INDENT = "    "
FILE_ICONS = {"audio": "🎵", "photo": "🖼", "voice": "🎤", "document": "📄", "video": "🎬"}


def render_chat(
    emulator: TelegramEmulator,
    chat_id: int,
    title: str,
    zone: ZoneInfo,
    history: History | None = None,
) -> str:
    """A heading and every message of the chat, in order; with ``history``, what each
    edited message showed before.
    """
    rule = "─" * max(8, 72 - len(title) - 4)
    lines = [f"── {title} {rule}"]
    messages = emulator.transcript(chat_id)
    lines.extend(render_message(m, zone, history) for m in messages)
    if not messages:
        lines.append(f"{INDENT}(no messages)")
    return "\n".join(lines)


def render_message(message: ChatMessage, zone: ZoneInfo, history: History | None = None) -> str:
    """One message: ``[HH:MM] who: text``, then buttons, keyboard, file or contact, then
    (for an edited message) what it showed before, as the lines that differ.
    """
    when = datetime.fromtimestamp(int(message.raw.get("date", 0)), zone).strftime("%H:%M")
    who = "bot" if message.from_bot else _sender(message)
    edited = " (edited)" if message.edited else ""
    reply = f" ↪ #{message.reply_to}" if message.reply_to else ""
    head = f"[{when}] #{message.message_id} {who}{edited}{reply}:"
    body = message.text.splitlines() or [""]
    lines = [f"{head} {body[0]}".rstrip()]
    lines.extend(f"{INDENT}{line}" for line in body[1:])
    if message.file is not None:
        lines.append(f"{INDENT}{_file(message.file)}")
    if message.contact is not None:
        lines.append(f"{INDENT}📇 contact {message.contact.get('phone_number', '')}")
    for row in message.buttons:
        lines.append(INDENT + " ".join(f"[ {b.text} ]" for b in row))
    for keys in message.reply_keyboard or []:
        lines.append(INDENT + "keyboard: " + " ".join(f"⟦ {k.get('text', '')} ⟧" for k in keys))
    if history is not None and message.edited:
        lines.extend(_before(history.earlier(message), body))
    return "\n".join(lines)


def _before(versions: list[Version], final: list[str]) -> list[str]:
    """``✎ first: …`` / ``✎ then: …`` for each earlier version: its lines that the final
    text does not have, and its buttons.
    """
    shown = []
    for number, version in enumerate(versions):
        changed = " / ".join(line for line in version.text.splitlines() if line not in final)
        buttons = " ".join(f"[ {text} ]" for row in version.buttons for text in row)
        what = "  ".join(part for part in (changed, buttons) if part) or "(fewer lines)"
        shown.append(f"{INDENT}✎ {'first' if number == 0 else 'then'}: {what}")
    return shown


def _sender(message: ChatMessage) -> str:
    sender = message.raw.get("from") or {}
    return str(sender.get("first_name") or sender.get("username") or "someone")


def _file(file: dict[str, object]) -> str:
    kind = str(file.get("kind", "file"))
    size = int(str(file.get("size") or 0))
    shown = f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} bytes"
    icon = FILE_ICONS.get(kind, "📎")
    return f"{icon} {kind}: {file.get('name', 'file')} ({shown}, {file.get('mime', '?')})"
