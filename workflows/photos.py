"""Photos taken as evidence (a hidden danger, its rectification, a check, an inspection): checked,
kept outside the graph under their content hash, and linked from the node by that hash (rg:photos).

An upload must be an image Pillow reads (JPEG, PNG or WebP by default; the format is read from the
bytes, never from what the client says), no larger than `RISKGRAPH_PHOTO_MAX_BYTES` (default 8 MiB)
and `RISKGRAPH_PHOTO_MAX_PIXELS`. Two files are kept: the original (bureau readers see where it was
taken) and a copy without location — the EXIF GPS block removed, XMP dropped — for every other
viewer. Metadata (hash, type, size, who uploaded, the nodes that link the photo) is in
`<data dir>/photos.sqlite3`, mode 600; the images under `<data dir>/photos/`, mode 600.

A photo is sent either as the hash an upload returned (`POST /photos`) or inline as a
`data:image/…;base64,…` URL (what a phone page queues while offline); both end up as the hash.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from riskgraph.api.sqlite import connection, initialise
from riskgraph.graph.env import env_int
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.errors import N_, RiskGraphError

DB_FILE = "photos.sqlite3"
DIR = "photos"
ENV_MAX_BYTES = "RISKGRAPH_PHOTO_MAX_BYTES"
ENV_MAX_PIXELS = "RISKGRAPH_PHOTO_MAX_PIXELS"
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000
#: most photos one write may carry
MAX_PER_WRITE = 9
#: Pillow format → (media type, file suffix); MPO is the multi-picture JPEG many phones write
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
           "WEBP": ("image/webp", "webp")}
GPS_IFD = 0x8825
_HASH = re.compile(r"^[0-9a-f]{64}$")
_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.S | re.I)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS photos (
    id TEXT PRIMARY KEY,            -- SHA-256 of the original bytes
    media_type TEXT NOT NULL,
    suffix TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    had_location INTEGER NOT NULL,  -- the original carried a GPS position
    uploaded_by TEXT,
    uploaded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attachments (
    photo TEXT NOT NULL REFERENCES photos(id),
    label TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (photo, label, key)
);
"""


class PhotoError(RiskGraphError, ValueError):
    """A photo refused: `code` is too_large, unsupported_type, unreadable or not_found."""

    def __init__(self, code: str, message: str, **values: Any) -> None:
        super().__init__(message, **values)
        self.code = code
        self.message = self.text


@dataclass(frozen=True)
class PhotoSettings:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    formats: tuple[str, ...] = tuple(FORMATS)

    @classmethod
    def from_env(cls) -> PhotoSettings:
        return cls(max_bytes=env_int(ENV_MAX_BYTES, DEFAULT_MAX_BYTES), max_pixels=env_int(ENV_MAX_PIXELS, DEFAULT_MAX_PIXELS))


@dataclass(frozen=True)
class Photo:
    id: str
    media_type: str
    suffix: str
    bytes: int
    width: int
    height: int
    had_location: bool
    uploaded_by: str | None
    uploaded_at: str

    def describe(self) -> dict:
        return {"id": self.id, "mediaType": self.media_type, "bytes": self.bytes, "width": self.width,
                "height": self.height, "locationRemovedForPublic": self.had_location}


def is_photo_id(text: str) -> bool:
    return bool(_HASH.match(text))


