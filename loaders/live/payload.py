"""A pushed payload (an MQTT message, an HTTP ingest body) as the messages it holds.

Bytes become text as UTF-8, else as GB 18030 (the encoding GBK platforms write; every GBK text is
GB 18030), never with characters replaced: a payload neither can read keeps its bytes as escapes
(`\\xff`), so it is quarantined with what it was rather than stored with its text destroyed. Text
becomes JSON lines split on line feeds only: U+2028 and the other separators `str.splitlines`
breaks on are valid inside a JSON string.
"""
from __future__ import annotations


def decode(payload: bytes | bytearray) -> str:
    for encoding in ("utf-8", "gb18030"):
        try:
            return payload.decode(encoding)
        except UnicodeDecodeError:
            continue
    return payload.decode("utf-8", "backslashreplace")


def lines(text: str) -> list[str]:
    """The non-blank lines of a payload (a trailing carriage return dropped)."""
    return [line.removesuffix("\r") for line in text.split("\n") if line.strip()]
