"""Tests of the MANGO OFFICE API simulator."""

from __future__ import annotations
