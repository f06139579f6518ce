"""Entity resolution for enterprises: USCC first, then normalised name + region, scored and explained.

Sources other than the market registry often leave the USCC blank or mistype it, and spell the
name their own way. A record is matched to a registry enterprise only when the evidence clears
a threshold; every match carries its method, score and reasons so that a reviewer can follow it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from riskgraph.graph.store import GraphStore
from riskgraph.loaders.normalise.names import legal_key, match_key
from riskgraph.loaders.normalise.uscc import parse_uscc
from riskgraph.ontology.anchors import ENTERPRISE, REGION_CODE

#: A near name may differ by this many edits (a mistyped or homophone character) …
MAX_EDITS = 1
#: … and only when the key is at least this long, so that one edit is a small part of it.
MIN_FUZZY_LENGTH = 5
#: Score given to an exact normalised-name match (region agreeing or unknown).
EXACT_NAME_SCORE = 0.97


@dataclass(frozen=True)
class Resolution:
    uscc: str | None
    method: str  # uscc | name_region | name | none
    score: float
    reasons: tuple[str, ...] = ()
    #: the name fits several enterprises equally well
    ambiguous: bool = False

    @property
    def resolved(self) -> bool:
        return self.uscc is not None


@dataclass
class EnterpriseIndex:
    """What resolution needs to know of every enterprise: its code, matching key and region."""

    by_uscc: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    by_key: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def region_of(self, uscc: str) -> str | None:
        entry = self.by_uscc.get(uscc)
        return entry[1] if entry else None

    def add(self, uscc: str, name: str, region: str | None) -> None:
        key = match_key(name)
        previous = self.by_uscc.get(uscc)
        if previous and previous[0] != key:
            self.by_key[previous[0]].remove(uscc)
        self.by_uscc[uscc] = (key, region)
        if uscc not in self.by_key[key]:
            self.by_key[key].append(uscc)

    @classmethod
    def from_store(cls, store: GraphStore) -> EnterpriseIndex:
        index = cls()
        key = store.ontology.key_of(ENTERPRISE)
        for row in store.read(f"MATCH (e:{ENTERPRISE}) RETURN e.{key} AS u, e.name AS n, e.{REGION_CODE} AS r"):
            if row["n"]:
                index.add(row["u"], row["n"], row["r"])
        return index

    def resolve(self, uscc_text: str | None, name: str | None, region: str | None = None) -> Resolution:
        """The registry enterprise a record refers to, or an unresolved Resolution saying why."""
        reasons: list[str] = []
        code = parse_uscc(uscc_text)
        if code is not None:
            if code.code in self.by_uscc:
                return Resolution(code.code, "uscc", 1.0, (f"USCC {code.code} is registered",))
            reasons.append(f"USCC {code.code} is not registered")
        elif uscc_text and str(uscc_text).strip():
            reasons.append(f"{uscc_text!r} is not a well-formed USCC")
        if not name or not name.strip():
            return Resolution(None, "none", 0.0, tuple(reasons + ["no name to match on"]))
        # a name written without its place prefix may itself start with a place-like 字号 (安顺化工):
        # try it as written before stripping what looks like a place
        key = next((k for k in (legal_key(name), match_key(name)) if self.by_key.get(k)), match_key(name))
        candidates = list(self.by_key.get(key, []))
        if region and len(candidates) > 1:
            same_region = [u for u in candidates if _same_area(self.by_uscc[u][1], region)]
            candidates = same_region or candidates
        if len(candidates) == 1:
            found = candidates[0]
            found_region = self.by_uscc[found][1]
            if region and found_region and not _same_area(found_region, region):
                reasons.append(f"name matches {found} but its region {found_region} differs from {region}")
                return Resolution(None, "none", 0.0, tuple(reasons))
            method = "name_region" if region and found_region else "name"
            return Resolution(found, method, EXACT_NAME_SCORE, tuple(reasons + [f"normalised name {key!r} matches"]))
        if len(candidates) > 1:
            return Resolution(None, "none", 0.0, tuple(reasons + [f"name {key!r} matches {len(candidates)} enterprises"]),
                              ambiguous=True)
        return self._fuzzy(key, region, reasons)

    def _fuzzy(self, key: str, region: str | None, reasons: list[str]) -> Resolution:
        """A name one edit away from exactly one enterprise of the same area: only with a region to confirm it."""
        if not region:
            return Resolution(None, "none", 0.0, tuple(reasons + ["no exact name match and no region to confirm a near one"]))
        if len(key) < MIN_FUZZY_LENGTH:
            return Resolution(None, "none", 0.0, tuple(reasons + [f"name {key!r} too short to match approximately"]))
        pool = [k for k, codes in self.by_key.items() if any(_same_area(self.by_uscc[u][1], region) for u in codes)]
        near = process.extract(key, pool, scorer=Levenshtein.distance, score_cutoff=MAX_EDITS, limit=2)
        if not near:
            return Resolution(None, "none", 0.0, tuple(reasons + [f"no name within {MAX_EDITS} edit(s) in region {region}"]))
        codes = [u for k, _, _ in near for u in self.by_key[k] if _same_area(self.by_uscc[u][1], region)]
        if len(codes) != 1:
            return Resolution(None, "none", 0.0, tuple(reasons + [f"near name {key!r} fits {len(codes)} enterprises"]),
                              ambiguous=True)
        matched_key, edits, _ = near[0]
        return Resolution(
            codes[0], "name_region", round(0.95 * (1 - edits / len(key)), 3),
            tuple(reasons + [f"name {key!r} ≈ {matched_key!r} ({edits} edit) in region {region}"]),
        )


def _same_area(a: str | None, b: str | None) -> bool:
    """Same county, or one code is the other's city or province (a record may only name the city)."""
    if not a or not b:
        return True
    if a == b:
        return True
    for x, y in ((a, b), (b, a)):
        if x.endswith("0000") and y[:2] == x[:2]:
            return True
        if x.endswith("00") and y[:4] == x[:4]:
            return True
    return False
