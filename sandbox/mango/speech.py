"""Speech analytics (3.4.4, 3.4.5): transcripts and topics of recordings.

Without the service connected, both methods answer 2230 ("Услуга недоступна"): the spec
names no code of its own for that. ``recording_id`` is read as the spec's examples send
it, a JSON array written as a string (a bare id or a real array is taken too). A
recording not transcribed yet is left out of ``data``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

NOT_CONNECTED = 2230
BAD_PARAMETERS = 3100
MAX_IDS = 500


class SpeechError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Said:
    phrases: list[tuple[str, str]]  # ("client" | "operator", text)
    names: dict[str, str] = field(
        default_factory=lambda: {"client": "Клиент", "operator": "Сотрудник"}
    )
    topics: list[str] = field(default_factory=list)
    not_ready: int = 0  # answers without it before it is there


class Speech:
    def __init__(self) -> None:
        self.connected = False
        self.recordings: dict[str, Said] = {}

    def add(self, recording_id: str, said: Said) -> None:
        self.recordings[recording_id] = said

    def _ids(self, payload: dict[str, Any]) -> list[str]:
        if not self.connected:
            raise SpeechError(NOT_CONNECTED)
        raw = payload.get("recording_id")
        if isinstance(raw, str):
            try:
                raw = json.loads(raw) if raw.startswith("[") else [raw]
            except ValueError:
                raise SpeechError(BAD_PARAMETERS) from None
        if not isinstance(raw, list) or not raw or len(raw) > MAX_IDS:
            raise SpeechError(BAD_PARAMETERS)
        return [str(item) for item in raw]

    def _ready(self, recording_id: str) -> Said | None:
        said = self.recordings.get(recording_id)
        if said is None:
            return None
        if said.not_ready > 0:
            said.not_ready -= 1
            return None
        return said

    def transcripts_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = []
        for recording_id in self._ids(payload):
            said = self._ready(recording_id)
            if said is not None:
                data.append(
                    {
                        "recording_id": recording_id,
                        "names": dict(said.names),
                        "phrases": [[side, text] for side, text in said.phrases],
                    }
                )
        return {"result": 1000, "data": data}

    def categories_answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = []
        for recording_id in self._ids(payload):
            said = self.recordings.get(recording_id)
            if said is None:
                continue
            categories = []
            for index, name in enumerate(said.topics):
                category: dict[str, Any] = {
                    "id": 1688 + index,
                    "assign_time": 1561883955,
                    "version": 7,
                }
                if payload.get("with_names"):
                    category["name"] = name
                if payload.get("with_terms"):
                    category["terms"] = [{"channels": [-1], "count": 1, "value": name.lower()}]
                categories.append(category)
            data.append({"recording_id": recording_id, "categories": categories})
        return {"result": 1000, "data": data}
