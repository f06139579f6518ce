"""A pushed payload (an MQTT message, an HTTP ingest body) as the messages it holds.

The bytes are split into lines first — on line feeds and carriage returns, which a JSON text never
holds raw (U+2028 and the other separators `str.splitlines` breaks on are valid inside a JSON
string), and which no GBK or GB 18030 character contains — and each line is read on its own: one
line's stray byte never changes how another is read. A line is UTF-8; else, unless it is mostly
UTF-8 with a few stray bytes, GB 18030 (the encoding GBK platforms write; every GBK text is GB
18030); a line neither reads keeps its bytes as escapes (`\\xb0`), so it is quarantined as it came
rather than stored with its text replaced or garbled.
"""
from __future__ import annotations

import re

_BREAK = re.compile(rb"\r\n|\r|\n")


def messages(payload: bytes | bytearray) -> list[str]:
    """The payload's non-blank lines, each read as text."""
    return [text for line in _BREAK.split(bytes(payload)) if (text := decode(line)).strip()]


def decode(line: bytes) -> str:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        if not _mostly_utf8(line):
            try:
                return line.decode("gb18030")
            except UnicodeDecodeError:
                pass
        return line.decode("utf-8", "backslashreplace")
    if text.isascii():
        return text
    # GBK bytes that happen to be valid UTF-8 (液位 is D2 BA CE BB: Һλ): Chinese one way, not the other
    try:
        chinese = line.decode("gb18030")
    except UnicodeDecodeError:
        return text
    return chinese if _chinese(chinese) and not _chinese(text) else text


def _mostly_utf8(line: bytes) -> bool:
    """Whether a line that is not valid UTF-8 is UTF-8 with a few stray bytes: more UTF-8 characters
    than broken sequences. GBK text makes a valid UTF-8 pair now and then (温度 is CE C2 B6 C8, and
    C2 B6 is ¶), but far fewer than it breaks."""
    text = line.decode("utf-8", "replace")
    return sum(ch > "\x7f" and ch != "\ufffd" for ch in text) > text.count("\ufffd")


#: what the non-ASCII characters of a Chinese platform's message are: hanzi, CJK and full-width
#: punctuation, general punctuation, ℃ and its kin, °, ·
_CHINESE = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2000, 0x206F),
            (0x2100, 0x214F), (0xB0, 0xB0), (0xB7, 0xB7))


def _chinese(text: str) -> bool:
    return all(any(lo <= ord(ch) <= hi for lo, hi in _CHINESE) for ch in text if not ch.isascii())
