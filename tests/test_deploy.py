"""Everything in ``deploy/`` refers only to what the app has: the metrics the dashboard and
the alert rules use are exported (scraped from the app's own ``/metrics``), the ports and
probe paths are the roles', and every environment variable is one the app reads."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.parser import text_string_to_metric_families
from pydantic import AliasChoices
from redis.asyncio import Redis

from bot.config import Settings
from bot.pbx.registry import secret_fields
from bot.storage.keys import Keys
from bot.telegram.outbox import Priority
from bot.wiring import build_app
from tests.helpers import serving

yaml = pytest.importorskip("yaml")  # PyYAML comes with the test tools

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
CHECKED = {
    "compose/Caddyfile",
    "compose/docker-compose.yml",
    "grafana/pbxgram.json",
    "kubernetes/README.md",
    "kubernetes/configmap.yaml",
    "kubernetes/secret.yaml",
    "kubernetes/web.yaml",
    "kubernetes/worker.yaml",
    "prometheus/alerts.yml",
    "prometheus/prometheus.yml",
}
PROMETHEUS_OWN = {"up"}  # series Prometheus makes itself
TARGET_LABELS = {"instance", "job", "le"}  # added by the scrape, or a histogram's own
FUNCTION_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "sum", "min", "max", "avg", "count", "group", "stddev",
    "stdvar", "topk", "bottomk", "quantile", "count_values", "inf", "nan",
}  # fmt: skip
SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
IDENTIFIER = re.compile(r"(?<![\w.$:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
ROLE_PATHS = {"liveness": "/healthz", "readiness": "/readyz", "metrics": "/metrics"}


def deploy_files() -> dict[str, str]:
    return {
        path.relative_to(DEPLOY).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(DEPLOY.rglob("*"))
        if path.is_file()
    }


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(deploy_files()[name]) if doc]


# --- what the app has ---------------------------------------------------------------


@pytest_asyncio.fixture
async def exported(make_settings: Callable[..., Settings], redis: Redis) -> AsyncIterator[str]:
    """The text of the web role's ``/metrics``, with a backlog in Redis so every backlog
    gauge has a sample."""
    keys = Keys()
    for stream, group in [
        (keys.events_stream(), "workers"),
        *((keys.outbox(priority), "senders") for priority in Priority),
    ]:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    await redis.set(keys.last_event("main"), "1")
    settings = make_settings(bot_token="123456:TEST")
    async with httpx.AsyncClient() as http:
        app = build_app(settings, redis, http)
        try:
            async with serving(app.web_app) as url:
                yield (await http.get(f"{url}/metrics")).text
        finally:
            await app.bot.session.close()


def metric_labels(text: str) -> dict[str, set[str]]:
    """Every series name the scrape exports (samples and families), with its labels."""
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        names.setdefault(family.name, set())
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
            names[family.name].update(sample.labels)
    return names


def label_names_of(app_metrics: object) -> dict[str, set[str]]:
    """Series names and label names of every metric the app declares, even before it has
    a sample (a counter's ``_total``, a histogram's ``_bucket`` with ``le``…)."""
    suffixes: dict[str, dict[str, set[str]]] = {
        "counter": {"_total": set(), "_created": set()},
        "histogram": {"_bucket": {"le"}, "_sum": set(), "_count": set(), "_created": set()},
    }
    found: dict[str, set[str]] = {}
    for holder in (app_metrics, getattr(app_metrics, "backlog", None)):
        for value in vars(holder).values():
            if isinstance(value, prometheus_metrics.MetricWrapperBase):
                labels = set(value._labelnames)
                found[value._name] = labels
                for suffix, extra in suffixes.get(str(value._type), {}).items():
                    found[value._name + suffix] = labels | extra
    return found


def settings_env_names() -> set[str]:
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                names.add(alias.upper())
            elif isinstance(alias, AliasChoices):
                names.update(str(choice).upper() for choice in alias.choices)
    return names


def account_secret(name: str) -> str | None:
    """The account id of a ``PBXGRAM_<ID>_<FIELD>`` secret variable, else None."""
    for field in secret_fields():
        match = re.fullmatch(rf"PBXGRAM_([A-Z0-9_]+)_{field.upper()}", name)
        if match:
            return match.group(1)
    return None


# --- what deploy/ uses --------------------------------------------------------------


def expressions() -> Iterator[tuple[str, str, list[str]]]:
    """(where, PromQL expression, legend labels) of every dashboard target and alert rule."""
    dashboard = json.loads(deploy_files()["grafana/pbxgram.json"])
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            legend = re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", ""))
            yield f"dashboard: {panel['title']}", target["expr"], legend
    for group in documents("prometheus/alerts.yml")[0]["groups"]:
        for rule in group["rules"]:
            annotations = " ".join(rule.get("annotations", {}).values())
            legend = re.findall(r"\$labels\.(\w+)", annotations)
            yield f"alert {rule['alert']}", str(rule["expr"]), legend


def used_metrics(expr: str) -> tuple[set[str], dict[str, set[str]], set[str]]:
    """Metric names, label names matched per metric, and grouping labels of ``expr``."""
    matched: dict[str, set[str]] = {}
    for name, matchers in SELECTOR.findall(expr):
        matched.setdefault(name, set()).update(MATCHER.findall(matchers))
    grouping = {label.strip() for group in GROUPING.findall(expr) for label in group.split(",")}
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    bare = GROUPING.sub("", bare)
    names = {n for n in IDENTIFIER.findall(bare) if n not in FUNCTION_WORDS}
    return names, matched, grouping - {""}


def test_every_file_in_deploy_is_checked() -> None:
    assert set(deploy_files()) == CHECKED


def test_dashboard_and_alerts_use_only_exported_metrics(exported: str) -> None:
    from bot.metrics import Metrics

    labels = label_names_of(Metrics())
    for name, found in metric_labels(exported).items():
        labels[name] = labels.get(name, set()) | found
    for where, expr, legend in expressions():
        names, matched, grouping = used_metrics(expr)
        assert names, f"{where}: no metric in {expr!r}"
        known = TARGET_LABELS.copy()
        for name in names:
            assert name in labels or name in PROMETHEUS_OWN, f"{where}: {name} is not exported"
            own = labels.get(name, set())
            known |= own | ({"exported_job"} if "job" in own else set())
        for name, used in matched.items():
            allowed = TARGET_LABELS | labels.get(name, set())
            assert used <= allowed, f"{where}: {name} has no label {used - allowed}"
        assert grouping <= known, f"{where}: no label {grouping - known} in {expr!r}"
        assert set(legend) <= known, f"{where}: no label {set(legend) - known} to show"


def test_the_scrape_has_the_backlog_and_process_metrics(exported: str) -> None:
    names = metric_labels(exported)
    for name in (
        "pbxgram_events_backlog",
        "pbxgram_outbox_backlog",
        "pbxgram_dead_letters",
        "pbxgram_seconds_since_last_event",
        "pbxgram_stream_lag",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_collections_total",
    ):
        assert name in names, name


# --- ports and paths ------------------------------------------------------------------


def role_port(role: str) -> int:
    defaults = Settings.model_fields
    return int(defaults["worker_port" if role == "worker" else "web_port"].default)


def test_the_app_serves_the_probe_paths(make_settings: Callable[..., Settings]) -> None:
    from bot.metrics import Metrics
    from bot.web import build_web_app

    app = build_web_app(make_settings(), Redis(), Metrics())
    served = {resource.canonical for resource in app.router.resources()}
    assert set(ROLE_PATHS.values()) <= served


def test_kubernetes_ports_and_probes_are_the_roles() -> None:
    env = next(
        d for d in documents("kubernetes/configmap.yaml") if d["metadata"]["name"] == "pbxgram-env"
    )
    assert env["data"]["WEB_PORT"] == str(role_port("web"))
    assert env["data"]["WORKER_PORT"] == str(role_port("worker"))
    seen = set()
    for name in ("kubernetes/web.yaml", "kubernetes/worker.yaml"):
        for doc in documents(name):
            if doc["kind"] == "Service":
                web_port = role_port("web")
                assert [p["targetPort"] for p in doc["spec"]["ports"]] == [web_port]
                continue
            template = doc["spec"]["template"]
            (container,) = template["spec"]["containers"]
            role = container["command"][-1]
            assert container["command"] == ["pbxgram", role] and role in ("web", "worker")
            port = role_port(role)
            seen.add(role)
            assert [p["containerPort"] for p in container["ports"]] == [port]
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                assert container[probe]["httpGet"] == {"path": path, "port": port}
            annotations = template["metadata"]["annotations"]
            assert annotations["prometheus.io/port"] == str(port)
            assert annotations["prometheus.io/path"] == ROLE_PATHS["metrics"]
    assert seen == {"web", "worker"}


def test_compose_caddy_and_prometheus_ports_are_the_roles() -> None:
    files = deploy_files()
    compose = documents("compose/docker-compose.yml")[0]
    services = compose["services"]
    for role in ("web", "worker"):
        service = services[role]
        assert service["command"] == ["pbxgram", role]
        assert service["expose"] == [str(role_port(role))]
        assert service["environment"]["WEB_PORT"] == str(role_port("web"))
        assert service["environment"]["WORKER_PORT"] == str(role_port("worker"))
        assert service["deploy"]["replicas"] == 2
    redis = services["redis"]
    assert "noeviction" in redis["command"] and "--appendonly" in redis["command"]
    assert redis["healthcheck"]["test"]
    caddy = files["compose/Caddyfile"]
    assert re.findall(r"^\s*name (\S+)$", caddy, re.M) == ["web"]
    assert re.findall(r"^\s*port (\d+)$", caddy, re.M) == [str(role_port("web"))]
    assert "{$PUBLIC_URL}" in caddy
    scrape = documents("prometheus/prometheus.yml")[0]["scrape_configs"]
    for job in scrape:
        role = job["job_name"].removeprefix("pbxgram-")
        replacements = [r["replacement"] for r in job["relabel_configs"] if "replacement" in r]
        assert replacements == [f"$1:{role_port(role)}"]
        assert job["metrics_path"] == ROLE_PATHS["metrics"]
    jobs = {job["job_name"] for job in scrape}
    assert set(re.findall(r"pbxgram-(?:web|worker)", files["prometheus/alerts.yml"])) <= jobs


# --- environment variables ------------------------------------------------------------


def named_variables() -> dict[str, set[str]]:
    """Every variable deploy/ sets or refers to, with the files that name it."""
    files = deploy_files()
    found: dict[str, set[str]] = {}

    def add(name: str, where: str) -> None:
        found.setdefault(name, set()).add(where)

    for name in ("kubernetes/configmap.yaml", "kubernetes/secret.yaml"):
        for doc in documents(name):
            if doc["metadata"]["name"] == "pbxgram-accounts":
                continue  # a file, not variables
            for key in {**doc.get("data", {}), **doc.get("stringData", {})}:
                add(key, name)
    compose = documents("compose/docker-compose.yml")[0]
    for service in compose["services"].values():
        for key in service.get("environment", {}):
            add(key, "compose/docker-compose.yml")
    for where, text in files.items():
        for key in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text) + re.findall(
            r"\{\$([A-Z]\w*)\}", text
        ):
            add(key, where)
    # Anything else spelt like one of the app's variables (same first word) must be one.
    firsts = {name.split("_")[0] for name in settings_env_names()}
    for where, text in files.items():
        for key in re.findall(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9])\b", text):
            if key.split("_")[0] in firsts:
                add(key, where)
    return found


def test_every_variable_in_deploy_is_one_the_app_reads() -> None:
    known = settings_env_names()
    toml = documents("kubernetes/configmap.yaml")[1]["data"]["pbxgram.toml"]
    account_ids = {a["id"].upper().replace("-", "_") for a in tomllib.loads(toml)["accounts"]}
    variables = named_variables()
    assert {"BOT_TOKEN", "REDIS_URL", "PUBLIC_URL", "WORKER_PORT"} <= set(variables)
    for name, where in sorted(variables.items()):
        account = account_secret(name)
        if account is not None:
            assert account in account_ids | {"ID"}, f"{name} ({where}): no account {account}"
            continue
        assert name in known, f"{name} ({sorted(where)}) is not a variable pbxgram reads"
