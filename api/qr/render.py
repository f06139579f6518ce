"""QR symbols and placards: PNG (Pillow, a CJK font), SVG, a PDF sheet of many.

The symbol is made with segno at error-correction level M (never boosted, so the level is what
was asked), in two segments: the URL's prefix (alphanumeric when it is all capitals, else byte)
and the base32 token (alphanumeric). The version is the smallest that holds them.
"""
from __future__ import annotations

import glob
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from urllib.parse import urlsplit

import segno
from PIL import Image, ImageDraw, ImageFont
from segno import consts

from riskgraph.ontology.errors import N_, RiskGraphError, SettingError

log = logging.getLogger(__name__)

ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
ERROR = "M"
QUIET = 4  # modules of quiet zone

#: fonts with the CJK glyphs a placard needs, most wanted first (Debian/Ubuntu/Fedora/Alpine paths)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
FONT_GLOBS = ("/usr/share/fonts/**/*[Ww][Qq][Yy]*.tt[cf]", "/usr/share/fonts/**/*CJK*.[ot]t[cf]",
              "/usr/local/share/fonts/**/*CJK*.[ot]t[cf]")
SVG_FONTS = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"


class QrTooLarge(RiskGraphError, ValueError):
    """The code would need a QR version above the limit."""


class NoFontFile(RiskGraphError, FileNotFoundError):
    """The configured placard font is not a file (the operator's setting)."""


# ---------------------------------------------------------------------- URL and symbol
def code_url(base: str, token: str, *, uppercase: bool = True) -> str:
    """`{base}/Q/{token}`: scheme and host in capitals (they are case-insensitive) so the code stays
    alphanumeric; the base's own path is kept as given. `uppercase=False`: `{base}/q/{token}`."""
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https", "HTTP", "HTTPS") or not parts.netloc:
        raise SettingError(N_("the codes' base URL must be http(s)://host[/path], not {base!r}"), base=base)
    path = parts.path.rstrip("/")
    if uppercase:
        return f"{parts.scheme.upper()}://{parts.netloc.upper()}{path}/Q/{token}"
    return f"{parts.scheme.lower()}://{parts.netloc}{path}/q/{token}"


def split_url(url: str) -> tuple[str, str]:
    """(prefix, token) of a code URL."""
    cut = url.rstrip("/").rfind("/") + 1
    return url[:cut], url[cut:]


def _mode(text: str) -> int:
    return consts.MODE_ALPHANUMERIC if all(c in ALPHANUMERIC for c in text) else consts.MODE_BYTE


def _segments(prefix: str, token: str) -> list[tuple[str, int]]:
    """One alphanumeric segment when the whole URL is alphanumeric; else a byte prefix and an alphanumeric token.

    Two alphanumeric segments are never used: segno 1.6.6 mis-encodes an odd-length alphanumeric
    segment followed by another segment (a decoder reads a wrong character, or nothing).
    """
    token_mode = _mode(token)
    if not prefix or _mode(prefix) == token_mode:
        return [(prefix + token, token_mode)]
    return [(prefix, consts.MODE_BYTE), (token, token_mode)]


#: segno.make also takes structured content, a list of (data, mode) segments (segno.encoder.prepare_data
#: reads them), though its stub names only str, int and bytes: called through this wider type
_make_segments: Callable[..., segno.QRCode] = segno.make


def symbol_version(qr: segno.QRCode) -> int:
    """The version of a QR symbol (1–40). segno types it `int | str` because Micro QR versions are 'M1'…'M4';
    this module never makes those (micro=False)."""
    version = qr.version
    if not isinstance(version, int):
        raise ValueError(f"a Micro QR symbol ({version}) where a full QR symbol was made")
    return version


def make_qr(url: str, *, max_version: int | None = None) -> segno.QRCode:
    """The QR symbol of a code URL, level M; `QrTooLarge` above `max_version`."""
    prefix, token = split_url(url)
    try:
        qr = _make_segments(_segments(prefix, token), error=ERROR, boost_error=False, micro=False, version=None)
    except segno.DataOverflowError:
        raise QrTooLarge(N_("the code is too long for any QR version")) from None
    version = symbol_version(qr)
    if max_version is not None and version > max_version:
        raise QrTooLarge(N_("the code needs QR version {version}-{ERROR}; the limit is {max_version}-{ERROR}"),
                         version=version, ERROR=ERROR, max_version=max_version)
    return qr


