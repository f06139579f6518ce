"""The QR code commands of `riskgraph`: `add_qr_commands(subparsers)` registers them.

    riskgraph qr ID [--label L] [--out FILE] [--format png|svg] [--summary] [--new] [--days N] [--base-url URL]
    riskgraph qr-batch --region CODE --out FILE.zip|FILE.pdf [--summary] [--label L …] [--base-url URL]
    riskgraph qr-revoke (TOKEN_ID | TOKEN | URL | --entity LABEL/KEY) [--reason TEXT]
    riskgraph qr-rotate-key [--encryption] [--retire KID] [--list]
    riskgraph qr-reissue [--out FILE.zip] [--base-url URL]
    riskgraph qr-decode TOKEN_OR_URL

Each takes `--data-dir` (where `qr-keyring.json` and `qr.sqlite3` live, default $RISKGRAPH_DATA_DIR)
and uses the parser's global `--graph`. Errors are CliError (a translated template): `main()` prints them.
The codes point at `--base-url`, else $RISKGRAPH_QR_BASE_URL, else http://127.0.0.1:8000.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskgraph import graph
from riskgraph.api.qr.entities import QR_LABELS
from riskgraph.api.qr.keyring import KEYRING_FILE, Keyring
from riskgraph.api.qr.service import QrService, iso, safe_name
from riskgraph.api.qr.token import parse
from riskgraph.api.schema import Schema
from riskgraph.api.settings import Settings
from riskgraph.cli.errors import BadValue, NotFound
from riskgraph.cli.i18n import render
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import load_ontology


def _data_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else None


@contextmanager
def open_service(args: argparse.Namespace) -> Iterator[QrService]:
    settings = Settings.from_env(getattr(args, "graph", None), _data_dir(args))
    store = graph.connect(settings.store_url)
    try:
        yield QrService(settings.data_dir, store, Schema(load_ontology()))
    finally:
        store.close()


def _keyring(args: argparse.Namespace) -> Keyring:
    settings = Settings.from_env(getattr(args, "graph", None), _data_dir(args))
    return Keyring(settings.data_dir / KEYRING_FILE)


def _say(data: dict) -> None:
    print(json.dumps(data, ensure_ascii=False))


def _label_of(qr: QrService, key: str, label: str | None) -> str:
    if label:
        if label not in QR_LABELS:
            raise BadValue(N_("{label} has no codes; one of {QR_LABELS}"),
                             label=label, QR_LABELS=', '.join(QR_LABELS))
        return label
    found = [lb for lb in QR_LABELS if qr.entities.get(lb, key) is not None]
    if not found:
        raise NotFound(N_("no {QR_LABELS} with key {key!r}"), QR_LABELS=' / '.join(QR_LABELS), key=key)
    if len(found) > 1:
        raise BadValue(N_("{key!r} is the key of a {found}: pass --label"),
                         key=key, found=' and a '.join(found))
    return found[0]


def cmd_qr(args: argparse.Namespace) -> int:
    fmt = args.format or (Path(args.out).suffix.lstrip(".").lower() if args.out else "png")
    if fmt not in ("png", "svg"):
        raise BadValue(N_("--format is png or svg, not {fmt!r}"), fmt=fmt)
    with open_service(args) as qr:
        label = _label_of(qr, args.id, args.label)
        issued = qr.code(label, args.id, base_url=args.base_url, summary=args.summary, new=args.new, days=args.days,
                         issued_by="cli")
        out = Path(args.out or f"{safe_name(args.id)}.{fmt}")
        if fmt == "png":
            out.write_bytes(qr.png(issued))
        else:
            out.write_text(qr.svg(issued), encoding="utf-8")
    _say({**issued.describe(), "file": str(out)})
    return 0


def cmd_qr_batch(args: argparse.Namespace) -> int:
    from riskgraph.api.access import region_prefix

    out = Path(args.out)
    kind = out.suffix.lower()
    if kind not in (".zip", ".pdf"):
        raise BadValue(N_("--out must end in .zip (PNG and SVG per entity, index.csv) or .pdf (a printable sheet)"))
    labels = args.label or list(QR_LABELS)
    prefix = region_prefix(args.region)
    with open_service(args) as qr:
        codes = qr.region_codes(prefix, base_url=args.base_url, summary=args.summary, issued_by="cli", labels=labels)
        if not codes:
            raise NotFound(N_("no {labels} in region {region}: nothing to print, no file written"),
                              labels=' / '.join(labels), region=args.region)
        data = qr.batch_zip(codes) if kind == ".zip" else qr.batch_pdf(codes, title=f"RiskGraph 一企一码 {args.region}")
    out.write_bytes(data)
    _say({"region": args.region, "codes": len(codes), "file": str(out), "bytes": len(data)})
    return 0


def _token_from(text: str) -> str:
    """A token from a token, or a code URL."""
    return text.rstrip("/").rsplit("/", 1)[-1]


def cmd_qr_revoke(args: argparse.Namespace) -> int:
    if bool(args.target) == bool(args.entity):
        raise BadValue(N_("name one code (token id, token or URL) or --entity LABEL/KEY"))
    with open_service(args) as qr:
        if args.entity:
            label, _, key = args.entity.partition("/")
            if not key:
                raise BadValue(N_("--entity is LABEL/KEY, e.g. Enterprise/91130100MA0CEFGH1X"))
            result = qr.revoke(label=label, key=key, by="cli", reason=args.reason)
        else:
            text = _token_from(args.target)
            if len(text) == 16:
                result = qr.revoke(token_id_=text, by="cli", reason=args.reason)
            else:
                result = qr.revoke(token=text, by="cli", reason=args.reason)
    _say(result)
    return 0


def cmd_qr_rotate_key(args: argparse.Namespace) -> int:
    ring = _keyring(args)
    if args.retire is not None:
        ring.retire(args.retire, encryption=args.encryption)
        _say({"retired": args.retire, "kind": "aes" if args.encryption else "signing"})
    elif not args.list:
        kid = ring.rotate(encryption=args.encryption)
        _say({"active": kid, "kind": "aes" if args.encryption else "signing"})
    print(json.dumps(ring.describe(), ensure_ascii=False, indent=2))
    return 0


def cmd_qr_reissue(args: argparse.Namespace) -> int:
    with open_service(args) as qr:
        done = qr.reissue_changed(base_url=args.base_url, issued_by="cli")
        for old, new in done:
            _say({"label": old.label, "key": old.key, "previousTokenId": old.token_id, **new.describe()})
        if args.out:
            Path(args.out).write_bytes(qr.batch_zip([new for _, new in done]))
    print(f"{len(done)} codes re-issued", file=sys.stderr)
    return 0


def cmd_qr_decode(args: argparse.Namespace) -> int:
    """What an offline reader does: verify the signature with the keyring, read the summary."""
    token = _token_from(args.code)
    with open_service(args) as qr:
        parsed = parse(token)
        claims = parsed.verify(qr.keyring.verifier(parsed.claims.kid))
        out = {"tokenId": parsed.token_id, "label": claims.label, "key": claims.key, "keyId": claims.kid,
               "issuedAt": iso(claims.issued_at), "expiresAt": iso(claims.expires_at),
               "encryptedSummary": claims.has_summary}
        if claims.has_summary:
            summary = qr.open_summary(token)
            out["summary"] = {"name": summary.name, "colour": summary.colour, "level": summary.level,
                              "region": summary.region, "truncated": summary.truncated}
        try:
            verified = qr.verify(token)
            out.update(valid=True, stale=verified.stale)
        except (ValueError, LookupError) as exc:
            out.update(valid=False, reason=getattr(exc, "code", "not_found"), message=render(exc))
    _say(out)
    return 0


def add_qr_commands(sub: argparse._SubParsersAction) -> None:
    """Register the QR commands on the CLI's subparsers (each sets `func` and returns an exit code)."""
    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", help="where qr-keyring.json and qr.sqlite3 live (default: $RISKGRAPH_DATA_DIR)")
        return p

    def base_url(p: argparse.ArgumentParser) -> None:
        p.add_argument("--base-url", help="what the codes point at (default: $RISKGRAPH_QR_BASE_URL, "
                                          "else http://127.0.0.1:8000)")

    p = add("qr", cmd_qr, "draw an entity's QR placard (its current code, else a new one)")
    p.add_argument("id", help="the entity's key (统一社会信用代码 for an enterprise)")
    p.add_argument("--label", choices=QR_LABELS, help="the entity's kind, when the key alone is ambiguous")
    p.add_argument("--out", help="file to write (default: ID.png or ID.svg)")
    p.add_argument("--format", choices=["png", "svg"], help="default: from --out, else png")
    p.add_argument("--summary", action="store_true", help="carry an encrypted summary (name, colour, level, region)")
    p.add_argument("--new", action="store_true", help="issue a new code even if a current one exists")
    p.add_argument("--days", type=int, help="lifetime of a new code (default: $RISKGRAPH_QR_DAYS, 1095)")
    base_url(p)
    p = add("qr-batch", cmd_qr_batch, "every code of a region: a ZIP of PNG+SVG placards with index.csv, or a PDF sheet")
    p.add_argument("--region", required=True, help="GB/T 2260 code; 130100 covers its counties")
    p.add_argument("--out", required=True, help="FILE.zip or FILE.pdf")
    p.add_argument("--label", action="append", choices=QR_LABELS, help="only these kinds (repeat)")
    p.add_argument("--summary", action="store_true", help="carry an encrypted summary (name, colour, level, region)")
    base_url(p)
    p = add("qr-revoke", cmd_qr_revoke, "revoke one code, or every code so far of an entity")
    p.add_argument("target", nargs="?", help="the code's token id (16 characters), token or URL")
    p.add_argument("--entity", help="LABEL/KEY: revoke every code of the entity issued until now")
    p.add_argument("--reason", help="why the code is revoked (kept with the revocation)")
    p = add("qr-rotate-key", cmd_qr_rotate_key,
            "make a new signing key active (old codes keep verifying until the old key is retired)")
    p.add_argument("--encryption", action="store_true", help="the AES key of the summaries instead")
    p.add_argument("--retire", type=int, metavar="KID", help="retire key KID instead: codes it signed are refused")
    p.add_argument("--list", action="store_true", help="only list the keys (never their secrets)")
    p = add("qr-reissue", cmd_qr_reissue, "re-issue the code of every entity whose printed or summarised fields changed")
    p.add_argument("--out", help="also write the new placards as FILE.zip")
    base_url(p)
    p = add("qr-decode", cmd_qr_decode, "verify a code offline with the keyring and show its claims and summary")
    p.add_argument("code", help="the token or the code's URL")
