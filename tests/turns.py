"""Taking turns between parallel test processes (pytest-xdist): most tests share the machine,
but a test marked ``exclusive`` (the reliability scenarios, which measure rates and timings
of several processes) runs with no other test running beside it.

A readers-writer lock on a file named after the test run: shared for ordinary tests,
exclusive for the others. Without xdist it does nothing.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def turn(*, exclusive: bool) -> Iterator[None]:
    """Hold the machine: alone (``exclusive``), or beside other ordinary tests."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        yield
        return
    path = Path(tempfile.gettempdir()) / f"pbxgram-tests-{run}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
