"""Roles, callers and the disclosure level each role reaches (the policy; `api/README.md` has the table).

- public (anonymous): PUBLIC everywhere;
- enterprise: ENTERPRISE on its own enterprise and everything that hangs off it, PUBLIC elsewhere;
- inspector: INSPECTOR on enterprises and nodes in its regions (GB/T 2260 prefixes), PUBLIC elsewhere;
- analyst: INTERNAL everywhere, and read-only Cypher (which can return any stored value anyway);
- admin: INTERNAL everywhere, plus the audit log.

Logging in never shows less than the anonymous view: a scoped role reads other enterprises at
PUBLIC, like anyone, because refusing what an anonymous caller may read protects nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import Disclosure


class Role(StrEnum):
    PUBLIC = "public"
    ENTERPRISE = "enterprise"
    INSPECTOR = "inspector"
    ANALYST = "analyst"
    ADMIN = "admin"


#: the highest level a role reaches (within its scope, for the scoped roles)
CEILING: dict[Role, Disclosure] = {
    Role.PUBLIC: Disclosure.PUBLIC,
    Role.ENTERPRISE: Disclosure.ENTERPRISE,
    Role.INSPECTOR: Disclosure.INSPECTOR,
    Role.ANALYST: Disclosure.INTERNAL,
    Role.ADMIN: Disclosure.INTERNAL,
}
#: roles whose ceiling applies only inside their scope (an enterprise, some regions)
SCOPED = frozenset({Role.ENTERPRISE, Role.INSPECTOR})
#: roles that may log in (public is the anonymous caller)
ACCOUNT_ROLES = tuple(r for r in Role if r is not Role.PUBLIC)


class RegionCodeError(RiskGraphError, ValueError):
    """Not a GB/T 2260 region code; the API answers 422 with this message, the CLI a usage error."""


class UsccError(RiskGraphError, ValueError):
    """Not the shape of a 统一社会信用代码."""

_REGION = re.compile(r"^\d{2}(\d{2}){0,5}$")
_USCC = re.compile(r"^[0-9A-Z]{18}$")


def region_prefix(code: str) -> str:
    """A GB/T 2260 code as the prefix it covers: trailing zero pairs stripped ("130100" → "1301")."""
    text = str(code).strip()
    if not _REGION.match(text):
        raise RegionCodeError(N_("{code!r} is not a GB/T 2260 region code (2 to 12 digits, in pairs)"), code=code)
    while len(text) > 2 and text.endswith("00"):
        text = text[:-2]
    if text == "00":
        raise RegionCodeError(N_("{code!r} names no region"), code=code)
    return text


def check_uscc(uscc: str) -> str:
    """An 18-character 统一社会信用代码 (pilot-era codes outside GB 32100 exist, so only the shape is checked)."""
    text = str(uscc).strip().upper()
    if not _USCC.match(text):
        raise UsccError(N_("{uscc!r} is not an 18-character unified social credit code"), uscc=uscc)
    return text


@dataclass(frozen=True)
class Caller:
    """Who is asking: the anonymous public, or a logged-in account with its role and scope."""

    role: Role = Role.PUBLIC
    username: str | None = None
    uscc: str | None = None
    regions: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "prefixes", tuple(sorted({region_prefix(r) for r in self.regions})))

    @property
    def ceiling(self) -> Disclosure:
        return CEILING[self.role]

    @property
    def scoped(self) -> bool:
        return self.role in SCOPED

    @property
    def anonymous(self) -> bool:
        return self.username is None

    def covers_region(self, code: str | None) -> bool:
        """True if an inspector's regions contain this code (prefix semantics)."""
        if self.role is not Role.INSPECTOR or not code:
            return False
        return any(str(code).startswith(p) for p in self.prefixes)

    def enterprise_level(self, uscc: str | None, region: str | None) -> Disclosure:
        """The level this caller reads one enterprise (and what hangs off it) at."""
        if not self.scoped:
            return self.ceiling
        if self.role is Role.ENTERPRISE:
            return self.ceiling if uscc is not None and uscc == self.uscc else Disclosure.PUBLIC
        return self.ceiling if self.covers_region(region) else Disclosure.PUBLIC

    def region_level(self, region: str | None) -> Disclosure:
        """The level for something judged by its region alone (a disaster point, a county aggregate)."""
        if not self.scoped:
            return self.ceiling
        return self.ceiling if self.covers_region(region) else Disclosure.PUBLIC

    def describe(self) -> dict:
        return {"username": self.username, "role": self.role.value, "uscc": self.uscc,
                "regions": list(self.regions), "level": self.ceiling.name.lower()}


ANONYMOUS = Caller()
