"""统一社会信用代码 (GB 32100-2015) through python-stdnum, with a quality verdict."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


@dataclass(frozen=True)
class Uscc:
    code: str
    #: "valid", or "legacy" for a well-formed code that fails the check digit (pilot-era codes are real)
    quality: str

    @property
    def region_code(self) -> str:
        """Characters 3–8: the GB/T 2260 code of the registering authority."""
        return self.code[2:8]


def parse_uscc(text: str | None) -> Uscc | None:
    """The code and its quality, or None when the text is not a USCC at all (blank or malformed)."""
    if text is None:
        return None
    return _parse(str(text))


@lru_cache(maxsize=262_144)
def _parse(text: str) -> Uscc | None:
    """Cached: one enterprise's code recurs in every file that names it, and the check is slow."""
    code = unicodedata.normalize("NFKC", str(text)).strip().upper().replace(" ", "").replace("-", "")
    if not code:
        return None
    try:
        return Uscc(stdnum_uscc.validate(code), "valid")
    except InvalidChecksum:
        return Uscc(code, "legacy") if _SHAPE.match(code) else None
    except ValidationError:
        return None
