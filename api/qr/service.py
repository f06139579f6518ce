"""Issue, verify, revoke and re-issue codes; draw their placards and batch exports.

One `QrService` per process (the app makes it on first use, the CLI per command). Its files live in
the data directory beside the accounts: `qr-keyring.json` (keys) and `qr.sqlite3` (issued codes,
revocations), both mode 600.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from riskgraph.api.qr.config import QrSettings
from riskgraph.api.qr.entities import QR_LABELS, Entities, Facts, check_qr_label
from riskgraph.api.qr.keyring import KEYRING_FILE, Keyring, KeyringError
from riskgraph.api.qr.ratelimit import TokenBucket
from riskgraph.api.qr.registry import REGISTRY_FILE, CodeRecord, Registry
from riskgraph.api.qr.render import (
    Placard,
    QrTooLarge,
    code_url,
    find_font,
    make_qr,
    placard_png,
    placard_svg,
    png_bytes,
    sheet_pdf,
    split_url,
    symbol_version,
    token_capacity,
)
from riskgraph.api.qr.token import (
    MAX_NAME_BYTES,
    Claims,
    Parsed,
    Summary,
    TokenError,
    encode,
    parse,
    shorten_name,
    token_id,
    token_size,
)
from riskgraph.api.schema import Schema
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import class_term

DAY = 86_400
DEFAULT_BASE = "http://127.0.0.1:8000"
#: a code this close to its expiry is not handed out again: a new one is issued
REUSE_MARGIN_DAYS = 30
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


@dataclass(frozen=True)
class Issued:
    token: str
    token_id: str
    url: str
    claims: Claims
    facts: Facts
    qr_version: int
    summary: Summary | None = None
    reused: bool = False

    def describe(self) -> dict:
        c = self.claims
        return {"tokenId": self.token_id, "token": self.token, "url": self.url, "label": c.label, "key": c.key,
                "keyId": c.kid, "issuedAt": iso(c.issued_at), "expiresAt": iso(c.expires_at),
                "encryptedSummary": c.has_summary, "qrVersion": f"{self.qr_version}-M", "reused": self.reused}


@dataclass(frozen=True)
class Verified:
    claims: Claims
    token_id: str
    facts: Facts
    stale: bool
    parsed: Parsed


def iso(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, LOCAL_TZ).isoformat(timespec="seconds")


def safe_name(key: str) -> str:
    return _UNSAFE.sub("_", key) or "_"


class QrEntityMissing(RiskGraphError, LookupError):
    """The entity a code is for is not (or no longer) in the graph."""


class QrRequestError(RiskGraphError, ValueError):
    """A request to issue or revoke codes that names too little or asks for the impossible."""


class QrService:
    def __init__(self, data_dir: Path, store: GraphStore, schema: Schema, settings: QrSettings | None = None) -> None:
        self.settings = settings or QrSettings.from_env()
        self.data_dir = Path(data_dir)
        self.keyring = Keyring(self.data_dir / KEYRING_FILE)
        self.registry = Registry(self.data_dir / REGISTRY_FILE)
        self.entities = Entities(store, schema)
        self.scan_limiter = TokenBucket(self.settings.scan_burst, self.settings.scan_per_minute / 60.0)
        self.report_limiter = TokenBucket(self.settings.report_burst, self.settings.report_per_hour / 3600.0)
        self.font_path = find_font(self.settings.font)

    def base(self, fallback: str | None = None) -> str:
        return self.settings.base_url or fallback or DEFAULT_BASE

    def url(self, token: str, base_url: str | None = None) -> str:
        return code_url(self.base(base_url), token, uppercase=self.settings.uppercase)

    # ------------------------------------------------------------------ issue
    def issue(self, label: str, key: str, *, base_url: str | None = None, summary: bool = False,
              days: int | None = None, now: int | None = None, issued_by: str | None = None,
              note: str | None = None, facts: Facts | None = None) -> Issued:
        """A new code for the entity (LookupError if it does not exist; QrTooLarge if it cannot fit).

        `now` backdates the code (tools and tests); otherwise issue times per entity only grow, so a
        code issued right after the entity was revoked is not caught by that revocation.
        """
        facts = facts or self.entities.get(label, key)
        if facts is None:
            raise QrEntityMissing(N_("no {label} {key}"), label=class_term(label), key=key)
        days = self.settings.days if days is None else days
        if days < 1:
            raise QrRequestError(N_("a code lives at least one day"))
        if now is None:
            issued_at = int(time.time())
            last = self.registry.latest_issue(label, facts.key)
            if last is not None and last >= issued_at:
                issued_at = last + 1
        else:
            issued_at = int(now)
        kid, signer = self.keyring.signer()
        base = self.base(base_url)
        content: Summary | None = None
        aes: tuple[int, bytes] | None = None
        if summary:
            aes = self.keyring.cipher()
            if aes is None:
                raise KeyringError(N_("the keyring has no active AES key"))
            content = self._fit_summary(base, facts)
        claims = Claims(label=label, key=facts.key, issued_at=issued_at, expires_at=issued_at + days * DAY, kid=kid,
                        fingerprint=self.entities.fingerprint(facts, summary), summary_kid=aes[0] if aes else None)
        token, raw = encode(claims, signer, summary=content, aes_key=aes[1] if aes else None)
        url = code_url(base, token, uppercase=self.settings.uppercase)
        qr = make_qr(url, max_version=self.settings.max_version)
        tid = token_id(raw)
        self.registry.add(CodeRecord(token_id=tid, label=label, key=facts.key, kid=kid, issued_at=issued_at,
                                     expires_at=claims.expires_at, fingerprint=claims.fingerprint.hex(),
                                     summary=summary, token=token, issued_by=issued_by, note=note))
        return Issued(token=token, token_id=tid, url=url, claims=claims, facts=facts, qr_version=symbol_version(qr),
                      summary=content)

    def _fit_summary(self, base: str, facts: Facts) -> Summary:
        """The entity's summary, its name shortened until the code fits the version limit."""
        prefix, _ = split_url(code_url(base, "X", uppercase=self.settings.uppercase))
        room = token_capacity(prefix, self.settings.max_version) * 5 // 8
        full = self.entities.summary(facts)
        spare = room - token_size(facts.key, Summary(name="", colour=full.colour, level=full.level, region=full.region))
        if spare < 0:
            raise QrTooLarge(N_("no room for a summary in a version-{max_version}-M code with this id and base URL"),
                             max_version=self.settings.max_version)
        return shorten_name(full, min(spare, MAX_NAME_BYTES))

    def current(self, label: str, key: str, *, summary: bool, base_url: str | None = None, now: int | None = None,
                facts: Facts | None = None) -> Issued | None:
        """The entity's newest code that is still good to print: signed by the active key, unrevoked, not stale,
        not near its expiry, with (or without) a summary as asked."""
        now = int(time.time()) if now is None else now
        facts = facts or self.entities.get(label, key)
        if facts is None:
            return None
        kid, _ = self.keyring.signer()
        fingerprint = self.entities.fingerprint(facts, summary).hex()
        for rec in self.registry.for_entity(label, facts.key):
            if (rec.kid != kid or rec.summary != summary or rec.fingerprint != fingerprint
                    or rec.expires_at - now < REUSE_MARGIN_DAYS * DAY
                    or self.registry.revocation(rec.token_id, rec.label, rec.key, rec.issued_at)):
                continue
            if summary and self.keyring.cipher() is None:
                continue
            parsed = parse(rec.token)
            if summary and self.keyring.cipher(parsed.claims.summary_kid) != self.keyring.cipher():
                continue  # sealed under an AES key that is no longer the active one
            url = code_url(self.base(base_url), rec.token, uppercase=self.settings.uppercase)
            try:
                qr = make_qr(url, max_version=self.settings.max_version)
            except QrTooLarge:
                continue  # the base URL grew since
            return Issued(token=rec.token, token_id=rec.token_id, url=url, claims=parsed.claims, facts=facts,
                          qr_version=symbol_version(qr), reused=True)
        return None

    def code(self, label: str, key: str, *, base_url: str | None = None, summary: bool = False, new: bool = False,
             days: int | None = None, issued_by: str | None = None, facts: Facts | None = None) -> Issued:
        """The current code, else a new one."""
        if not new:
            found = self.current(label, key, summary=summary, base_url=base_url, facts=facts)
            if found is not None:
                return found
        return self.issue(label, key, base_url=base_url, summary=summary, days=days, issued_by=issued_by, facts=facts)

    # ------------------------------------------------------------------ verify
    def verify(self, token: str, *, now: int | None = None) -> Verified:
        """Signature, expiry, revocation; then the entity's facts and whether the code is stale.

        Raises TokenError (with the API's reason code) or LookupError (the entity is gone)."""
        parsed = parse(token)
        claims = parsed.verify(self.keyring.verifier(parsed.claims.kid))
        now = int(time.time()) if now is None else now
        if now >= claims.expires_at:
            raise TokenError("token_expired", N_("the code expired at {expires_at}"),
                                              expires_at=iso(claims.expires_at))
        reason = self.registry.revocation(parsed.token_id, claims.label, claims.key, claims.issued_at)
        if reason is not None:
            raise TokenError("token_revoked", N_("the code was revoked: {reason}"), reason=reason)
        facts = self.entities.get(claims.label, claims.key)
        if facts is None:
            raise QrEntityMissing(N_("{label} {key} is no longer in the graph"), label=class_term(claims.label),
                                  key=claims.key)
        stale = self.entities.fingerprint(facts, claims.has_summary) != claims.fingerprint
        return Verified(claims=claims, token_id=parsed.token_id, facts=facts, stale=stale, parsed=parsed)

    def open_summary(self, token: str) -> Summary:
        """Verify a code and read its encrypted summary (what an offline reader holding the keys does)."""
        parsed = parse(token)
        parsed.verify(self.keyring.verifier(parsed.claims.kid))
        if parsed.claims.summary_kid is None:
            raise TokenError("token_malformed", N_("this code carries no summary"))
        cipher = self.keyring.cipher(parsed.claims.summary_kid)
        if cipher is None:
            raise TokenError("unknown_key", N_("AES key {summary_kid} is not in the keyring"),
                                            summary_kid=parsed.claims.summary_kid)
        return parsed.open_summary(cipher[1])

    # ------------------------------------------------------------------ revoke, re-issue
    def revoke(self, *, token: str | None = None, token_id_: str | None = None, label: str | None = None,
               key: str | None = None, by: str | None = None, reason: str | None = None) -> dict:
        """Revoke one code (by its token or token id) or every code so far of one entity."""
        if token:
            token_id_ = parse(token).token_id
        if token_id_:
            added = self.registry.revoke_token(token_id_.strip().upper(), by=by, reason=reason)
            return {"tokenId": token_id_.strip().upper(), "revoked": True, "already": not added}
        if label and key:
            check_qr_label(label)
            moment = self.registry.revoke_entity(label, key, by=by, reason=reason)
            return {"label": label, "key": key, "revoked": True, "issuedUpTo": iso(moment)}
        raise QrRequestError(N_("name a token, a token id, or an entity (label and key) to revoke"))

    def outdated(self, *, now: int | None = None) -> list[tuple[CodeRecord, Facts]]:
        """Live codes whose carried facts (the printed name; a summary's fields) no longer hold."""
        by_label: dict[str, list[CodeRecord]] = defaultdict(list)
        for rec in self.registry.live(now):
            by_label[rec.label].append(rec)
        out = []
        for label, records in sorted(by_label.items()):
            facts = self.entities.facts(label, [r.key for r in records])
            for rec in records:
                f = facts.get(rec.key)
                if f is not None and self.entities.fingerprint(f, rec.summary).hex() != rec.fingerprint:
                    out.append((rec, f))
        return out

    def reissue_changed(self, *, base_url: str | None = None, issued_by: str | None = None,
                        now: int | None = None) -> list[tuple[CodeRecord, Issued]]:
        """A new code for every entity whose newest live code is stale (what it carries changed)."""
        return [(rec, self.issue(rec.label, rec.key, base_url=base_url, summary=rec.summary, issued_by=issued_by,
                                 note=f"re-issue of {rec.token_id}", facts=f))
                for rec, f in self.outdated(now=now)]

    # ------------------------------------------------------------------ images
    def placard(self, issued: Issued) -> Placard:
        """What is printed: the name, the kind and key, the code number and expiry — never the colour,
        which changes with every assessment (the scan shows it live)."""
        f = issued.facts
        subtitle = f"{class_term(f.label).in_language('zh')} {f.key}"  # the placard prints Chinese
        expires = dt.datetime.fromtimestamp(issued.claims.expires_at, LOCAL_TZ).date().isoformat()
        return Placard(url=issued.url, title=f.name, subtitle=subtitle, footer=f"码号 {issued.token_id} · 有效期至 {expires}")

    def png(self, issued: Issued) -> bytes:
        return png_bytes(placard_png(self.placard(issued), make_qr(issued.url), font_path=self.font_path))

    def svg(self, issued: Issued) -> str:
        return placard_svg(self.placard(issued), make_qr(issued.url), font_path=self.font_path)

    # ------------------------------------------------------------------ batches
    def region_codes(self, prefix: str, *, base_url: str | None = None, summary: bool = False,
                     issued_by: str | None = None, labels: Iterable[str] = QR_LABELS) -> list[Issued]:
        """The current (else new) code of every entity in the region."""
        refs = self.entities.in_region(prefix, labels)
        if len(refs) > self.settings.batch_limit:
            raise QrTooLarge(N_("{refs} entities in region {prefix}: more than the batch limit {batch_limit} "
                                "(RISKGRAPH_QR_BATCH_LIMIT); export a smaller region"),
                             refs=len(refs), prefix=prefix, batch_limit=self.settings.batch_limit)
        by_label: dict[str, list[str]] = defaultdict(list)
        for label, key in refs:
            by_label[label].append(key)
        out = []
        for label, keys in by_label.items():
            facts = self.entities.facts(label, keys)
            for key in keys:
                if key in facts:
                    out.append(self.code(label, key, base_url=base_url, summary=summary, issued_by=issued_by,
                                         facts=facts[key]))
        return out

    def batch_zip(self, codes: list[Issued]) -> bytes:
        """PNG and SVG placards per entity (`Label/key.png|svg`) and `index.csv` (UTF-8 with BOM, for Excel)."""
        buf = io.BytesIO()
        index = io.StringIO()
        writer = csv.writer(index)
        writer.writerow(["label", "key", "name", "regionCode", "tokenId", "url", "issuedAt", "expiresAt", "qrVersion",
                         "encryptedSummary", "png", "svg"])
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for issued in codes:
                f = issued.facts
                stem = f"{f.label}/{safe_name(f.key)}"
                qr = make_qr(issued.url)
                placard = self.placard(issued)
                zf.writestr(stem + ".png", png_bytes(placard_png(placard, qr, font_path=self.font_path)))
                zf.writestr(stem + ".svg", placard_svg(placard, qr, font_path=self.font_path))
                writer.writerow([f.label, f.key, f.name, f.region or "", issued.token_id, issued.url,
                                 iso(issued.claims.issued_at), iso(issued.claims.expires_at), f"{symbol_version(qr)}-M",
                                 int(issued.claims.has_summary), stem + ".png", stem + ".svg"])
            zf.writestr("index.csv", "\ufeff" + index.getvalue())
        return buf.getvalue()

    def batch_pdf(self, codes: list[Issued], *, title: str = "") -> bytes:
        images = [placard_png(self.placard(i), make_qr(i.url), font_path=self.font_path) for i in codes]
        return sheet_pdf(images, title=title)