class PhotoStore:
    """Photos of one data directory; cheap to make (the tables are created once per directory)."""

    def __init__(self, data_dir: Path, settings: PhotoSettings | None = None) -> None:
        self.root = Path(data_dir) / DIR
        self.db = Path(data_dir) / DB_FILE
        self.settings = settings or PhotoSettings.from_env()
        initialise(self.db, _SCHEMA)

    # ------------------------------------------------------------------ in
    def put(self, data: bytes, *, uploaded_by: str | None) -> Photo:
        """Check and keep an image (the same bytes twice: the same photo, kept once)."""
        limit = self.settings.max_bytes
        if len(data) > limit:
            raise PhotoError("too_large", N_("the photo is {data:,} bytes; at most {limit:,} are accepted"),
                                          data=len(data), limit=limit)
        if not data:
            raise PhotoError("unreadable", N_("the photo is empty"))
        digest = hashlib.sha256(data).hexdigest()
        known = self.get(digest)
        if known is not None:
            return known
        image = self._open(data)
        fmt = image.format or ""
        media_type, suffix = FORMATS[fmt]
        public, had_location = without_location(image)
        folder = self.root / digest[:2]
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(folder / f"{digest}.{suffix}", data)
        _write_private(folder / f"{digest}.public.{suffix}", public)
        photo = Photo(id=digest, media_type=media_type, suffix=suffix, bytes=len(data), width=image.width,
                      height=image.height, had_location=had_location, uploaded_by=uploaded_by,
                      uploaded_at=dt.datetime.now(LOCAL_TZ).isoformat(timespec="seconds"))
        with connection(self.db) as conn:
            conn.execute("INSERT OR IGNORE INTO photos VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (photo.id, photo.media_type, photo.suffix, photo.bytes, photo.width, photo.height,
                          int(photo.had_location), photo.uploaded_by, photo.uploaded_at))
        return photo

    def _open(self, data: bytes) -> Image.Image:
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                probe.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            raise PhotoError("unreadable", N_("not an image this service can read (JPEG, PNG or WebP)")) from None
        if fmt not in self.settings.formats or fmt not in FORMATS:
            raise PhotoError("unsupported_type", N_("{fmt} images are not accepted; send JPEG, PNG or WebP"),
                                                 fmt=fmt or 'this')
        if width * height > self.settings.max_pixels:
            raise PhotoError("too_large", N_("the photo has {width:,} pixels; at most {max_pixels:,}"),
                                          width=width * height, max_pixels=self.settings.max_pixels)
        image = Image.open(io.BytesIO(data))  # verify() leaves the probe unusable: read it again
        image.load()
        return image

    def resolve(self, values: Sequence[str], *, uploaded_by: str | None) -> list[str]:
        """The hashes of the photos a write names: known hashes as they are, data URLs stored first."""
        if len(values) > MAX_PER_WRITE:
            raise PhotoError("too_many", N_("at most {MAX_PER_WRITE} photos at once"),
                                         MAX_PER_WRITE=MAX_PER_WRITE)
        out: list[str] = []
        for value in values:
            text = str(value).strip()
            if is_photo_id(text.lower()):
                if self.get(text.lower()) is None:
                    raise PhotoError("not_found", N_("no photo {text}…: upload it first (POST /photos)"),
                                                  text=text[:12])
                out.append(text.lower())
                continue
            match = _DATA_URL.match(text)
            if match is None:
                raise PhotoError("unreadable", N_("a photo is the id an upload returned or a data:image/…;base64 URL"))
            try:
                data = base64.b64decode(match.group(2), validate=False)
            except (binascii.Error, ValueError):
                raise PhotoError("unreadable", N_("the photo's base64 text does not decode")) from None
            out.append(self.put(data, uploaded_by=uploaded_by).id)
        return list(dict.fromkeys(out))

    def attach(self, ids: Iterable[str], label: str, key: str) -> None:
        """Record that a node links these photos (who may see a photo follows who may see the node)."""
        rows = [(i, label, key) for i in ids]
        if rows:
            with connection(self.db) as conn:
                conn.executemany("INSERT OR IGNORE INTO attachments VALUES (?, ?, ?)", rows)

    # ------------------------------------------------------------------ out
    def get(self, photo_id: str) -> Photo | None:
        if not is_photo_id(photo_id):
            return None
        with connection(self.db) as conn:
            row = conn.execute("SELECT * FROM photos WHERE id = ?", (photo_id,)).fetchone()
        if row is None:
            return None
        return Photo(id=row["id"], media_type=row["media_type"], suffix=row["suffix"], bytes=row["bytes"],
                     width=row["width"], height=row["height"], had_location=bool(row["had_location"]),
                     uploaded_by=row["uploaded_by"], uploaded_at=row["uploaded_at"])

    def attachments(self, photo_id: str) -> list[tuple[str, str]]:
        with connection(self.db) as conn:
            rows = conn.execute("SELECT label, key FROM attachments WHERE photo = ? ORDER BY label, key",
                                (photo_id,)).fetchall()
        return [(r["label"], r["key"]) for r in rows]

    def read(self, photo: Photo, *, with_location: bool) -> bytes:
        """The original, or the copy without location."""
        name = f"{photo.id}.{photo.suffix}" if with_location else f"{photo.id}.public.{photo.suffix}"
        return (self.root / photo.id[:2] / name).read_bytes()


def without_location(image: Image.Image) -> tuple[bytes, bool]:
    """The image with its EXIF GPS block removed and no XMP, and whether it had a position.

    JPEG keeps its compressed quality (`quality="keep"`), so the copy looks like the original."""
    exif = image.getexif()
    gps = exif.get_ifd(GPS_IFD) if GPS_IFD in exif else {}
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    xmp_bytes = xmp.encode("utf-8", "replace") if isinstance(xmp, str) else bytes(xmp)
    had_location = bool(gps) or b"GPSLatitude" in xmp_bytes or b"GPSLongitude" in xmp_bytes
    if GPS_IFD in exif:
        del exif[GPS_IFD]
    fmt = image.format or ""
    out = io.BytesIO()
    params: dict = {"exif": exif.tobytes()} if len(exif) else {}
    icc = image.info.get("icc_profile")
    if icc:
        params["icc_profile"] = icc
    if fmt in ("JPEG", "MPO"):
        image.save(out, "JPEG", quality="keep", **params)
    elif fmt == "PNG":
        image.save(out, "PNG", **params)
    else:
        image.save(out, fmt, quality=90, **params)
    return out.getvalue(), had_location


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
