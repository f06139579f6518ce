"""The QR keyring: Ed25519 signing keys and AES-256 keys, each with a small id, in one file.

`<data dir>/qr-keyring.json`, mode 600, made on first use. Signing keys have a status:

- `active`: signs new codes (exactly one);
- `verify`: an older key; codes it signed still verify (after `rotate`);
- `retired`: codes it signed are refused (`unknown_key`): what `retire` is for, after the codes
  it signed have been re-issued, or at once when the key may have leaked.

AES keys (for the optional encrypted summary) rotate the same way; a retired AES key is dropped
from the file, so summaries under it can no longer be read by this service.

The file is re-read when it changes (the CLI rotates keys while the service runs). Ids are 1 to
255 and never reused within a keyring.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from riskgraph.api.qr.token import TokenError
from riskgraph.ontology.errors import N_, RiskGraphError

KEYRING_FILE = "qr-keyring.json"
FORMAT = 1
ACTIVE, VERIFY, RETIRED = "active", "verify", "retired"
MAX_KID = 255


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


@dataclass
class KeyEntry:
    kid: int
    secret: bytes          # Ed25519 private key (32 bytes) or AES key (32 bytes); empty once retired
    status: str
    created: str
    retired: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kid": self.kid, "secret": _b64(self.secret) if self.secret else None, "status": self.status,
                "created": self.created, "retired": self.retired}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyEntry:
        return cls(kid=int(data["kid"]), secret=_unb64(data["secret"]) if data.get("secret") else b"",
                   status=str(data["status"]), created=str(data.get("created") or ""), retired=data.get("retired"))


class KeyringError(RiskGraphError, ValueError):
    """A keyring request that cannot be done; the message says why."""


class Keyring:
    """The keyring file. Thread-safe; re-reads the file when it changed on disk."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._stamp: tuple[int, int] | None = None
        self.signing: dict[int, KeyEntry] = {}
        self.encryption: dict[int, KeyEntry] = {}
        self._signers: dict[int, Ed25519PrivateKey] = {}
        self._ensure()

    def __repr__(self) -> str:  # never show a key
        return f"Keyring({str(self.path)!r}, signing={sorted(self.signing)}, encryption={sorted(self.encryption)})"

    # ------------------------------------------------------------------ file
    def _ensure(self) -> None:
        with self._lock:
            if not self.path.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fresh = {"format": FORMAT,
                         "signing": [KeyEntry(1, Ed25519PrivateKey.generate().private_bytes_raw(), ACTIVE, _now()).to_json()],
                         "encryption": [KeyEntry(1, AESGCM.generate_key(bit_length=256), ACTIVE, _now()).to_json()]}
                try:
                    fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
                except FileExistsError:
                    pass  # another process made it first
                else:
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        json.dump(fresh, fh, indent=2)
                        fh.flush()
                        os.fsync(fh.fileno())
            self._reload(force=True)

    def _reload(self, force: bool = False) -> None:
        st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        if not force and stamp == self._stamp:
            return
        if st.st_mode & 0o077:
            os.chmod(self.path, 0o600)
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise KeyringError(N_("{path}: unknown keyring format {value!r}"),
                               path=self.path, value=data.get('format'))
        self.signing = {e.kid: e for e in map(KeyEntry.from_json, data.get("signing", []))}
        self.encryption = {e.kid: e for e in map(KeyEntry.from_json, data.get("encryption", []))}
        self._signers = {kid: Ed25519PrivateKey.from_private_bytes(e.secret)
                         for kid, e in self.signing.items() if e.status != RETIRED and e.secret}
        if sum(1 for e in self.signing.values() if e.status == ACTIVE) != 1:
            raise KeyringError(N_("{path}: exactly one signing key must be active"), path=self.path)
        self._stamp = stamp

    def _save(self) -> None:
        data = {"format": FORMAT, "signing": [e.to_json() for _, e in sorted(self.signing.items())],
                "encryption": [e.to_json() for _, e in sorted(self.encryption.items())]}
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._reload(force=True)

    # ------------------------------------------------------------------ use
    def signer(self) -> tuple[int, Ed25519PrivateKey]:
        """The active signing key and its id."""
        with self._lock:
            self._reload()
            kid = next(k for k, e in self.signing.items() if e.status == ACTIVE)
            return kid, self._signers[kid]

    def verifier(self, kid: int) -> Ed25519PublicKey:
        """The public key that checks codes signed under `kid`; `unknown_key` if none may."""
        with self._lock:
            self._reload()
            entry = self.signing.get(kid)
            if entry is None:
                raise TokenError("unknown_key", N_("the code is signed with key {kid}, which this service does not know"),
                                                kid=kid)
            if entry.status == RETIRED or kid not in self._signers:
                raise TokenError("unknown_key", N_("the code is signed with key {kid}, which has been retired"),
                                                kid=kid)
            return self._signers[kid].public_key()

    def cipher(self, kid: int | None = None) -> tuple[int, bytes] | None:
        """The AES key `kid` (default: the active one) and its id; None if there is none usable."""
        with self._lock:
            self._reload()
            if kid is None:
                kid = next((k for k, e in self.encryption.items() if e.status == ACTIVE), None)
            entry = self.encryption.get(kid) if kid is not None else None
            if entry is None or entry.status == RETIRED or not entry.secret:
                return None
            return entry.kid, entry.secret

    # ------------------------------------------------------------------ administration
    def rotate(self, *, encryption: bool = False) -> int:
        """A new active key (signing, or AES with `encryption`); the previous one keeps verifying/decrypting."""
        with self._lock:
            self._reload()
            ring = self.encryption if encryption else self.signing
            kid = max(ring, default=0) + 1
            if kid > MAX_KID:
                raise KeyringError(N_("key ids are used up ({MAX_KID}); start a new keyring and re-issue every code"),
                                   MAX_KID=MAX_KID)
            for entry in ring.values():
                if entry.status == ACTIVE:
                    entry.status = VERIFY
            secret = AESGCM.generate_key(bit_length=256) if encryption else Ed25519PrivateKey.generate().private_bytes_raw()
            ring[kid] = KeyEntry(kid, secret, ACTIVE, _now())
            self._save()
            return kid

    def retire(self, kid: int, *, encryption: bool = False) -> None:
        """Stop accepting codes signed (or summaries sealed) under `kid`; its secret is erased from the file."""
        with self._lock:
            self._reload()
            ring = self.encryption if encryption else self.signing
            entry = ring.get(kid)
            if entry is None:
                raise KeyringError(N_("no {value} key {kid}"), value='AES' if encryption else 'signing', kid=kid)
            if entry.status == ACTIVE:
                raise KeyringError(N_("key {kid} is the active one: rotate first, then retire it"), kid=kid)
            entry.status, entry.secret, entry.retired = RETIRED, b"", _now()
            self._save()

    def public_keys(self) -> list[dict[str, Any]]:
        """The signing keys' public halves (JWK, OKP/Ed25519), for offline verifiers."""
        with self._lock:
            self._reload()
            out = []
            for kid, entry in sorted(self.signing.items()):
                item: dict[str, Any] = {"kid": kid, "status": entry.status, "created": entry.created}
                if kid in self._signers:
                    raw = self._signers[kid].public_key().public_bytes_raw()
                    item.update(kty="OKP", crv="Ed25519", x=base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="))
                if entry.retired:
                    item["retired"] = entry.retired
                out.append(item)
            return out

    def describe(self) -> dict[str, Any]:
        """Both rings without secrets (for the CLI)."""
        with self._lock:
            self._reload()
            return {"signing": self.public_keys(),
                    "encryption": [{"kid": k, "status": e.status, "created": e.created, "retired": e.retired}
                                   for k, e in sorted(self.encryption.items())]}
