"""Figures of the reliability scenarios: printed always, written to RELIABILITY.md on request.

Run ``PBXGRAM_RECORD_RELIABILITY=1 uv run pytest -s tests/reliability`` to refresh the file.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "RELIABILITY.md"
HEADER = "# Reliability\n\nWhat each scenario injects, what must hold, and what it measured.\n"


def record(section: str, injected: str, holds: str, figures: dict[str, object]) -> None:
    """Print a scenario's figures; with PBXGRAM_RECORD_RELIABILITY=1 also update its section."""
    lines = [f"{key}: {value}" for key, value in figures.items()]
    print(f"\n[{section}] " + "; ".join(lines))
    if os.environ.get("PBXGRAM_RECORD_RELIABILITY") != "1":
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = "\n".join(
        [
            f"## {section}",
            "",
            f"Injected: {injected}",
            "",
            f"Must hold: {holds}",
            "",
            f"Measured {stamp}:",
            "",
            *(f"- {line}" for line in lines),
            "",
        ]
    )
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    start = text.find(f"## {section}\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + block
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + block + ("" if end == -1 else text[end:])
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
