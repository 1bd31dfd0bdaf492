"""A MANGO OFFICE VPBX API simulator for tests, benchmarks and the offline demo.

It answers the API methods the bot uses (commands, statistics, recordings, directory,
balance, lines, campaigns) as the MANGO OFFICE spec describes them, and posts signed
Realtime events (calls, summaries, recordings, SMS, DTMF, command results) to the bot.
"""

from __future__ import annotations

from bot.sandbox.mango.calls import CallRecord
from bot.sandbox.mango.campaigns import Campaign, CampaignTask
from bot.sandbox.mango.directory import Employee, Group, Line
from bot.sandbox.mango.limits import MangoLimits, Rate
from bot.sandbox.mango.server import ReceivedRequest
from bot.sandbox.mango.signing import recording_link_sign, sign
from bot.sandbox.mango.simulator import MangoSimulator
from bot.sandbox.mango.stats import HistoryRow

__all__ = [
    "CallRecord",
    "Campaign",
    "CampaignTask",
    "Employee",
    "Group",
    "HistoryRow",
    "Line",
    "MangoLimits",
    "MangoSimulator",
    "Rate",
    "ReceivedRequest",
    "recording_link_sign",
    "sign",
]
