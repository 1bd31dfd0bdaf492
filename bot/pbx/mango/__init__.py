"""MANGO OFFICE VPBX provider: signed form API, webhooks, result codes."""

from __future__ import annotations
