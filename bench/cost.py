"""Cost benchmark: the app's own CPU time, Redis commands and round trips, and Telegram
requests per PBX call event, next to a minimal pipeline doing the least the job needs.

Run: ``uv run python -m bench.cost`` (figures go to BENCHMARKS.md). ``--app-only`` skips
the baseline for quick iterations.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bench.common import ROOT, cpu_seconds, free_port, pin_self, record, redis_server, spawn, stop
from bench.common import wait_http as wait_for
from bench.cost_baseline import GROUP as BASELINE_GROUP
from bench.cost_baseline import STREAM as BASELINE_STREAM
from bot.config import Settings
from bot.domain import Role, SubscriptionKind
from bot.observability import EVENTS_GROUP, SENDERS_GROUP
from bot.pbx.providers import Providers
from bot.services.access import Access
from bot.storage import Keys, Repositories
from bot.telegram.outbox import Priority
from sandbox.mango import Employee, Group, Line, MangoLimits, MangoSimulator
from sandbox.redis_tap import RedisTap, TapSnapshot
from sandbox.telegram import Limits, TelegramEmulator

SECTION = "Cost per call (app CPU and Redis round trips per event)"
SIDE_BY_SIDE_SECTION = "Cost per call, side by side with an earlier commit"
EARLIER = "earlier"  # the app of the checkout given with --compare-with
KEY, SALT = "bench-key", "bench-salt"
LINE = "74950000000"
FIRST_USER = 700_000
GROUP_CHAT = -100_700
MANAGERS = 2  # the first users are managers: every missed call is theirs to see
KINDS = ("answered group call, recorded", "missed group call", "direct call", "IVR abandoned")
QUIET_SECONDS = 2.0
QUIET_ROUND_TRIPS = 200  # at most this many in QUIET_SECONDS: background polling only


@dataclass(frozen=True)
class Queues:
    """Where a pipeline keeps work not done yet: (stream, consumer group) pairs whose
    pending or unread entries count, and sorted sets whose members count."""

    streams: tuple[tuple[str, str], ...]
    sets: tuple[str, ...] = ()


KEYS = Keys()
APP_QUEUES = Queues(
    ((KEYS.events_stream(), EVENTS_GROUP), *((KEYS.outbox(p), SENDERS_GROUP) for p in Priority)),
    (KEYS.outbox_delayed(), KEYS.outbox_stalled()),
)
BASELINE_QUEUES = Queues(((BASELINE_STREAM, BASELINE_GROUP),))


@dataclass(frozen=True)
class Reading:
    """Every counter at one moment."""

    at: float
    cpu: float
    tap: TapSnapshot
    stats: int
    telegram: Counter[str]
    events: int


@dataclass
class Cost:
    """What a stretch of time cost one pipeline (differences of two readings), pooled."""

    calls: int = 0
    events: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    round_trips: int = 0
    commands: int = 0
    stats_commands: int = 0
    telegram: Counter[str] = field(default_factory=Counter)
    by_command: Counter[str] = field(default_factory=Counter)

    def add(self, start: Reading, end: Reading, calls: int) -> None:
        tap = end.tap - start.tap
        self.calls += calls
        self.events += end.events - start.events
        self.seconds += end.at - start.at
        self.cpu += end.cpu - start.cpu
        self.round_trips += tap.round_trips
        self.commands += tap.commands
        self.stats_commands += end.stats - start.stats - 1  # less the INFO of ``start``
        self.telegram.update(end.telegram - start.telegram)
        self.by_command.update(tap.by_command)

    def merge(self, other: Cost) -> None:
        """Pool ``other`` (another round's) into this."""
        self.calls += other.calls
        self.events += other.events
        self.seconds += other.seconds
        self.cpu += other.cpu
        self.round_trips += other.round_trips
        self.commands += other.commands
        self.stats_commands += other.stats_commands
        self.telegram.update(other.telegram)
        self.by_command.update(other.by_command)

    @property
    def sends(self) -> int:
        """Telegram requests other than long polling."""
        return sum(n for method, n in self.telegram.items() if method != "getUpdates")


class Harness:
    """Redis behind a tap, the Telegram emulator and the MANGO simulator, in this process."""

    def __init__(
        self,
        workdir: Path,
        tap: RedisTap,
        direct: Redis,
        emulator: TelegramEmulator,
        sim: MangoSimulator,
        slots: int,
    ) -> None:
        self.workdir = workdir
        self.tap = tap
        self.direct = direct
        self.emulator = emulator
        self.sim = sim
        self.slots = slots
        self._callers = itertools.count(1)

    async def read(self, pid: int) -> Reading:
        stats = await self.direct.info("commandstats")
        total = sum(int(entry["calls"]) for entry in stats.values())
        methods = Counter(method for method, _ in self.emulator.requests)
        return Reading(
            time.monotonic(),
            cpu_seconds(pid),
            self.tap.snapshot(),
            total,
            methods,
            len(self.sim.posted),
        )

    async def play(self, calls: int) -> None:
        """``calls`` calls, the kinds in turn, ``slots`` at a time on distinct employees."""
        await asyncio.gather(*(self._slot(slot, calls) for slot in range(self.slots)))
        await self.sim.wait_idle(timeout=60)

    async def _slot(self, slot: int, calls: int) -> None:
        for index in range(slot, calls, self.slots):
            caller = f"7900{next(self._callers):07d}"
            await self.sim.play_inbound(LINE, caller, **call_of(slot, index, self.slots))

    async def backlog(self, queues: Queues) -> int:
        """Entries and members still waiting in ``queues`` (read beside the tap)."""
        waiting = 0
        for key in queues.sets:
            waiting += await self.direct.zcard(key)
        for stream, group in queues.streams:
            with contextlib.suppress(ResponseError):  # no such stream yet
                for info in await self.direct.xinfo_groups(stream):
                    if info["name"] == group:
                        waiting += int(info["pending"]) + int(info.get("lag") or 0)
        return waiting

    async def quiet(self, queues: Queues, patience: float = 300) -> None:
        """Wait until nothing is queued, no Telegram request but long polling came for
        ``QUIET_SECONDS`` and Redis round trips fell to a background trickle."""
        deadline = time.monotonic() + patience
        seen: list[tuple[float, int, int]] = []
        while time.monotonic() < deadline:
            sends = sum(1 for method, _ in self.emulator.requests if method != "getUpdates")
            seen.append((time.monotonic(), sends, self.tap.round_trips))
            old = [s for s in seen if s[0] <= seen[-1][0] - QUIET_SECONDS]
            if (
                old
                and old[-1][1] == sends
                and self.tap.round_trips - old[-1][2] <= QUIET_ROUND_TRIPS
                and await self.backlog(queues) == 0
            ):
                return
            await asyncio.sleep(0.25)
        raise TimeoutError("the pipeline did not go quiet")


def call_of(slot: int, index: int, slots: int) -> dict[str, Any]:
    """``play_inbound``'s arguments for the ``index``-th call, played in ``slot``: its kind
    turns with every call a slot plays, on that slot's ring group."""
    members = [extension(slot * 3 + k) for k in range(3)]
    group = slot + 1
    kinds: list[dict[str, Any]] = [
        {"group_id": group, "answered_by": members[index % 3], "record": True, "talk_seconds": 5},
        {"group_id": group, "record": False},
        {"ring": members[:1], "answered_by": members[0], "record": False, "talk_seconds": 5},
        {"group_id": group, "abandon_in_ivr": True, "record": False},
    ]
    return kinds[(slot + index // slots) % len(kinds)]


def extension(index: int) -> str:
    return str(200 + index)


def account(api_url: str) -> dict[str, str]:
    return {"id": "main", "provider": "mango", "api_key": KEY, "api_salt": SALT, "api_url": api_url}


def directory(sim: MangoSimulator, emulator: TelegramEmulator, slots: int) -> None:
    """Three employees and a ring group per slot, one line, a user per employee, the group
    chat."""
    sim.add_line(Line(number=LINE, name="Main line"))
    for slot in range(slots):
        members = [extension(slot * 3 + k) for k in range(3)]
        for number in members:
            sim.add_employee(
                Employee(extension=number, name=f"Operator {number}", groups=[slot + 1])
            )
            emulator.add_user(FIRST_USER + int(number), f"Operator {number}", language_code="en")
        sim.add_group(
            Group(id=slot + 1, name=f"Group {slot + 1}", extension=str(500 + slot), members=members)
        )
    emulator.add_group(GROUP_CHAT, "Sales")
    emulator.add_bot_to_group(GROUP_CHAT, FIRST_USER + int(extension(0)))


async def link_people(redis_url: str, api_url: str, slots: int) -> None:
    """Link every employee's user through the app's own rules, and have the group chat
    follow missed calls (a group gets 20 messages a minute: summaries of every call would
    leave the run waiting for Telegram's limit)."""
    settings = Settings(redis_url=redis_url, accounts=[account(api_url)])
    redis: Redis = Redis.from_url(redis_url, decode_responses=True)
    async with httpx.AsyncClient() as http:
        repos = Repositories.over(redis)
        access = Access(repos, settings, Providers.from_settings(settings, http))
        for index in range(slots * 3):
            role = Role.MANAGER if index < MANAGERS else Role.REP
            await access.link("main", extension(index), FIRST_USER + int(extension(index)), role)
        await repos.subscriptions.subscribe(GROUP_CHAT, "main", SubscriptionKind.MISSED)
    await redis.aclose()


async def started(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Wait for ``/healthz``; fail at once, pointing at the log, if the process exits."""
    deadline = time.monotonic() + 60
    while process.poll() is None:
        try:
            await wait_for(f"http://127.0.0.1:{port}/healthz", patience=0.5)
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise
    raise RuntimeError(f"exited with code {process.returncode}, see {log}")


def interpreter(tree: Path) -> str:
    """The checkout's own virtualenv's Python when it has one (its own dependencies, as
    its lock file had them), else this one."""
    own = tree / ".venv" / "bin" / "python"
    return str(own) if tree != ROOT and own.exists() else sys.executable


@asynccontextmanager
async def app_process(h: Harness, tree: Path = ROOT) -> AsyncIterator[int]:
    """``python -m bot run`` of the checkout ``tree`` on core 0, its Redis through the
    tap; yields its pid."""
    port = free_port()
    config = h.workdir / "pbxgram.toml"
    fields = account(h.sim.base_url)
    config.write_text("[[accounts]]\n" + "".join(f'{k} = "{v}"\n' for k, v in fields.items()))
    env = {
        "BOT_TOKEN": h.emulator.token,
        "TELEGRAM_API_URL": h.emulator.base_url,
        "REDIS_URL": h.tap.url,
        "WEB_PORT": str(port),
        "PBXGRAM_CONFIG": str(config),
        "PBXGRAM_DATA_DIR": str(h.workdir / "data"),
        "LOG_LEVEL": "WARNING",
    }
    process = spawn([interpreter(tree), "-m", "bot", "run"], env, h.workdir / "app.log", cwd=tree)
    try:
        await started(process, port, h.workdir / "app.log")
        h.sim.webhook_url = f"http://127.0.0.1:{port}/pbx/main"
        yield process.pid
    finally:
        await asyncio.to_thread(stop, process)  # the tap in this loop keeps serving it


@asynccontextmanager
async def baseline_process(h: Harness) -> AsyncIterator[int]:
    """:mod:`bench.cost_baseline` on core 0, its Redis through the tap; yields its pid."""
    port = free_port()
    bot_api = f"{h.emulator.base_url}/bot{h.emulator.token}"
    chat = str(FIRST_USER + int(extension(0)))
    args = [
        sys.executable,
        "-m",
        "bench.cost_baseline",
        str(port),
        h.tap.url,
        KEY,
        SALT,
        bot_api,
        chat,
    ]
    process = spawn(args, {}, h.workdir / "baseline.log")
    try:
        await started(process, port, h.workdir / "baseline.log")
        h.sim.webhook_url = f"http://127.0.0.1:{port}/pbx/main"
        yield process.pid
    finally:
        await asyncio.to_thread(stop, process)


async def measure(
    h: Harness,
    pid: int,
    queues: Queues,
    calls: int,
    warmup: int,
    idle_s: float,
    cost: Cost,
    idle: Cost,
) -> None:
    """Warm up, then a batch of calls until all is delivered, with an idle stretch (the
    background cost) before and after it."""
    await h.play(warmup)
    await h.quiet(queues)
    await idle_stretch(h, pid, idle_s / 2, idle)
    start = await h.read(pid)
    await h.play(calls)
    await h.quiet(queues)
    cost.add(start, await h.read(pid), calls)
    await idle_stretch(h, pid, idle_s / 2, idle)


async def idle_stretch(h: Harness, pid: int, seconds: float, idle: Cost) -> None:
    start = await h.read(pid)
    await asyncio.sleep(seconds)
    idle.add(start, await h.read(pid), 0)


async def measure_side_by_side(
    lanes: list[tuple[Harness, int, Cost, Cost]], calls: int, warmup: int, idle_s: float
) -> None:
    """:func:`measure` for two apps at once, each in its own lane: the same calls reach
    both at the same moments, so whatever slows the machine down slows both alike."""
    await asyncio.gather(*(h.play(warmup) for h, *_ in lanes))
    await asyncio.gather(*(h.quiet(APP_QUEUES) for h, *_ in lanes))
    await idle_side_by_side(lanes, idle_s / 2)
    starts = [await h.read(pid) for h, pid, *_ in lanes]
    await asyncio.gather(*(h.play(calls) for h, *_ in lanes))
    await asyncio.gather(*(h.quiet(APP_QUEUES) for h, *_ in lanes))
    for (h, pid, cost, _), start in zip(lanes, starts, strict=True):
        cost.add(start, await h.read(pid), calls)
    await idle_side_by_side(lanes, idle_s / 2)


async def idle_side_by_side(lanes: list[tuple[Harness, int, Cost, Cost]], seconds: float) -> None:
    starts = [await h.read(pid) for h, pid, *_ in lanes]
    await asyncio.sleep(seconds)
    for (h, pid, _, idle), start in zip(lanes, starts, strict=True):
        idle.add(start, await h.read(pid), 0)


@asynccontextmanager
async def lane(workdir: Path, args: argparse.Namespace) -> AsyncIterator[tuple[Harness, str]]:
    """A Redis server behind its own tap, a Telegram emulator and a MANGO simulator, with
    the directory in place, for the pipelines measured one after another or for one app
    of a side-by-side run; yields the harness and the Redis URL."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    async with (
        redis_server(workdir) as redis_url,
        RedisTap(redis_url) as tap,
        TelegramEmulator(limits=Limits.disabled()) as emulator,
        MangoSimulator(KEY, SALT, limits=MangoLimits.disabled(), step_delay=args.step_delay) as sim,
    ):
        direct: Redis = Redis.from_url(redis_url, decode_responses=True)
        directory(sim, emulator, args.slots)
        try:
            yield Harness(workdir, tap, direct, emulator, sim, args.slots), redis_url
        finally:
            await direct.aclose()


async def side_by_side(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The app of ``--compare-with`` and this one, measured at the same time, each in
    its own lane; the trees swap lanes every round."""
    names = [EARLIER, "pbxgram"]
    trees = {EARLIER: args.compare_with, "pbxgram": ROOT}
    costs = {name: (Cost(), Cost()) for name in names}
    rounds: dict[str, list[tuple[Cost, Cost]]] = {name: [] for name in names}
    async with lane(workdir / "a", args) as first, lane(workdir / "b", args) as second:
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}: side by side", file=sys.stderr, flush=True)
            order = names if round_ % 2 == 0 else names[::-1]
            for h, redis_url in (first, second):
                await h.direct.flushdb()
                h.sim.history.clear()
                await link_people(redis_url, h.sim.base_url, args.slots)
            this_round = {name: (Cost(), Cost()) for name in names}
            async with (
                app_process(first[0], trees[order[0]]) as first_pid,
                app_process(second[0], trees[order[1]]) as second_pid,
            ):
                lanes = [
                    (first[0], first_pid, *this_round[order[0]]),
                    (second[0], second_pid, *this_round[order[1]]),
                ]
                await measure_side_by_side(lanes, args.calls, args.warmup, args.idle)
            for name in names:
                rounds[name].append(this_round[name])
                for pooled, one in zip(costs[name], this_round[name], strict=True):
                    pooled.merge(one)
    return report(costs, args, rounds)


def checkout_name(tree: Path) -> str:
    """The commit a checkout is at, else its folder's name."""
    described = subprocess.run(  # noqa: S603 - git, on a folder the user named
        ["git", "-C", str(tree), "log", "-1", "--format=%h %cs"],  # noqa: S607 - git on PATH
        capture_output=True,
        text=True,
        check=False,
    )
    return f"commit {described.stdout.strip()}" if described.returncode == 0 else tree.name


def per(value: float, count: int) -> float:
    return round(value / count, 3) if count else float("nan")


def net_cpu(cost: Cost, idle: Cost) -> float:
    """CPU seconds of ``cost`` less the idle background over its measured time."""
    return cost.cpu - idle.cpu / (idle.seconds or 1.0) * cost.seconds


def figures_of(name: str, cost: Cost, idle: Cost) -> dict[str, float]:
    """Raw and net (idle background subtracted over the measured time) figures."""
    rate = idle.seconds or 1.0
    background = {
        "round_trips": idle.round_trips / rate * cost.seconds,
        "commands": idle.commands / rate * cost.seconds,
        "stats": idle.stats_commands / rate * cost.seconds,
    }
    values = {
        "cpu_ms": (cost.cpu * 1000, net_cpu(cost, idle) * 1000),
        "round_trips": (cost.round_trips, cost.round_trips - background["round_trips"]),
        "commands": (cost.commands, cost.commands - background["commands"]),
        "commandstats": (cost.stats_commands, cost.stats_commands - background["stats"]),
    }
    out: dict[str, float] = {
        f"{name}_calls": cost.calls,
        f"{name}_events": cost.events,
        f"{name}_seconds": round(cost.seconds, 2),
        f"{name}_telegram_per_call": per(cost.sends, cost.calls),
        f"{name}_telegram_per_event": per(cost.sends, cost.events),
        f"{name}_idle_cpu_ms_per_s": round(idle.cpu * 1000 / rate, 3),
        f"{name}_idle_round_trips_per_s": round(idle.round_trips / rate, 2),
        f"{name}_idle_commands_per_s": round(idle.commands / rate, 2),
    }
    for what, (raw, net) in values.items():
        out[f"{name}_{what}_per_event"] = per(raw, cost.events)
        out[f"{name}_{what}_per_event_net"] = per(net, cost.events)
        out[f"{name}_{what}_per_call"] = per(raw, cost.calls)
        out[f"{name}_{what}_per_call_net"] = per(net, cost.calls)
    return out


def ratio(mine: float, base: float) -> float:
    return round(mine / base, 2) if base else float("nan")


def round_ratios(rounds: dict[str, list[tuple[Cost, Cost]]], other: str) -> list[float]:
    """pbxgram's net CPU per event over ``other``'s, round by round: how far the pooled
    ratio could be moved by the noise of one round."""
    return [
        ratio(net_cpu(mine, mine_idle) / mine.events, net_cpu(base, base_idle) / base.events)
        for (mine, mine_idle), (base, base_idle) in zip(
            rounds["pbxgram"], rounds[other], strict=True
        )
    ]


def report(
    costs: dict[str, tuple[Cost, Cost]],
    args: argparse.Namespace,
    rounds: dict[str, list[tuple[Cost, Cost]]] | None = None,
) -> dict[str, Any]:
    figures: dict[str, float] = {}
    for name, (cost, idle) in costs.items():
        figures |= figures_of(name, cost, idle)
    spread: dict[str, list[float]] = {}
    for other, prefix in (("baseline", "ratio"), (EARLIER, "ratio_to_earlier")):
        if other not in costs:
            continue
        for what in ("cpu_ms", "round_trips", "commands"):
            base = figures[f"{other}_{what}_per_event_net"]
            mine = figures[f"pbxgram_{what}_per_event_net"]
            figures[f"{prefix}_{what}_per_event"] = ratio(mine, base)
        if rounds is not None and len(rounds["pbxgram"]) > 1:
            spread[other] = round_ratios(rounds, other)
            figures[f"{prefix}_cpu_ms_per_event_lowest_round"] = min(spread[other])
            figures[f"{prefix}_cpu_ms_per_event_highest_round"] = max(spread[other])
    app = costs["pbxgram"][0]
    top = ", ".join(f"{n} {per(c, app.calls)}" for n, c in app.by_command.most_common(12))
    methods = ", ".join(
        f"{m} {per(c, app.calls)}" for m, c in app.telegram.most_common() if m != "getUpdates"
    )
    lines = [
        "Method: the real app runs as its own process (`python -m bot run`, pinned to",
        "core 0) against the Telegram emulator and the MANGO simulator, both with their",
        "limits off, in the harness process (core 1). Its Redis connection goes through a",
        "counting proxy (`sandbox/redis_tap.py`): a round trip is a burst of client bytes",
        "after the server answered, so a pipeline or a blocking read is one (and so are",
        "requests that tasks send over one shared connection before Redis answered any of",
        "them: from the commit that shares one, round trips drop by more than the writes",
        "the app makes; commands are the measure that compares across it). Commands are",
        "counted twice: by the proxy (what the app sends) and from `INFO commandstats`",
        "read directly (what Redis runs, the commands inside Lua scripts included, hence",
        "higher where the app uses scripts). CPU is the time the app's threads ran, in",
        "nanoseconds from /proc/<pid>/task/*/schedstat (clock ticks of /proc/<pid>/stat",
        "are too coarse for the idle stretches).",
        f"{args.slots} ring groups of three operators take calls",
        f"{args.slots} at a time, the kinds in turn: {'; '.join(KINDS)}. {MANAGERS} of the",
        "operators are managers, and a group chat follows missed calls (a group gets 20",
        "messages a minute: summaries of every call would mostly measure waiting).",
        "Each run starts from an empty database with the people linked again.",
        f"Per round: {args.warmup} calls to warm up, then {args.calls} measured calls, until",
        f"nothing is queued, no Telegram request came for {QUIET_SECONDS:g} s and Redis is",
        f"down to background polling, with {args.idle / 2:g} s idle before and after (the",
        f"background cost); {args.rounds} round(s), pooled. Net figures subtract the idle",
        "rate over the measured time.",
    ]
    if args.side_by_side:
        lines += [
            "",
            "Side by side: the earlier commit's app and this one ran at the same time, both",
            "on core 0, each with its own Redis, proxy, emulator and simulator; the same calls",
            "reached both at the same moments, and the two swapped lanes every round. What",
            "slows the machine down then slows both alike, so their ratio holds where one",
            "measured after the other drifts. Sharing a core, each app's figures differ from",
            "those of a run on its own: compare the ratio only. No baseline in this mode.",
        ]
    else:
        lines[-1] += " The baseline (`bench/cost_baseline.py`: verify, XADD,"
        lines += [
            "XREADGROUP, a jinja2 line, sendMessage, XACK; one message per event) takes the",
            "same calls the same way, in rounds interleaved with the app's.",
        ]
    lines.append("")
    for name, (cost, _) in costs.items():
        f = {k.removeprefix(name + "_"): v for k, v in figures.items() if k.startswith(name)}
        lines += [
            f"- {name}: {cost.calls} calls, {cost.events} events in {cost.seconds:.1f} s;"
            f" per event {f['cpu_ms_per_event_net']} ms CPU (raw {f['cpu_ms_per_event']}),"
            f" {f['round_trips_per_event_net']} round trips, {f['commands_per_event_net']}"
            f" commands ({f['commandstats_per_event_net']} by commandstats);"
            f" per call {f['cpu_ms_per_call_net']} ms CPU, {f['round_trips_per_call_net']}"
            f" round trips, {f['commands_per_call_net']} commands,"
            f" {f['telegram_per_call']} Telegram requests; idle {f['idle_cpu_ms_per_s']} ms"
            f" CPU/s, {f['idle_round_trips_per_s']} round trips/s",
        ]
    if "baseline" in costs:
        lines.append(
            f"- pbxgram / baseline per event (net): CPU {figures['ratio_cpu_ms_per_event']}×,"
            f" round trips {figures['ratio_round_trips_per_event']}×"
        )
    if EARLIER in costs:
        lines.append(
            f"- pbxgram / earlier ({checkout_name(args.compare_with)}) per event (net):"
            f" CPU {figures['ratio_to_earlier_cpu_ms_per_event']}×,"
            f" round trips {figures['ratio_to_earlier_round_trips_per_event']}×,"
            f" commands {figures['ratio_to_earlier_commands_per_event']}×"
        )
    for other, ratios in spread.items():
        lines.append(
            f"- pbxgram / {other} CPU per event, round by round: "
            + ", ".join(f"{r}×" for r in ratios)
        )
    lines += [
        f"- pbxgram commands per call: {top}",
        f"- pbxgram Telegram requests per call: {methods}",
    ]
    record(SIDE_BY_SIDE_SECTION if args.side_by_side else SECTION, lines, figures)
    return figures


async def main(args: argparse.Namespace) -> dict[str, Any]:
    pin_self(1)
    workdir = Path(tempfile.mkdtemp(prefix="pbxgram-cost-"))
    if args.side_by_side:
        return await side_by_side(args, workdir)
    async with lane(workdir, args) as (h, redis_url):
        names = [] if args.app_only else ["baseline"]
        names += [EARLIER] if args.compare_with else []
        names += ["pbxgram"]
        costs = {name: (Cost(), Cost()) for name in names}
        rounds: dict[str, list[tuple[Cost, Cost]]] = {name: [] for name in names}
        earlier = args.compare_with

        def earlier_process(h: Harness) -> AbstractAsyncContextManager[int]:
            return app_process(h, earlier)

        starts: dict[str, tuple[Callable[[Harness], AbstractAsyncContextManager[int]], Queues]]
        starts = {
            "pbxgram": (app_process, APP_QUEUES),
            "baseline": (baseline_process, BASELINE_QUEUES),
            EARLIER: (earlier_process, APP_QUEUES),
        }
        for round_ in range(args.rounds):
            for name in names:
                print(f"round {round_ + 1}: {name}", file=sys.stderr, flush=True)
                start, queues = starts[name]
                # Each from the same state: no missed calls, reminders or call log left by
                # the one before to send more messages for, and no calls in the PBX's own
                # log that this empty database never heard of (the app's reconciliation
                # would recover them all as missed calls, and alert every one).
                await h.direct.flushdb()
                h.sim.history.clear()
                await link_people(redis_url, h.sim.base_url, args.slots)
                this_round = (Cost(), Cost())
                async with start(h) as pid:
                    await measure(h, pid, queues, args.calls, args.warmup, args.idle, *this_round)
                rounds[name].append(this_round)
                for pooled, one in zip(costs[name], this_round, strict=True):
                    pooled.merge(one)
    return report(costs, args, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=40, help="measured calls per round")
    parser.add_argument(
        "--warmup",
        type=int,
        help="warm-up calls per round (default: one per slot, so every ring group, every "
        "person and every kind of call has been seen once before the measured calls)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--slots", type=int, default=16, help="calls at a time")
    parser.add_argument(
        "--idle", type=float, default=4.0, help="seconds of idle measured per round"
    )
    parser.add_argument("--step-delay", type=float, default=0.002)
    parser.add_argument("--app-only", action="store_true", help="skip the baseline")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="TREE",
        help="also measure the app of another checkout (an earlier commit), interleaved",
    )
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="with --compare-with: run both apps at the same time, each with its own Redis,"
        " emulator and simulator, instead of in turn (no baseline); for comparing two"
        " commits on a machine whose speed drifts",
    )
    arguments = parser.parse_args()
    if arguments.side_by_side and arguments.compare_with is None:
        parser.error("--side-by-side needs --compare-with")
    if arguments.warmup is None:
        arguments.warmup = arguments.slots
    print(json.dumps(asyncio.run(main(arguments)), indent=2))
