"""One record against one registry entry: every field both state, compared, with the reasons.

The name is compared part by part. Its level is `exact_full` (same place, body and compatible
legal form: the registered name itself), `exact_body` (same 字号 + 行业, place not stated or
coarser), `near` (one edit in the body: a typo — or a different company), `near2` (two edits, each
a homophone or a look-alike), `trade` (same 字号, other trade) or `weak`. Some differences say
"another company" whatever else agrees — a different number (第一/第二), another industry word
(化肥/化工), another operator of an individual business (李刚/李强), a branch against its parent,
a group against a company: those are `blocks`. A second field that agrees (USCC, address, legal
representative, phone, licence number) is what can tell a typo from a different company.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from riskgraph.loaders.matching import places
from riskgraph.loaders.matching.records import Entry, Query, clean_phone, clean_text
from riskgraph.loaders.normalise.characters import NUMERALS, homophones, look_alike
from riskgraph.loaders.normalise.company import CompanyName, _strip_leading_places, forms_compatible

LEVELS = ("exact_full", "exact_body", "near", "near2", "trade", "weak")
#: address similarity (rapidfuzz ratio after the shared place prefix is removed) that counts as agreement …
ADDRESS_AGREES = 85
#: … and below which the addresses disagree
ADDRESS_DIFFERS = 50


@dataclass
class Comparison:
    entry: Entry
    level: str
    region: str                 # agrees | within | unknown | contradicts
    features: dict[str, float]
    reasons: list[str] = field(default_factory=list)
    second: list[str] = field(default_factory=list)    # fields that agree beyond the name and the place
    against: list[str] = field(default_factory=list)   # fields that disagree
    blocks: list[str] = field(default_factory=list)    # differences that mean another company
    #: the record's own name states a place that contradicts the registry
    name_place_contradicts: bool = False
    #: the record carries a valid USCC that is not this enterprise's
    uscc_contradicts: bool = False
    score: float = 0.0

    @property
    def rank(self) -> int:
        return LEVELS.index(self.level)


def _edits(a: str, b: str) -> list[tuple[str, str]]:
    """The substituted character pairs between two bodies of equal length (empty otherwise)."""
    if len(a) != len(b):
        return []
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def _transposed(a: str, b: str) -> bool:
    return len(a) == len(b) and a != b and sorted(a) == sorted(b) and OSA.distance(a, b) == 1


def _typo_like(subs: list[tuple[str, str]]) -> bool:
    """Every substituted character a homophone or a look-alike of its counterpart."""
    return bool(subs) and all(homophones(x, y) or look_alike(x, y) for x, y in subs)


def name_level(q: CompanyName, e: CompanyName, distance: int | None = None) -> str:
    """How near two parsed names are (`LEVELS`); `distance`: their bodies' OSA distance, if known."""
    if q.body == e.body:
        if forms_compatible(q.form, e.form) and q.place == e.place and q.group == e.group and q.branch == e.branch:
            return "exact_full"
        return "exact_body"
    distance = OSA.distance(q.body, e.body) if distance is None else distance
    if distance == 1:
        return "near"
    if distance == 2 and _typo_like(_edits(q.body, e.body)):
        return "near2"
    if q.trade and q.trade == e.trade:
        return "trade"
    return "weak"


