"""Reading the XML ``/api/call/info`` and ``/api/call/journal`` answer with, safely.

Use :func:`parse` for every XML body from Mobilon. It builds the tree with expat and
refuses any document type declaration, so entity declarations (the "billion laughs"
bomb) and external entities never get expanded or fetched. A bare ``&`` in text, as the
doc writes ``record_url`` (``...?token={token}&callid={callid}``), is read as a literal
``&``; a real reference (``&amp;``, ``&#38;``) is read as XML reads it.
"""

from __future__ import annotations

import re
from typing import NoReturn
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

BARE_AMPERSAND = re.compile(rb"&(?!(?:[A-Za-z_:][\w.:-]*|#[0-9]+|#x[0-9A-Fa-f]+);)")


class MalformedXml(ValueError):
    """The body is not XML pbxgram reads; the message names no part of the body."""


def _refuse(*_: object) -> NoReturn:
    raise MalformedXml("document type declarations are not accepted")


def parse(body: bytes) -> Element:
    """The root element of ``body``; MalformedXml when it is not well-formed XML or has a
    DTD (entities included)."""
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(BARE_AMPERSAND.sub(b"&amp;", body), True)
        return builder.close()
    except expat.ExpatError as exc:
        raise MalformedXml(f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
