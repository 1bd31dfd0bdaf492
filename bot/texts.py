"""Every user-facing text comes from ``templates/<lang>/``.

Use :class:`Texts` (one per process) to render a message template, and
:meth:`Texts.bind` to get a :class:`Translator` for one person's language, which
handlers receive as ``t``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.domain import Language

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class Texts:
    """The jinja2 environment (autoescaped, strict) and the short labels of each language."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=True,
            undefined=StrictUndefined,
            auto_reload=False,  # templates are read once, not checked on disk at every use
        )
        self._labels = {language: _load_labels(directory / language.value) for language in Language}

    def render(self, language: Language, template_name: str, /, **context: Any) -> str:
        """Telegram HTML for the message template ``<lang>/<template_name>.html``."""
        template = self._env.get_template(f"{language.value}/{template_name}.html")
        return template.render(**context).strip()

    def label(self, language: Language, key: str, /, **values: Any) -> str:
        """A short plain-text label (a button, a command description): ``section.name``.

        ``labels.toml`` holds the top level; any other ``<name>.toml`` sits under ``<name>.``.
        """
        node: Any = self._labels[language]
        for part in key.split("."):
            node = node[part]
        return str(node).format(**values) if values else str(node)

    def bind(self, language: Language) -> Translator:
        return Translator(self, language)


def _load_labels(directory: Path) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    for path in sorted(directory.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if path.stem == "labels":
            labels.update(data)
        else:
            labels[path.stem] = data
    return labels


@dataclass(frozen=True)
class Translator:
    """Texts in one language; what handlers use to answer a person."""

    texts: Texts
    language: Language

    def __call__(self, template_name: str, /, **context: Any) -> str:
        return self.texts.render(self.language, template_name, **context)

    def label(self, key: str, /, **values: Any) -> str:
        return self.texts.label(self.language, key, **values)
