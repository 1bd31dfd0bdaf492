"""The one error tree of pbxgram.

    PbxgramError
    ├── ConfigError          a setting is missing or wrong; one line per mistake, exit 2
    ├── StorageError         Redis (or the embedded server) could not be reached or started
    └── AccessError          the caller may not do this (not linked, wrong role)

Provider errors (``PbxError`` and its subtree) join this tree with the providers.
Messages never carry secret values.
"""

from __future__ import annotations


class PbxgramError(Exception):
    """Base of every error pbxgram raises on purpose."""


class ConfigError(PbxgramError):
    """A setting is missing or wrong; ``str()`` is what the operator is shown, a line per
    mistake."""


class StorageError(PbxgramError):
    """Redis could not be reached, or the embedded server could not start."""


class AccessError(PbxgramError):
    """The caller is not allowed to do this."""
