"""The two sides of a comparison: what a source record says about an enterprise, and what the
registry holds for one. Only fields both sides have are compared; a field one side lacks is
"not stated", never a disagreement."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from riskgraph.loaders.normalise.company import CompanyName, parse_company
from riskgraph.loaders.normalise.uscc import Uscc, parse_uscc

_DIGITS = re.compile(r"\D+")
#: texts whose cleaned form is kept: a record is compared with up to hundreds of candidates, and
#: its fields (and each candidate's) were cleaned again for every pair — 1.6 M times for 3,221
#: records of a 100,000-enterprise change set
CLEANED = 262_144


@lru_cache(maxsize=CLEANED)
def clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    folded = unicodedata.normalize("NFKC", str(text)).strip()
    return re.sub(r"\s+", "", folded) or None


@lru_cache(maxsize=CLEANED)
def clean_phone(text: str | None) -> str | None:
    """Digits only; masked (138****5678) or too short a number identifies nobody."""
    if not text or "*" in str(text):
        return None
    digits = _DIGITS.sub("", unicodedata.normalize("NFKC", str(text)))
    return digits if len(digits) >= 7 else None


@dataclass(frozen=True)
class Query:
    """A record to resolve (or an inspector's query by example)."""

    name: str | None = None
    uscc: str | None = None
    #: a GB/T 2260 code the record's context gives (the deciding authority, the accident's place)
    region: str | None = None
    address: str | None = None
    legal_rep: str | None = None
    phone: str | None = None
    licence: str | None = None

    @cached_property
    def parsed(self) -> CompanyName | None:
        return parse_company(self.name) if self.name and self.name.strip() else None

    @cached_property
    def code(self) -> Uscc | None:
        return parse_uscc(self.uscc)

    @cached_property
    def uscc_text(self) -> str | None:
        """The USCC as written, folded (lower case, widths, spaces), for near comparisons."""
        text = clean_text(self.uscc)
        return text.upper().replace("-", "") if text else None


@dataclass
class Entry:
    """One registered enterprise, as resolution sees it."""

    uscc: str
    name: str
    region: str | None = None
    address: str | None = None
    legal_rep: str | None = None
    phones: set[str] = field(default_factory=set)
    licences: set[str] = field(default_factory=set)
    #: how its name is parsed: the index's kept parses (name_keys.NameKeys.parsed), else parse_company
    parse: Callable[[str], CompanyName] = field(default=parse_company, compare=False, repr=False)

    @cached_property
    def parsed(self) -> CompanyName:
        return self.parse(self.name)

    @property
    def area(self) -> str | None:
        """Where the registry puts it: its region, else the place its own name states."""
        return self.region or self.parsed.place
