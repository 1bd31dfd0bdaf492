"""A relay-format PBX script for tests, benchmarks and the offline demo.

It posts ``create_call`` / ``update_call`` to the bot the way an Asterisk or FreePBX script
would, as a urlencoded form or as multipart with an ``audio_record`` upload.
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

__all__ = ["Audio", "RelayAnswer", "RelayPbx", "encode_multipart", "form_pairs", "silent_wav"]
