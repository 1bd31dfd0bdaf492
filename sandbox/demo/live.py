"""``pbxgram demo --keep-running``: how to play more calls and act as the people, and a
live view that prints each new or changed bot message as it lands in any chat.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from sandbox.demo import cast
from sandbox.demo.history import History
from sandbox.demo.stage import Stage
from sandbox.demo.transcript import render_message
from sandbox.telegram import ChatMessage


def _curl(url: str, body: dict[str, Any]) -> str:
    payload = json.dumps(body, ensure_ascii=False)
    return f"curl -s -X POST {url} -H 'Content-Type: application/json' -d '{payload}'"


def how_to_play(stage: Stage, data_dir: Path) -> str:
    """Ready-to-paste commands for a running demo."""
    calls = f"{stage.mango.root_url}/_simulator/calls/inbound"
    emulator = stage.emulator.base_url
    anna = cast.ANNA.telegram_id
    chats = ", ".join(
        [f"{p.first_name} {p.telegram_id}" for p in cast.PEOPLE] + [f"group {cast.GROUP_CHAT}"]
    )
    return "\n".join(
        [
            "Everything stays up until Ctrl-C. In another terminal:",
            "",
            "  A client calls the sales group and nobody answers (a missed call):",
            "    " + _curl(calls, {"from": "79030001122", "group": cast.SALES_GROUP_ID}),
            "  The same, answered by Anna (extension 101):",
            "    "
            + _curl(
                calls, {"from": "79030001122", "group": cast.SALES_GROUP_ID, "answered_by": "101"}
            ),
            "  Anna writes to the bot (any command: /missed, /history, /call +7 900 123-45-67):",
            "    " + _curl(f"{emulator}/_emulator/users/{anna}/text", {"text": "/missed"}),
            "",
            f"Each chat as JSON: {emulator}/_emulator/chats/<chat id>/transcript ({chats}).",
            f"The bot's web side (PBX webhooks, /healthz, /metrics): {stage.app.web_url}",
            f"Data (embedded Redis): {data_dir}",
            "",
            "New and changed bot messages are printed below as they arrive.",
        ]
    )


def print_changes(stage: Stage, history: History, out: TextIO) -> None:
    """From now on, print each new or changed bot message as it lands."""
    titles = {p.telegram_id: p.first_name for p in cast.PEOPLE}
    titles[cast.GROUP_CHAT] = cast.GROUP_TITLE
    zone = stage.app.settings.zone

    def show(message: ChatMessage) -> None:
        title = titles.get(message.chat_id, str(message.chat_id))
        print(f"{title} · {render_message(message, zone)}", file=out, flush=True)

    history.listener = show
