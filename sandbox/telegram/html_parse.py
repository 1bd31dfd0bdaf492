"""Telegram's HTML parse mode, following tdlib's ``parse_html``: tags, entities, error texts.

Like Telegram, a ``&`` that does not start a known entity and a lone ``>`` stay literal,
while a lone ``<`` starts a tag and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_SPACES = " \t\r\n\v\f"
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class HtmlError(ValueError):
    """Text Telegram would refuse with ``can't parse entities``."""


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """``&lt;``, ``&#60;`` or ``&#x3c;`` at ``pos`` as (character, next index); None if not one."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        base = 10
        if end < n and text[end] == "x":
            base = 16
            end += 1
        digits = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        code = 0
        while end < n and text[end] in digits:
            code = code * base + int(text[end], base)
            end += 1
            if code >= 0x10FFFF:
                return None
        if code == 0 or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and text[end] == ";":
        end += 1
    return char, end


class _HtmlParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def fail(self, message: str) -> HtmlError:
        return HtmlError(message)

    def at(self, index: int) -> str:
        return self.text[index] if index < len(self.text) else ""

    def emit(self, char: str) -> None:
        self.out.append(char)
        self.utf16 += 2 if ord(char) > 0xFFFF else 1

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char == "&":
                decoded = _decode_entity(text, self.i)
                if decoded is not None:
                    self.emit(decoded[0])
                    self.i = decoded[1]
                    continue
            if char != "<":
                self.emit(char)
                self.i += 1
                continue
            if self.at(self.i + 1) == "/":
                self.close_tag()
            else:
                self.open_tag()
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def open_tag(self) -> None:
        begin = self.i
        where = _byte_offset(self.text, begin)
        self.i += 1
        start = self.i
        while self.at(self.i) and self.at(self.i) not in _SPACES and self.at(self.i) != ">":
            self.i += 1
        if not self.at(self.i):
            raise self.fail(f"Unclosed start tag at byte offset {where}")
        tag = self.text[start : self.i].lower()
        if tag not in _TAG_TYPES:
            raise self.fail(f'Unsupported start tag "{tag}" at byte offset {where}')
        argument = ""
        while self.at(self.i) != ">":
            while self.at(self.i) and self.at(self.i) in _SPACES:
                self.i += 1
            if self.at(self.i) == ">":
                break
            name_start = self.i
            while self.at(self.i) and self.at(self.i) not in _SPACES + "=>":
                self.i += 1
            name = self.text[name_start : self.i]
            if not name:
                raise self.fail(f'Empty attribute name in the tag "{tag}" at byte offset {where}')
            while self.at(self.i) and self.at(self.i) in _SPACES:
                self.i += 1
            if self.at(self.i) != "=" and (tag, name) == ("blockquote", "expandable"):
                argument = "1"
                continue
            if self.at(self.i) != "=":
                raise self.fail(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" at byte offset {where}'
                )
            self.i += 1
            while self.at(self.i) and self.at(self.i) in _SPACES:
                self.i += 1
            if not self.at(self.i):
                raise self.fail(f'Unclosed start tag "{tag}" at byte offset {where}')
            value = self.attribute_value()
            if not self.at(self.i):
                raise self.fail(f"Unclosed start tag at byte offset {where}")
            argument = _tag_argument(tag, name, value, argument)
        if tag == "span" and argument != "spoiler":
            raise self.fail(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
        self.i += 1
        self.stack.append(_Open(tag, argument, self.utf16))

    def attribute_value(self) -> str:
        quote = self.at(self.i)
        if quote not in ("'", '"'):
            token_start = self.i
            while self.at(self.i) and (self.at(self.i).isalnum() or self.at(self.i) in ".-"):
                self.i += 1
            if self.at(self.i) and self.at(self.i) not in _SPACES + ">":
                where = _byte_offset(self.text, token_start)
                raise self.fail(f"Unexpected end of name token at byte offset {where}")
            return self.text[token_start : self.i].lower()
        self.i += 1
        value: list[str] = []
        while self.at(self.i) and self.at(self.i) != quote:
            if self.at(self.i) == "&":
                decoded = _decode_entity(self.text, self.i)
                if decoded is not None:
                    value.append(decoded[0])
                    self.i = decoded[1]
                    continue
            value.append(self.at(self.i))
            self.i += 1
        if self.at(self.i) == quote:
            self.i += 1
        return "".join(value)

    def close_tag(self) -> None:
        begin = self.i
        where = _byte_offset(self.text, begin)
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {where}")
        self.i += 2
        while self.at(self.i) and self.at(self.i) not in _SPACES and self.at(self.i) != ">":
            self.i += 1
        end_name = self.text[begin + 2 : self.i]
        while self.at(self.i) and self.at(self.i) in _SPACES:
            self.i += 1
        if self.at(self.i) != ">":
            raise self.fail(f"Unclosed end tag at byte offset {where}")
        opened = self.stack[-1]
        if end_name and end_name != opened.tag:
            raise self.fail(
                f'Unmatched end tag at byte offset {where}, expected "</{opened.tag}>", '
                f'found "</{end_name}>"'
            )
        self.i += 1
        self.stack.pop()
        self.add_entity(opened)

    def add_entity(self, opened: _Open) -> None:
        length = self.utf16 - opened.offset
        if length <= 0:
            return
        entity: dict[str, Any] = {
            "type": _TAG_TYPES[opened.tag],
            "offset": opened.offset,
            "length": length,
        }
        if opened.tag == "a":
            inner = "".join(self.out).encode("utf-16-le")[opened.offset * 2 :].decode("utf-16-le")
            entity["url"] = opened.argument or inner
        elif opened.tag == "tg-emoji":
            entity["custom_emoji_id"] = opened.argument
        elif opened.tag == "blockquote" and opened.argument:
            entity["type"] = "expandable_blockquote"
        elif opened.tag == "pre":
            last = self.entities[-1] if self.entities else None
            if (
                last is not None
                and last["type"] == "code"
                and (last["offset"], last["length"]) == (opened.offset, length)
            ):
                self.entities.pop()
                if last.get("language"):
                    entity["language"] = last["language"]
        elif opened.tag == "code" and opened.argument:
            entity["language"] = opened.argument
        self.entities.append(entity)


def _tag_argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "1"
    return current


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of an HTML-formatted text; HtmlError if Telegram would refuse it."""
    plain, entities = _HtmlParser(text).run()
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return plain, entities
