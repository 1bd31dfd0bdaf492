"""The tests never touch the Redis that ``REDIS_URL`` names (it may be a real deployment):
they use ``TEST_REDIS_URL``, or their own embedded server; parallel test processes each
get their own database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli.helpers import PROJECT_ROOT
from tests.conftest import _worker_database

A_DEPLOYMENT = "redis://127.0.0.1:1/0"  # nothing listens there: using it would fail


def test_a_test_run_with_redis_url_set_leaves_that_server_alone() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TEST_REDIS"))}
    env["REDIS_URL"] = A_DEPLOYMENT
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "tests/services/test_presence.py",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout
    assert "skipped" not in run.stdout


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "gw0", "redis://127.0.0.1:6379/0"),
        ("redis://127.0.0.1:6379/3", "gw1", "redis://127.0.0.1:6379/4"),
        ("redis://127.0.0.1:6379", "gw2", "redis://127.0.0.1:6379/2"),
        ("redis://127.0.0.1:6379/5", "", "redis://127.0.0.1:6379/5"),
    ],
)
def test_each_parallel_process_has_its_own_database(
    monkeypatch: pytest.MonkeyPatch, url: str, worker: str, expected: str
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    assert _worker_database(url) == expected