@lru_cache(maxsize=64)
def token_capacity(prefix: str, max_version: int) -> int:
    """The longest base32 token that fits with this prefix in `max_version`-M."""
    low, high = 0, 2000
    while low < high:
        mid = (low + high + 1) // 2
        try:
            _make_segments(_segments(prefix, "A" * mid), error=ERROR, boost_error=False, micro=False,
                           version=max_version)
            low = mid
        except (segno.DataOverflowError, ValueError):
            high = mid - 1
    return low


# ---------------------------------------------------------------------- fonts
@lru_cache(maxsize=8)
def find_font(configured: str | None = None) -> str | None:
    """A font file with CJK glyphs: the configured one, a known path, or one found under /usr/share/fonts."""
    if configured:
        if not os.path.isfile(configured):
            raise NoFontFile(N_("{name}: no font file {path}"), name="RISKGRAPH_QR_FONT", path=configured)
        return configured
    for path in FONT_CANDIDATES:
        if os.path.isfile(path):
            return path
    for pattern in FONT_GLOBS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    log.warning("no CJK font found (install fonts-wqy-microhei): placards will print Chinese as boxes")
    return None


@lru_cache(maxsize=64)
def _font(path: str | None, size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if path:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


# ---------------------------------------------------------------------- placards
COLOUR_RGB = {"RED": (220, 38, 38), "ORANGE": (245, 130, 32), "YELLOW": (250, 204, 21), "BLUE": (37, 99, 235)}
#: the band of a placard that prints no colour (the colour changes with assessments: the scan shows it live)
NEUTRAL_RGB = (55, 65, 81)
BAND = 28


@dataclass(frozen=True)
class Placard:
    url: str
    title: str       # the entity's name
    subtitle: str    # kind and key (企业 9113…)
    footer: str      # token id and expiry
    colour: str | None = None  # RiskColour notation: a band across the top


def symbol_image(qr: segno.QRCode, scale: int) -> Image.Image:
    """The symbol with its quiet zone, black on white, `scale` pixels a module."""
    matrix = qr.matrix
    size = len(matrix) + 2 * QUIET
    small = Image.new("L", (size, size), 255)
    pixels = small.load()
    if pixels is None:  # PIL returns None only for an image without pixel data
        raise RuntimeError("PIL gave no pixel access to a new image")
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark & 1:
                pixels[x + QUIET, y + QUIET] = 0
    return small.resize((size * scale, size * scale), Image.Resampling.NEAREST)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int, max_lines: int = 2) -> list[str]:
    lines, current = [], ""
    for ch in text:
        if draw.textlength(current + ch, font=font) <= width:
            current += ch
            continue
        lines.append(current)
        current = ch
        if len(lines) == max_lines:
            break
    if len(lines) < max_lines and current:
        lines.append(current)
    elif len(lines) == max_lines and "".join(lines) != text:
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def _layout(placard: Placard, qr: segno.QRCode, scale: int, font_path: str | None):
    side = (len(qr.matrix) + 2 * QUIET) * scale
    width = max(side, 560)
    band = BAND
    title_font, sub_font, foot_font = _font(font_path, 34), _font(font_path, 22), _font(font_path, 17)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    margin = 24
    title_lines = _wrap(probe, placard.title, title_font, width - 2 * margin)
    sub_lines = _wrap(probe, placard.subtitle, sub_font, width - 2 * margin)
    foot_lines = _wrap(probe, placard.footer, foot_font, width - 2 * margin)
    heights = [(title_lines, title_font, 44), (sub_lines, sub_font, 30), (foot_lines, foot_font, 24)]
    height = band + side + sum(len(lines) * step for lines, _, step in heights) + 28
    return side, width, band, heights, height


