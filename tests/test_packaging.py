"""The container and set-up files agree with the app: compose's variables reach it, Redis
keeps what it holds, nothing listens beyond loopback without TLS, images are pinned, one
Python version is named everywhere, secrets stay out of git and the image, and the image's
health probe asks the port of the role it runs."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import AliasChoices, SecretStr

from bot.config import Settings
from bot.pbx.registry import ACCOUNT_MODELS

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
VARIABLE_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")
PINNED_TAG = re.compile(r":v?\d+\.\d+(\.\d+)?([-.][A-Za-z0-9.]+)*$")


def _compose() -> dict[str, Any]:
    return cast("dict[str, Any]", yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def _services() -> dict[str, dict[str, Any]]:
    return cast("dict[str, dict[str, Any]]", _compose()["services"])


def _dockerfile() -> str:
    # Continuation lines joined, so each instruction is one line.
    return (ROOT / "Dockerfile").read_text().replace("\\\n", " ")


def _env_example() -> list[tuple[str, list[str]]]:
    """Each variable .env.example names (set or commented out), with the comment above it."""
    found: list[tuple[str, list[str]]] = []
    comments: list[str] = []
    after_variable = False
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = VARIABLE_LINE.match(line)
        if match:
            found.append((match.group(1), comments))
        elif line.startswith("#"):  # a comment after a variable starts the next one's
            comments = [line] if after_variable else [*comments, line]
        else:
            comments = []
        after_variable = match is not None
    return found


def _app_variables() -> dict[str, Any]:
    """The variables Settings reads, by name, with each one's field."""
    found: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        if name == "accounts":
            continue
        found[name.upper()] = field
        for alias in (field.alias, field.validation_alias):
            choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
            found.update({choice.upper(): field for choice in choices if isinstance(choice, str)})
    return found


def _account_secret(name: str) -> bool:
    """PBXGRAM_<ID>_<FIELD>: a secret field of some provider's account."""
    fields = {field.upper() for model in ACCOUNT_MODELS for field in model.secret_fields()}
    return any(re.fullmatch(rf"PBXGRAM_[A-Z0-9_]+_{re.escape(field)}", name) for field in fields)


def test_every_variable_of_env_example_is_one_the_app_reads() -> None:
    names = [name for name, _ in _env_example()]
    app = _app_variables()

    assert "BOT_TOKEN" in names
    assert "ADMIN_IDS" in names
    assert any(_account_secret(name) for name in names)
    unknown = [name for name in names if name not in app and not _account_secret(name)]
    assert unknown == [], f".env.example names variables pbxgram never reads: {unknown}"
    assert len(names) == len(set(names)), "a variable is listed twice"


def test_env_example_marks_the_secrets() -> None:
    app = _app_variables()
    for name, comments in _env_example():
        field = app.get(name)
        secret = _account_secret(name) or (
            field is not None and SecretStr in getattr(field.annotation, "__args__", ())
        )
        if secret:
            assert any("[secret]" in line for line in comments), f"{name} is not marked [secret]"


def test_compose_hands_the_env_file_to_the_app() -> None:
    app = _services()["pbxgram"]
    env_file = app["env_file"]
    files = [env_file] if isinstance(env_file, str) else env_file
    assert ".env" in [f if isinstance(f, str) else f["path"] for f in files]
    # What compose sets itself are variables the app reads, with fixed values: nothing here
    # may shadow .env with a blank interpolation.
    for name, value in app["environment"].items():
        assert name in _app_variables(), name
        assert "${" not in str(value), name
    config = app["environment"]["PBXGRAM_CONFIG"]
    assert any(str(volume).split(":")[1] == config for volume in app["volumes"])


def test_redis_is_healthy_first_never_evicts_and_keeps_an_append_only_file() -> None:
    services = _services()
    redis = services["redis"]
    command = " ".join(str(part) for part in redis["command"])

    assert "--maxmemory-policy noeviction" in command
    assert "--appendonly yes" in command
    assert redis["healthcheck"]["test"]
    assert services["pbxgram"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_ports_are_bound_to_loopback_outside_the_tls_profile() -> None:
    checked = 0
    for name, service in _services().items():
        if "tls" in service.get("profiles", []):
            continue
        for port in service.get("ports", []):
            host = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host == "127.0.0.1", f"{name} publishes {port} beyond this host"
            checked += 1
    assert checked


def test_services_stop_gracefully() -> None:
    for name, service in _services().items():
        assert "stop_grace_period" in service, name


def _dockerfile_images() -> list[str]:
    text = _dockerfile()
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, flags=re.MULTILINE | re.I))
    images = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE | re.I)
    images += re.findall(r"--from=(\S+)", text)
    return [image for image in images if image not in stages]


def test_images_are_pinned() -> None:
    images = _dockerfile_images() + [
        service["image"] for service in _services().values() if "image" in service
    ]
    assert len(images) >= 4
    for image in images:
        assert "latest" not in image, image
        assert PINNED_TAG.search(image.split("@")[0]), f"{image}: no exact version tag"


