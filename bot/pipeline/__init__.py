"""The event pipeline: ingest (web routes) → events stream → workers → notifications."""
