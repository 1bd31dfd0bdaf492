"""Reading a ``curl --form`` command of the relay format, to send it the way curl would.

:func:`parse_curl` takes one command as written in a shell (line continuations and
quotes included) and returns its URL, its form fields in order, and the file it uploads.
Only what relay scripts use is understood: ``--form``/``-F``, ``--request``/``-X``,
``--location``/``-L``, ``-s``, ``-m``/``--max-time``, ``--retry`` and the URL.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

_FLAGS = {"--location", "-L", "-s", "--silent"}
_WITH_VALUE = {"--request", "-X", "-m", "--max-time", "--retry"}


@dataclass(frozen=True)
class CurlFile:
    """``--form 'name=@path;type=…'``: a file upload."""

    name: str
    path: str
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class CurlRequest:
    url: str
    method: str
    fields: list[tuple[str, str]]
    file: CurlFile | None = None


def parse_curl(command: str) -> CurlRequest:
    """The request a ``curl`` command sends; ValueError for anything it does not understand."""
    words = shlex.split(command.replace("\\\n", " "))
    if not words or words[0] != "curl":
        raise ValueError(f"not a curl command: {command!r}")
    url: str | None = None
    method = "GET"
    fields: list[tuple[str, str]] = []
    upload: CurlFile | None = None
    rest = iter(words[1:])
    for word in rest:
        if word in _FLAGS:
            continue
        if word in _WITH_VALUE:
            value = next(rest)
            if word in ("--request", "-X"):
                method = value
        elif word in ("--form", "-F"):
            method = "POST" if method == "GET" else method
            name, value = _field(next(rest))
            if value.startswith("@"):
                upload = _file(name, value[1:])
            else:
                fields.append((name, value))
        elif word.startswith("-"):
            raise ValueError(f"unknown curl option {word!r}")
        elif url is None:
            url = word
        else:
            raise ValueError(f"a second URL {word!r}")
    if url is None:
        raise ValueError(f"no URL in {command!r}")
    return CurlRequest(url=url, method=method, fields=fields, file=upload)


def _field(form: str) -> tuple[str, str]:
    name, sep, value = form.partition("=")
    if not sep:
        raise ValueError(f"--form needs name=value, not {form!r}")
    return name, value


def _file(name: str, spec: str) -> CurlFile:
    path, *options = spec.split(";")
    content_type = "application/octet-stream"
    for option in options:
        key, _, value = option.partition("=")
        if key.strip() == "type":
            content_type = value.strip()
    return CurlFile(name=name, path=path, content_type=content_type)
