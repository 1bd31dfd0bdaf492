"""Telegram wiring: bot factory, identity, gates, buttons and the command menu."""
