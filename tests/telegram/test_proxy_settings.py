"""TELEGRAM_PROXY: which URLs are taken, and that logs never show its credentials."""

from __future__ import annotations

import logging
import ssl

import pytest
from aiohttp_socks import ProxyType
from pydantic import ValidationError

from bot.config import Settings
from bot.logs import RedactSecrets, secret_values
from bot.telegram.factory import create_bot

PASSWORD = "pr0xy-Secret@pass"
URL = "socks5://office:pr0xy-Secret%40pass@proxy.example:1080"


@pytest.mark.parametrize(
    "url",
    ["http://proxy.example:3128", "https://u:p@proxy.example:443", URL, " socks5://10.0.0.1:1080 "],
)
def test_proxy_urls_taken(url: str) -> None:
    proxy = Settings(telegram_proxy=url).telegram_proxy
    assert proxy is not None and proxy.get_secret_value() == url.strip()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://u:pr0xy-Secret@proxy.example:21",
        "socks4://proxy.example:1080",
        "socks5://proxy.example",
        "http://u:pr0xy-Secret@proxy.example:port",
        "proxy.example:3128",
        "http://proxy.example:3128/path",
    ],
)
def test_bad_proxy_urls_are_refused_without_echo(url: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(telegram_proxy=url)
    [error] = refused.value.errors()
    assert error["loc"] == ("telegram_proxy",)
    assert "pr0xy-Secret" not in error["msg"]


def test_empty_proxy_means_none() -> None:
    assert Settings(telegram_proxy="").telegram_proxy is None


def test_proxy_url_and_password_are_redacted() -> None:
    secrets = secret_values(Settings(telegram_proxy=URL))
    text, args = "via %s (password %s)", (URL, PASSWORD)
    line = logging.LogRecord("x", logging.INFO, "", 0, text, args, None)
    RedactSecrets(secrets).filter(line)
    assert "pr0xy-Secret" not in line.getMessage()
    assert "***" in line.getMessage()


def test_https_proxy_is_reached_over_tls() -> None:
    bot = create_bot(Settings(bot_token="1:x", telegram_proxy="https://u:p@proxy.example:8443"))
    connector = bot.session._connector_init  # type: ignore[attr-defined]
    assert connector["proxy_type"] == ProxyType.HTTP
    assert (connector["host"], connector["port"]) == ("proxy.example", 8443)
    assert isinstance(connector["proxy_ssl"], ssl.SSLContext)
