"""Mobilon VPBX (connect.mobilon.ru): click-to-call with per-employee keys, call info and
the day's journal with the account token, and URL webhooks with ``{NUMBER}`` and ``{KEY}``."""

from __future__ import annotations
