"""Background work of a worker process: periodic jobs on one runner, Telegram polling
leadership, and stopping tasks within a grace period.

Declare background work as a :class:`Job` and hand it to the :class:`JobRunner` the
composition root starts; never write another "until stop: tick, wait" loop.
"""

from __future__ import annotations

from bot.runtime.jobs import Job, JobRunner, Schedule, Tick
from bot.runtime.polling import Polling
from bot.runtime.tasks import STOP_GRACE, stop_tasks

__all__ = ["STOP_GRACE", "Job", "JobRunner", "Polling", "Schedule", "Tick", "stop_tasks"]