def placard_png(placard: Placard, qr: segno.QRCode, *, scale: int = 8, font_path: str | None = None) -> Image.Image:
    """The placard as an image: a band, the symbol, the name, kind and key, token id and expiry."""
    side, width, band, blocks, height = _layout(placard, qr, scale, font_path)
    img = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(img).rectangle((0, 0, width, band - 1), fill=COLOUR_RGB.get(placard.colour or "", NEUTRAL_RGB))
    img.paste(symbol_image(qr, scale).convert("RGB"), ((width - side) // 2, band))
    draw = ImageDraw.Draw(img)
    y = band + side + 4
    for lines, font, step in blocks:
        for line in lines:
            draw.text((width / 2, y), line, fill="black", font=font, anchor="ma")
            y += step
    return img


def png_bytes(img: Image.Image, dpi: int = 300) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", dpi=(dpi, dpi), optimize=True)
    return buf.getvalue()


def placard_svg(placard: Placard, qr: segno.QRCode, *, scale: int = 8, font_path: str | None = None) -> str:
    """The same placard as SVG (one path for the modules; text in CJK-capable system fonts)."""
    side, width, band, blocks, height = _layout(placard, qr, scale, font_path)
    left = (width - side) // 2 + QUIET * scale
    top = band + QUIET * scale
    runs = []
    for y, row in enumerate(qr.matrix):
        x = 0
        while x < len(row):
            if row[x] & 1:
                start = x
                while x < len(row) and row[x] & 1:
                    x += 1
                runs.append(f"M{left + start * scale} {top + y * scale}h{(x - start) * scale}v{scale}h-{(x - start) * scale}z")
            else:
                x += 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f"<title>{escape(placard.title)}</title>",
             f'<rect width="{width}" height="{height}" fill="#fff"/>']
    r, g, b = COLOUR_RGB.get(placard.colour or "", NEUTRAL_RGB)
    parts.append(f'<rect width="{width}" height="{band}" fill="rgb({r},{g},{b})"/>')
    parts.append(f'<path fill="#000" shape-rendering="crispEdges" d="{"".join(runs)}"/>')
    y = band + side + 4
    for (lines, _font, step), size in zip(blocks, (34, 22, 17), strict=False):
        for line in lines:
            parts.append(f'<text x="{width / 2:g}" y="{y + size * 0.88:.0f}" font-family="{escape(SVG_FONTS)}" '
                         f'font-size="{size}" text-anchor="middle">{escape(line)}</text>')
            y += step
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------- the PDF sheet
A4_150DPI = (1240, 1754)


def sheet_pdf(images: list[Image.Image], *, columns: int = 2, rows: int = 3, title: str = "") -> bytes:
    """Placards in a grid, `columns` × `rows` an A4 page (150 dpi), with cut lines."""
    page_w, page_h = A4_150DPI
    margin, head = 50, 40 if title else 0
    cell_w = (page_w - 2 * margin) // columns
    cell_h = (page_h - 2 * margin - head) // rows
    per_page = columns * rows
    pages = []
    for start in range(0, max(len(images), 1), per_page):
        page = Image.new("RGB", (page_w, page_h), "white")
        draw = ImageDraw.Draw(page)
        if title:
            draw.text((margin, margin), f"{title}  ({start // per_page + 1}/{(len(images) + per_page - 1) // per_page or 1})",
                      fill="black", font=_font(find_font(None), 20))
        for i, img in enumerate(images[start:start + per_page]):
            col, row = i % columns, i // columns
            x0, y0 = margin + col * cell_w, margin + head + row * cell_h
            draw.rectangle((x0, y0, x0 + cell_w - 1, y0 + cell_h - 1), outline=(190, 190, 190))
            ratio = min((cell_w - 20) / img.width, (cell_h - 20) / img.height, 1.0)
            fitted = img.resize((int(img.width * ratio), int(img.height * ratio)), Image.Resampling.LANCZOS) if ratio < 1 else img
            page.paste(fitted, (x0 + (cell_w - fitted.width) // 2, y0 + (cell_h - fitted.height) // 2))
        pages.append(page)
    buf = io.BytesIO()
    pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=150.0)
    return buf.getvalue()
