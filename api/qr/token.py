"""The code's token: a compact binary record, signed with Ed25519, written in base32 for a QR code.

A placard's QR code holds `{BASE}/Q/{TOKEN}`. Everything in the URL is in the QR alphanumeric set
(0-9, A-Z, space and `$%*+-./:`) so the whole code is one alphanumeric segment: 5.5 bits a
character instead of 8. The token is RFC 4648 base32 without padding (A-Z, 2-7: URL-safe, no case
to lose), 1.6 characters a byte. Layout, version 1 (all integers big-endian):

| offset | bytes | field |
|---|---|---|
| 0 | 1 | code version (high nibble, 1) and flags (low nibble; bit 0: an encrypted summary follows the id) |
| 1 | 1 | entity type: 1 Enterprise, 2 RiskPoint, 3 NaturalDisasterRiskPoint, 4 RescueTeam, 5 Supply, 6 Shelter |
| 2 | 1 | signing key id (the keyring's Ed25519 key) |
| 3 | 4 | issued at, seconds since 2020-01-01T00:00:00Z (unsigned: good until 2156) |
| 7 | 4 | expires at, same clock |
| 11 | 4 | fingerprint: SHA-256 of the entity's public dynamic fields at issue, first 4 bytes (stale detection) |
| 15 | 1 | id header: bit 7 set = packed, bits 0-6 = the id's length (characters if packed, UTF-8 bytes if not) |
| 16 | n | the entity id: packed = base-40 integer over `0-9A-Z-_.:` (an 18-character USCC takes 12 bytes, 30 characters 20); else UTF-8 |
| … | 1 | (summary) AES key id |
| … | 12 | (summary) AES-GCM nonce, random |
| … | m+16 | (summary) AES-256-GCM ciphertext and tag; associated data: every byte before the AES key id |
| end | 64 | Ed25519 signature over every byte before it |

The summary plaintext: 1 byte risk colour (high nibble: 0 none, 1 BLUE, 2 YELLOW, 3 ORANGE, 4 RED)
and major-hazard level (low nibble: 0 none, 1-4 = L1-L4); 3 bytes GB/T 2260 region code as an
integer (0 = none); 1 byte name length (bit 7: the name was shortened to fit); the name in GB 18030
(2 bytes a Chinese character, 1 an ASCII one). Only public fields go into it.

The token id, used to revoke one code, is not stored in the token: it is the first 10 bytes of the
SHA-256 of the whole token, in base32 (16 characters). Ed25519 is deterministic, so the id is fixed
by the token's content.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import struct
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from riskgraph.ontology.errors import N_, RiskGraphError

VERSION = 1
EPOCH = 1_577_836_800  # 2020-01-01T00:00:00Z
MAX_CLOCK = 0xFFFF_FFFF
FLAG_SUMMARY = 0x01

#: entity type codes on the wire; never renumber
TYPES: dict[int, str] = {1: "Enterprise", 2: "RiskPoint", 3: "NaturalDisasterRiskPoint", 4: "RescueTeam",
                         5: "Supply", 6: "Shelter"}
TYPE_CODES: dict[str, int] = {label: code for code, label in TYPES.items()}
#: the four safety-risk colours (GB four-colour grading), least to most severe; 0 = none
COLOURS = ("", "BLUE", "YELLOW", "ORANGE", "RED")
#: GB 18218 major-hazard levels; 0 = none
LEVELS = ("", "L1", "L2", "L3", "L4")

ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.:"
_ID_INDEX = {c: i for i, c in enumerate(ID_ALPHABET)}
MAX_ID_LENGTH = 127

HEADER = struct.Struct(">BBBII4s")  # version|flags, type, kid, issued, expires, fingerprint
SIGNATURE_LENGTH = 64
NONCE_LENGTH = 12
TAG_LENGTH = 16
SUMMARY_FIXED = 5   # colour|level, region (3), name length
MAX_NAME_BYTES = 127
MIN_TOKEN_BYTES = HEADER.size + 1 + 1 + SIGNATURE_LENGTH
MAX_TOKEN_CHARS = 700
_BASE32 = re.compile(r"^[A-Z2-7]+$")


class TokenError(RiskGraphError, ValueError):
    """A token that cannot be accepted; `code` says why (the API's error code)."""

    def __init__(self, code: str, message: str, **values: Any) -> None:
        super().__init__(message, **values)
        self.code = code
        self.message = self.text


class TokenFieldError(RiskGraphError, ValueError):
    """A value a code cannot carry (a time outside its clock, an id too long); nothing is issued."""


@dataclass(frozen=True)
class Summary:
    """The tiny dossier a code may carry, encrypted: public fields only."""

    name: str
    colour: str | None = None   # RiskColour notation
    level: str | None = None    # MajorHazardLevel notation
    region: str | None = None   # six-digit GB/T 2260 code
    truncated: bool = False


@dataclass(frozen=True)
class Claims:
    """What a token says. Times are Unix seconds."""

    label: str
    key: str
    issued_at: int
    expires_at: int
    kid: int
    fingerprint: bytes
    version: int = VERSION
    summary_kid: int | None = None

    @property
    def has_summary(self) -> bool:
        return self.summary_kid is not None


@dataclass(frozen=True)
class Parsed:
    """A token taken apart, not yet trusted: check it with :meth:`verify`."""

    claims: Claims
    raw: bytes
    signed: bytes          # the bytes the signature covers
    signature: bytes
    aad: bytes             # the bytes the summary is bound to
    sealed: bytes | None   # nonce + ciphertext + tag

    @property
    def token_id(self) -> str:
        return token_id(self.raw)

    def verify(self, public_key: Ed25519PublicKey) -> Claims:
        try:
            public_key.verify(self.signature, self.signed)
        except InvalidSignature:
            raise TokenError("token_invalid_signature", N_("the code's signature does not verify: it was altered or forged")) from None
        return self.claims

    def open_summary(self, aes_key: bytes) -> Summary:
        """The encrypted summary, for a holder of the AES key (offline readers included)."""
        if self.sealed is None:
            raise TokenError("token_malformed", N_("this code carries no summary"))
        try:
            plain = AESGCM(aes_key).decrypt(self.sealed[:NONCE_LENGTH], self.sealed[NONCE_LENGTH:], self.aad)
        except InvalidTag:
            raise TokenError("token_invalid_signature", N_("the summary does not decrypt with this key")) from None
        return unpack_summary(plain)


# ---------------------------------------------------------------------- clock
def to_clock(unix: float) -> int:
    value = int(unix) - EPOCH
    if not 0 <= value <= MAX_CLOCK:
        raise TokenFieldError(N_("time {unix} is outside what a code can carry (2020 to 2156)"), unix=unix)
    return value


def from_clock(value: int) -> int:
    return EPOCH + value


# ---------------------------------------------------------------------- ids
def packable(key: str) -> bool:
    return 0 < len(key) <= MAX_ID_LENGTH and all(c in _ID_INDEX for c in key)


def packed_size(length: int) -> int:
    """Bytes a packed id of `length` characters takes."""
    return ((40 ** length - 1).bit_length() + 7) // 8


def pack_id(key: str) -> bytes:
    if packable(key):
        value = 0
        for ch in reversed(key):
            value = value * 40 + _ID_INDEX[ch]
        return bytes([0x80 | len(key)]) + value.to_bytes(packed_size(len(key)), "big")
    data = key.encode("utf-8")
    if not data or len(data) > MAX_ID_LENGTH:
        raise TokenFieldError(N_("an id for a code is 1 to {most} bytes, not {size}"), most=MAX_ID_LENGTH, size=len(data))
    return bytes([len(data)]) + data


def unpack_id(buf: bytes, offset: int) -> tuple[str, int]:
    if offset >= len(buf):
        raise TokenError("token_malformed", N_("the code ends before its id"))
    head = buf[offset]
    length = head & 0x7F
    if length == 0:
        raise TokenError("token_malformed", N_("the code's id is empty"))
    if head & 0x80:
        size = packed_size(length)
        chunk = buf[offset + 1: offset + 1 + size]
        if len(chunk) != size:
            raise TokenError("token_malformed", N_("the code ends inside its id"))
        value = int.from_bytes(chunk, "big")
        if value >= 40 ** length:
            raise TokenError("token_malformed", N_("the code's id is not a valid packed id"))
        chars = []
        for _ in range(length):
            value, digit = divmod(value, 40)
            chars.append(ID_ALPHABET[digit])
        return "".join(chars), offset + 1 + size
    chunk = buf[offset + 1: offset + 1 + length]
    if len(chunk) != length:
        raise TokenError("token_malformed", N_("the code ends inside its id"))
    try:
        return chunk.decode("utf-8"), offset + 1 + length
    except UnicodeDecodeError:
        raise TokenError("token_malformed", N_("the code's id is not UTF-8")) from None


# ---------------------------------------------------------------------- summary
def pack_summary(summary: Summary) -> bytes:
    colour = COLOURS.index(summary.colour) if summary.colour in COLOURS[1:] else 0
    level = LEVELS.index(summary.level) if summary.level in LEVELS[1:] else 0
    region = int(summary.region) if summary.region and summary.region.isdigit() and len(summary.region) == 6 else 0
    name = summary.name.encode("gb18030")
    if len(name) > MAX_NAME_BYTES:
        raise TokenFieldError(N_("a summary's name is at most {most} bytes in GB 18030"), most=MAX_NAME_BYTES)
    return bytes([colour << 4 | level]) + region.to_bytes(3, "big") + bytes([len(name) | (0x80 if summary.truncated else 0)]) + name


def unpack_summary(plain: bytes) -> Summary:
    if len(plain) < SUMMARY_FIXED:
        raise TokenError("token_malformed", N_("the summary is too short"))
    colour, level = plain[0] >> 4, plain[0] & 0x0F
    region = int.from_bytes(plain[1:4], "big")
    length, truncated = plain[4] & 0x7F, bool(plain[4] & 0x80)
    name = plain[5:]
    if len(name) != length or colour >= len(COLOURS) or level >= len(LEVELS):
        raise TokenError("token_malformed", N_("the summary is not well formed"))
    return Summary(name=name.decode("gb18030", errors="replace"), colour=COLOURS[colour] or None,
                   level=LEVELS[level] or None, region=f"{region:06d}" if region else None, truncated=truncated)


def shorten_name(summary: Summary, max_bytes: int) -> Summary:
    """The summary with its name cut (at a character) to at most `max_bytes` of GB 18030."""
    name = summary.name
    if len(name.encode("gb18030")) <= max_bytes:
        return summary
    while name and len(name.encode("gb18030")) > max_bytes:
        name = name[:-1]
    return Summary(name=name, colour=summary.colour, level=summary.level, region=summary.region, truncated=True)


def sealed_size(summary: Summary) -> int:
    """Bytes an encrypted summary adds to a token."""
    return 1 + NONCE_LENGTH + len(pack_summary(summary)) + TAG_LENGTH


# ---------------------------------------------------------------------- text form
def b32encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def b32decode(text: str) -> bytes:
    body = text.strip().upper()
    if not body or len(body) > MAX_TOKEN_CHARS or not _BASE32.match(body) or len(body) % 8 in (1, 3, 6):
        raise TokenError("token_malformed", N_("the code is not a RiskGraph code (bad characters or length)"))
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except (ValueError, binascii.Error):
        raise TokenError("token_malformed", N_("the code is not valid base32")) from None
    # the last character may carry unused bits: only the canonical spelling (those bits zero,
    # RFC 4648 §3.5) is accepted, so a code has exactly one valid string (letter case aside)
    if b32encode(raw) != body:
        raise TokenError("token_malformed", N_("the code is not in its canonical form"))
    return raw


def token_id(raw: bytes) -> str:
    return b32encode(hashlib.sha256(raw).digest()[:10])


# ---------------------------------------------------------------------- make and read
def encode(claims: Claims, signing_key: Ed25519PrivateKey, *, summary: Summary | None = None,
           aes_key: bytes | None = None) -> tuple[str, bytes]:
    """The token text and its bytes. With a summary, `aes_key` and `claims.summary_kid` are needed."""
    if claims.label not in TYPE_CODES:
        raise TokenFieldError(N_("{label} has no QR codes; one of {labels}"), label=claims.label, labels=sorted(TYPE_CODES))
    if not 0 <= claims.kid <= 255:
        raise ValueError("a signing key id is 0 to 255")
    if len(claims.fingerprint) != 4:
        raise ValueError("the fingerprint is 4 bytes")
    if claims.expires_at <= claims.issued_at:
        raise ValueError("a code must expire after it is issued")
    with_summary = summary is not None
    if with_summary and (aes_key is None or claims.summary_kid is None or not 0 <= claims.summary_kid <= 255):
        raise ValueError("an encrypted summary needs an AES key and its id (0 to 255)")
    head = HEADER.pack(VERSION << 4 | (FLAG_SUMMARY if with_summary else 0), TYPE_CODES[claims.label], claims.kid,
                       to_clock(claims.issued_at), to_clock(claims.expires_at), claims.fingerprint)
    body = head + pack_id(claims.key)
    if with_summary:
        nonce = os.urandom(NONCE_LENGTH)
        sealed = AESGCM(aes_key).encrypt(nonce, pack_summary(summary), body)  # type: ignore[arg-type]
        body += bytes([claims.summary_kid]) + nonce + sealed  # type: ignore[list-item]
    raw = body + signing_key.sign(body)
    return b32encode(raw), raw


def parse(token: str) -> Parsed:
    """Take a token apart; `TokenError('token_malformed')` if it is not one. Nothing is trusted yet."""
    raw = b32decode(token)
    if len(raw) < MIN_TOKEN_BYTES:
        raise TokenError("token_malformed", N_("the code is too short"))
    version_flags, type_code, kid, issued, expires, fingerprint = HEADER.unpack_from(raw, 0)
    version, flags = version_flags >> 4, version_flags & 0x0F
    if version != VERSION:
        raise TokenError("token_malformed", N_("code version {version} is not supported (this service reads {VERSION})"),
                                            version=version, VERSION=VERSION)
    if flags & ~FLAG_SUMMARY:
        raise TokenError("token_malformed", N_("the code has unknown flags"))
    label = TYPES.get(type_code)
    if label is None:
        raise TokenError("token_malformed", N_("unknown entity type {type_code}"), type_code=type_code)
    key, offset = unpack_id(raw, HEADER.size)
    signed_end = len(raw) - SIGNATURE_LENGTH
    if offset > signed_end:
        raise TokenError("token_malformed", N_("the code ends before its signature"))
    aad = raw[:offset]
    sealed = None
    summary_kid = None
    if flags & FLAG_SUMMARY:
        if signed_end - offset < 1 + NONCE_LENGTH + SUMMARY_FIXED + TAG_LENGTH:
            raise TokenError("token_malformed", N_("the code's summary is too short"))
        summary_kid = raw[offset]
        sealed = raw[offset + 1: signed_end]
    elif offset != signed_end:
        raise TokenError("token_malformed", N_("the code has trailing bytes"))
    claims = Claims(label=label, key=key, issued_at=from_clock(issued), expires_at=from_clock(expires), kid=kid,
                    fingerprint=fingerprint, version=version, summary_kid=summary_kid)
    return Parsed(claims=claims, raw=raw, signed=raw[:signed_end], signature=raw[signed_end:], aad=aad, sealed=sealed)


def token_size(key: str, summary: Summary | None = None) -> int:
    """Bytes of a token for this id (and summary)."""
    return HEADER.size + len(pack_id(key)) + (sealed_size(summary) if summary else 0) + SIGNATURE_LENGTH


def now() -> int:
    return int(time.time())
