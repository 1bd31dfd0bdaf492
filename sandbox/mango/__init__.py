"""A MANGO OFFICE VPBX API simulator for tests, benchmarks and the offline demo.

It answers the API methods the bot uses (commands, statistics, recordings, directory,
balance, lines, campaigns, address book) as the MANGO OFFICE spec describes them, and posts signed
Realtime events (calls, summaries, recordings, SMS, DTMF, command results) to the bot.
A live call (``play_live_inbound``) carries out hangup, route, transfer and recording
commands sent for its legs.
"""

from __future__ import annotations

from sandbox.mango.address_book import Contact
from sandbox.mango.calls import CallRecord
from sandbox.mango.campaigns import Campaign, CampaignTask
from sandbox.mango.directory import Employee, Group, Line
from sandbox.mango.limits import MangoLimits, Rate
from sandbox.mango.server import ReceivedRequest
from sandbox.mango.signing import recording_link_sign, sign
from sandbox.mango.simulator import MangoSimulator
from sandbox.mango.speech import Said
from sandbox.mango.stats import HistoryRow

__all__ = [
    "CallRecord",
    "Campaign",
    "CampaignTask",
    "Contact",
    "Employee",
    "Group",
    "HistoryRow",
    "Line",
    "MangoLimits",
    "MangoSimulator",
    "Rate",
    "ReceivedRequest",
    "Said",
    "recording_link_sign",
    "sign",
]
