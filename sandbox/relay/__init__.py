"""A relay-format PBX script for tests, benchmarks and the offline demo.

It posts ``create_call`` / ``update_call`` to the bot the way an Asterisk or FreePBX script
would, as a urlencoded form or as multipart with an ``audio_record`` upload, or as the
``curl`` command a README or a dial plan writes.
"""

from __future__ import annotations

from sandbox.relay.client import (
    Audio,
    RelayAnswer,
    RelayPbx,
    encode_multipart,
    form_pairs,
    silent_wav,
)
from sandbox.relay.curl import CurlFile, CurlRequest, parse_curl

__all__ = [
    "Audio",
    "CurlFile",
    "CurlRequest",
    "RelayAnswer",
    "RelayPbx",
    "encode_multipart",
    "form_pairs",
    "parse_curl",
    "silent_wav",
]
