"""A pushed payload (an MQTT message, an HTTP ingest body) as the messages it holds.

The bytes are split into lines first — on line feeds and carriage returns, which a JSON text never
holds raw (U+2028 and the other separators `str.splitlines` breaks on are valid inside a JSON
string), and which no GBK or GB 18030 character contains — and each line is read on its own: one
line's stray byte never changes how another is read. A line is UTF-8; else, if it holds no UTF-8
character at all, GB 18030 (the encoding GBK platforms write; every GBK text is GB 18030); a line
neither reads keeps its bytes as escapes (`\\xb0`), so it is quarantined as it came rather than
stored with its text replaced or garbled.
"""
from __future__ import annotations

import re

_BREAK = re.compile(rb"\r\n|\r|\n")


def messages(payload: bytes | bytearray) -> list[str]:
    """The payload's non-blank lines, each read as text."""
    return [text for line in _BREAK.split(bytes(payload)) if (text := decode(line)).strip()]


def decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if not any(ch > "\x7f" and ch != "\ufffd" for ch in line.decode("utf-8", "replace")):
        try:
            return line.decode("gb18030")
        except UnicodeDecodeError:
            pass
    return line.decode("utf-8", "backslashreplace")
