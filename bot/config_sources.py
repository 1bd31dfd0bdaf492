"""Where variables come from, strongest first: the environment, a ``.env`` file in the
working directory, then a secrets directory (``PBXGRAM_SECRETS_DIR``: one file per variable,
as Docker and Kubernetes mount secrets).

:mod:`bot.config` hands the same ``.env`` file and directory to pydantic-settings for the
settings; this module answers for the variables pydantic-settings does not know: the
accounts file's path and the accounts' ``PBXGRAM_<ID>_<FIELD>`` secrets.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dotenv.parser import parse_stream  # python-dotenv: what pydantic-settings reads .env with
from pydantic_settings import BaseSettings, DotEnvSettingsSource, SecretsSettingsSource

ENV_FILE = Path(".env")
SECRETS_DIR_VARIABLE = "PBXGRAM_SECRETS_DIR"
ENVIRONMENT = "the environment"


def secret_variable(account_id: object, field_name: str) -> str:
    """The variable that may hold an account's secret: ``PBXGRAM_MAIN_API_SALT``."""
    slug = str(account_id).upper().replace("-", "_") if isinstance(account_id, str) else "<ID>"
    return f"PBXGRAM_{slug}_{field_name.upper()}"


@dataclass(frozen=True)
class Sources:
    """The environment, the ``.env`` file and the secrets directory, read once."""

    environ: Mapping[str, str]
    env_file: Path | None = None  # None: no readable .env
    dotenv: Mapping[str, str | None] = field(default_factory=dict)  # lower-cased names
    secrets_dir: Path | None = None
    problems: tuple[str, ...] = ()  # e.g. PBXGRAM_SECRETS_DIR names no directory

    @classmethod
    def read(cls, environ: Mapping[str, str], settings_cls: type[BaseSettings]) -> Sources:
        """Read ``.env`` (when present) and find the secrets directory."""
        env_file, problems = _check_env_file()
        dotenv = DotEnvSettingsSource(settings_cls, env_file=env_file).env_vars
        named = cls(environ, env_file, dotenv).get(SECRETS_DIR_VARIABLE, secrets=False)
        directory = Path(named[0]).expanduser().absolute() if named is not None else None
        if directory is not None and not directory.is_dir():
            missing = "is not a directory" if directory.exists() else "does not exist"
            problems.append(f"{SECRETS_DIR_VARIABLE}: directory {directory} {missing}")
            directory = None
        return cls(environ, env_file, dotenv, directory, tuple(problems))

    def get(self, name: str, *, secrets: bool = True) -> tuple[str, str] | None:
        """The variable's value and where it came from, or None when unset or empty."""
        value = self.environ.get(name)
        if value:
            return value, ENVIRONMENT
        value = self.dotenv.get(name.lower())
        if value:
            return value, str(ENV_FILE)
        if secrets and self.secrets_dir is not None:
            value = _secret_file(self.secrets_dir, name)
            if value:
                return value, f"{self.secrets_dir}/{name}"
        return None


@contextmanager
def quiet_dotenv() -> Iterator[None]:
    """Keep python-dotenv from logging lines it cannot read: they are reported as mistakes."""
    logger = logging.getLogger("dotenv.main")
    disabled, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = disabled


def _check_env_file() -> tuple[Path | None, list[str]]:
    """``.env`` when present and readable, and its lines that are not ``NAME=value``."""
    if not ENV_FILE.is_file():
        return None, []
    where = ENV_FILE.absolute()
    try:
        text = ENV_FILE.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{where}: cannot be read ({exc.__class__.__name__})"]
    bad = [b.original.line for b in parse_stream(io.StringIO(text)) if b.error]
    return ENV_FILE, [f"{where}: line {line} is not NAME=value" for line in bad]


def _secret_file(directory: Path, name: str) -> str | None:
    """A file named like the variable (any case), read as pydantic-settings reads one."""
    path = SecretsSettingsSource.find_case_path(directory, name, case_sensitive=False)
    if path is None or not path.is_file():
        return None
    if directory.resolve() not in path.resolve().parents:  # a link out of the directory
        return None
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
