"""MANGO call statistics (3.3): the CSV that ``stats/result`` returns, as CallRecords."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import CallRecord

FIELDS = (
    "records",
    "start",
    "finish",
    "answer",
    "from_extension",
    "from_number",
    "to_extension",
    "to_number",
    "disconnect_reason",
    "line_number",
    "location",
    "entry_id",
)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def parse_csv(text: str, fields: tuple[str, ...] = FIELDS) -> list[CallRecord]:
    """One CallRecord per line; fields separated by ';' in the order requested."""
    records: list[CallRecord] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        values = dict(zip(fields, line.split(";"), strict=False))
        start = _int(values.get("start", ""))
        finish = _int(values.get("finish", ""))
        answer = _int(values.get("answer", ""))
        from_ext = values.get("from_extension") or None
        to_ext = values.get("to_extension") or None
        if from_ext and to_ext:
            direction = "internal"
        elif from_ext:
            direction = "outbound"
        elif to_ext or values.get("location") in ("ivr", "queue"):
            direction = "inbound"  # to an employee, or given up in the voice menu or queue
        else:
            direction = "unknown"
        recordings = values.get("records", "").strip("[]")
        records.append(
            CallRecord(
                call_id=values.get("entry_id") or f"{start}:{values.get('from_number', '')}",
                started_at=datetime.fromtimestamp(start, UTC),
                direction=direction,
                caller=values.get("from_number", ""),
                callee=values.get("to_number", ""),
                extension=from_ext if direction == "outbound" else to_ext,
                answered=answer > 0,
                talk_seconds=max(0, finish - answer) if answer else 0,
                recording_ids=tuple(r for r in recordings.split(",") if r),
                ended_at=datetime.fromtimestamp(finish, UTC) if finish else None,
                line_number=values.get("line_number") or None,
                # The CSV names one callee: the extension (or the group's) the call was put
                # through to; the extensions a group rang are not in the log.
                rang=(to_ext,) if to_ext and direction != "outbound" else (),
            )
        )
    return records