def compare_names(q: CompanyName, e: CompanyName) -> tuple[str, dict[str, float], list[str], list[str]]:
    """(level, features, reasons, blocks) for two parsed names."""
    feats: dict[str, float] = {}
    reasons: list[str] = []
    blocks: list[str] = []
    same_body = q.body == e.body
    compatible = forms_compatible(q.form, e.form)
    feats["form_exact"] = float(q.form == e.form)
    feats["form_unstated"] = float("none" in (q.form, e.form))
    if not compatible:
        blocks.append(f"legal form {q.form_text or q.form} ≠ {e.form_text or e.form}")
    if q.group != e.group:
        blocks.append("a group (集团) and a company in it are different enterprises")
    if q.branch != e.branch:
        blocks.append("a branch (分公司) and its parent are different enterprises" if None in (q.branch, e.branch)
                      else f"another branch ({q.branch} ≠ {e.branch})")
    distance = OSA.distance(q.body, e.body)
    feats["body_similarity"] = Levenshtein.normalized_similarity(q.body, e.body)
    feats["body_edits"] = float(min(distance, 3))
    subs = _edits(q.body, e.body)
    feats["typo_like"] = float(_typo_like(subs))
    feats["transposed"] = float(_transposed(q.body, e.body))
    feats["trade_equal"] = float(bool(q.trade) and q.trade == e.trade)
    if not same_body:
        if any(x in NUMERALS or y in NUMERALS for x, y in subs) or (
                {c for c in q.body if c in NUMERALS} != {c for c in e.body if c in NUMERALS}):
            blocks.append("a different number (第一/第二…): a sibling company")
        if q.industry and e.industry and q.industry != e.industry and q.trade == e.trade:
            blocks.append(f"same 字号, other trade ({q.industry} ≠ {e.industry})")
        if (q.individual or e.individual) and q.trade != e.trade:
            blocks.append(f"individual businesses of different operators ({q.trade} ≠ {e.trade})")
    feats["distinguishing"] = float(bool(blocks))
    level = name_level(q, e, distance)
    if level == "exact_full":
        reasons.append(f"full name matches ({e.place_text or 'no place'} {e.body} {e.form_text})".replace("  ", " "))
    elif level == "exact_body":
        reasons.append(f"字号 + 行业 {e.body!r} match")
    elif level == "near":
        how = "transposed characters" if feats["transposed"] else (
            "a homophone or look-alike character" if feats["typo_like"] else "one character differs")
        reasons.append(f"name {q.body!r} ≈ {e.body!r} ({how}): one edit alone cannot tell a typo from another company")
    elif level == "near2":
        reasons.append(f"name {q.body!r} ≈ {e.body!r} (two homophone or look-alike characters)")
    elif level == "trade":
        reasons.append(f"same 字号 {q.trade!r}, other trade ({q.industry or '?'} / {e.industry or '?'})")
    else:
        reasons.append(f"names {q.body!r} and {e.body!r} differ")
    reasons.extend(q.repairs)
    return level, feats, reasons, blocks


@lru_cache(maxsize=65_536)
def _address_core(text: str) -> str:
    """The address without its leading places (kept: a record's is compared with every candidate's)."""
    return _strip_leading_places(text, min_rest=2)[0]


def compare(query: Query, entry: Entry) -> Comparison:
    """Compare one record with one registry entry."""
    q = query.parsed
    e = entry.parsed
    if q is not None:
        level, feats, reasons, blocks = compare_names(q, e)
    else:
        level, feats, reasons, blocks = "weak", {}, ["the record names no enterprise"], []
    comp = Comparison(entry, level, "unknown", feats, reasons, blocks=blocks)
    for lvl in LEVELS:
        feats[f"level_{lvl}"] = float(level == lvl)
    _compare_regions(query, entry, comp)
    _compare_uscc(query, entry, comp)
    _compare_fields(query, entry, comp)
    feats["second_fields"] = float(len(comp.second))
    feats["against_fields"] = float(len(comp.against))
    return comp


def stated_places(query: Query) -> list[tuple[str, str]]:
    """(where, region code) of the places a record states: in its name, its branch's, by its authority."""
    stated: list[tuple[str, str]] = []
    if query.parsed is not None and query.parsed.place:
        stated.append(("name", query.parsed.place))
    if query.parsed is not None and query.parsed.branch and query.parsed.branch.isdigit():
        stated.append(("branch", query.parsed.branch))  # 华润化工有限公司黄骅分公司: the branch is in 黄骅
    if query.region:
        stated.append(("authority", query.region))
    return stated