def test_one_python_version_everywhere() -> None:
    """The oldest Python pbxgram supports, everywhere it is named. No ``.python-version``:
    it would make uv fetch that exact version (offline: fail) on a machine with only a
    newer Python, and pyenv's shims would refuse to run where it is missing."""
    assert not (ROOT / ".python-version").exists()
    version = "3.11"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    bases = [image for image in _dockerfile_images() if image.startswith("python:")]

    assert re.fullmatch(r"3\.\d+", version)
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    assert pyproject["tool"]["mypy"]["python_version"] == version
    assert bases
    for base in bases:
        assert base.startswith(f"python:{version}."), base


def test_secrets_stay_out_of_git_and_of_the_image() -> None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        result = subprocess.run(  # noqa: S603
            [git, "check-ignore", "-q", path], cwd=ROOT, check=False
        )
        return result.returncode == 0

    assert ignored(".env")
    assert not ignored(".env.example")
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".git", ".venv", "pbxgram.toml"):
        assert entry in dockerignore, entry


def test_the_image_copies_what_exists_and_installs_known_extras() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get(
        "optional-dependencies", {}
    )
    for line in _dockerfile().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
        for extra in re.findall(r"--extra[ =](\S+)", line):
            assert extra in extras, f"the image installs an extra pyproject lacks: {extra}"


def _health_probe() -> str:
    line = next(line for line in _dockerfile().splitlines() if line.startswith("HEALTHCHECK"))
    command = json.loads(line.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    return cast("str", command[2])


def test_the_health_probe_names_both_ports() -> None:
    probe = _health_probe()
    assert "WEB_PORT" in probe
    assert "8080" in probe
    assert "WORKER_PORT" in probe
    assert "8081" in probe


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    port = server.server_address[1]
    server.server_close()
    return port


@pytest.mark.parametrize(
    ("command", "serves_on"),
    [
        ("pbxgram run", "WEB_PORT"),
        ("pbxgram web", "WEB_PORT"),
        ("pbxgram worker", "WORKER_PORT"),
        ("/sbin/docker-init -- pbxgram worker", "WORKER_PORT"),
    ],
)
def test_the_health_probe_asks_the_port_of_the_role(
    tmp_path: Path, health_port: int, command: str, serves_on: str
) -> None:
    cmdline = tmp_path / "cmdline"
    args = ["/app/.venv/bin/python", "/app/.venv/bin/pbxgram", *command.split()[1:]]
    if command.startswith("/sbin"):
        args = command.split()
    cmdline.write_bytes(b"\0".join(arg.encode() for arg in args) + b"\0")
    probe = _health_probe().replace("/proc/1/cmdline", str(cmdline))
    other = "WORKER_PORT" if serves_on == "WEB_PORT" else "WEB_PORT"

    def probe_exit(env: dict[str, str]) -> int:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", probe], env=env, capture_output=True, check=False, timeout=20
        )
        return result.returncode

    closed = str(_closed_port())
    assert probe_exit({serves_on: str(health_port), other: closed}) == 0
    assert probe_exit({serves_on: closed, other: str(health_port)}) != 0


def test_the_tls_proxy_serves_public_url_and_keeps_metrics_in(tmp_path: Path) -> None:
    caddy = _services()["caddy"]
    script = caddy["command"][2]
    assert re.search(r"(?<!\$)\$(?!\$)", script) is None, "a $ compose would interpolate"
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no sh")
    script = script.replace("$$", "$").replace("exec caddy", "cat /tmp/Caddyfile #")
    script = script.replace("/tmp/Caddyfile", "Caddyfile")

    def caddyfile(public_url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [shell, "-c", script],
            env={"PUBLIC_URL": public_url, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    served = caddyfile("https://pbx.example.com/")
    assert served.returncode == 0, served.stderr
    assert served.stdout.splitlines()[0] == "https://pbx.example.com {"
    assert "respond /metrics* 404" in served.stdout
    assert "reverse_proxy pbxgram:8080" in served.stdout
    assert "set PUBLIC_URL" in caddyfile("").stderr


def test_readme_commands_install_uv_alike_and_the_demo_skips_dev_tools() -> None:
    readme = (ROOT / "README.md").read_text()
    demo = next(line for line in readme.splitlines() if "pbxgram demo; fi" in line)
    tests = next(line for line in readme.splitlines() if "uv run pytest; fi" in line)

    assert demo.count("uv run --no-dev pbxgram demo") == 2  # uv on PATH, or as pip put it
    assert demo.replace("--no-dev pbxgram demo", "pytest") == tests
    assert "--user --break-system-packages" in demo  # PEP 668 systems
    ci = (ROOT / ".ci" / "run").read_text()
    assert "run --no-dev pbxgram demo" in ci  # CI runs the same install step
    assert "uv sync --locked" in ci