def _compare_regions(query: Query, entry: Entry, comp: Comparison) -> None:
    """The places the record states (in its name, by its authority, in its address) against the registry."""
    registered = entry.area
    stated = stated_places(query)
    relations = []
    for source, code in stated:
        rel = places.relation(code, registered)
        if rel is None:
            continue
        relations.append(rel)
        if rel == places.CONTRADICTS:
            comp.reasons.append(f"the {source}'s place {code} contradicts the registry's {registered}")
            comp.name_place_contradicts |= source == "name"
        elif rel == places.AGREES:
            comp.reasons.append(f"the {source}'s place {code} is the registry's county")
        else:
            comp.reasons.append(f"the {source}'s place {code} only contains (or is contained by) {registered}: not confirmed")
    if not registered:
        comp.reasons.append("the registry has no region for it: place not confirmed")
    elif not stated:
        comp.reasons.append("the record states no place: not confirmed")
    if places.CONTRADICTS in relations:
        comp.region = "contradicts"
    elif places.AGREES in relations:
        comp.region = "agrees"
    elif relations:
        comp.region = "within"
    f = comp.features
    f["region_agrees"] = float(comp.region == "agrees")
    f["region_within"] = float(comp.region == "within")
    f["region_unknown"] = float(comp.region == "unknown")
    f["region_contradicts"] = float(comp.region == "contradicts")


def uscc_relation(query: Query, entry: Entry) -> str | None:
    """equal | near | contradicts: the code the record writes against the registry's; None if it writes none."""
    written = query.uscc_text
    if not written:
        return None
    if query.code is not None and query.code.code == entry.uscc:
        return "equal"
    if (query.code is None or query.code.quality != "valid") and Levenshtein.distance(written, entry.uscc) <= 2:
        return "near"  # a typo leaves the check digit wrong (or the text no code): a valid code is another enterprise's
    if query.code is not None:  # a well-formed code, valid or of the legacy kind: another enterprise's
        return "contradicts"
    return None


def _compare_uscc(query: Query, entry: Entry, comp: Comparison) -> None:
    f = comp.features
    f["uscc_equal"] = f["uscc_near"] = f["uscc_contradicts"] = 0.0
    relation = uscc_relation(query, entry)
    if relation == "equal":
        f["uscc_equal"] = 1.0
        comp.second.append("uscc")
        comp.reasons.append(f"USCC {entry.uscc} matches")
    elif relation == "near":
        f["uscc_near"] = 1.0
        comp.second.append("uscc")
        comp.reasons.append(f"USCC {query.uscc_text!r} is {entry.uscc} mistyped")
    elif relation == "contradicts" and query.code is not None:
        f["uscc_contradicts"] = 1.0
        comp.uscc_contradicts = True
        comp.against.append("uscc")
        comp.reasons.append(f"the record's USCC {query.code.code} ({query.code.quality}) is not {entry.uscc}")


def _compare_fields(query: Query, entry: Entry, comp: Comparison) -> None:
    f = comp.features
    f["address_similarity"] = 0.0
    address, registered = clean_text(query.address), clean_text(entry.address)
    if address and registered:
        similarity = fuzz.ratio(_address_core(address), _address_core(registered))
        f["address_similarity"] = similarity / 100
        if similarity >= ADDRESS_AGREES:
            comp.second.append("address")
            comp.reasons.append(f"address agrees ({similarity:.0f}%)")
        elif similarity < ADDRESS_DIFFERS:
            comp.against.append("address")
            comp.reasons.append(f"address differs ({similarity:.0f}%)")
    f["legal_rep_equal"] = f["legal_rep_differs"] = 0.0
    rep, registered_rep = clean_text(query.legal_rep), clean_text(entry.legal_rep)
    if rep and registered_rep:
        if rep == registered_rep:
            f["legal_rep_equal"] = 1.0
            comp.second.append("legal_rep")
            comp.reasons.append(f"legal representative {rep} matches")
        else:
            f["legal_rep_differs"] = 1.0
            comp.against.append("legal_rep")
            comp.reasons.append(f"legal representative {rep} ≠ {registered_rep}")
    f["phone_equal"] = 0.0
    phone = clean_phone(query.phone)
    if phone and entry.phones:
        if phone in entry.phones:
            f["phone_equal"] = 1.0
            comp.second.append("phone")
            comp.reasons.append("phone number matches")
    f["licence_equal"] = 0.0
    licence = clean_text(query.licence)
    if licence and entry.licences:
        if licence in entry.licences:
            f["licence_equal"] = 1.0
            comp.second.append("licence")
            comp.reasons.append(f"licence {licence} is the enterprise's")
