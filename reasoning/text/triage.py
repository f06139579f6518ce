"""One report's triage: what may happen (GB 6441 types, ranked), why (GB/T 13861 class), how urgent, which
kind, which enterprise (with a score) and which county — from its text, coordinates and code.

| field | how |
|---|---|
| accident types, factor, urgency, kind | the classifier (`model.py`); a type or disaster the text names outright (the ruler) leads |
| enterprise | the code's (1.0); a name in the text: full 1.0, 字号 + 行业 0.9, one wrong character ≤ 0.85; nearest within 300 m 0.4–0.7 |
| region | given; the code's; the coordinates' county; a place the text names; an address the text writes (cpca); the enterprise's |
"""
from __future__ import annotations

from dataclasses import dataclass, field

from riskgraph.reasoning.text.model import Prediction, shared_model
from riskgraph.reasoning.text.pipeline import ORG, PLACE, Mention
from riskgraph.reasoning.text.places import Index, distance_km

NEAR_KM = 0.3
SAFETY, NATURAL = "安全生产", "自然灾害"
KINDS = (SAFETY, NATURAL)


@dataclass(frozen=True)
class EnterpriseLink:
    uscc: str
    name: str
    score: float
    via: str   #: code, name, short_name, near_name, location


@dataclass
class Triage:
    accident_types: list[str]
    hazard_factor: str
    urgency: str
    kind: str
    enterprise: EnterpriseLink | None
    region: str | None
    region_basis: str | None
    place: str | None
    confidence: dict[str, float] = field(default_factory=dict)
    mentions: list[Mention] = field(default_factory=list)


def triage(index: Index, text: str, *, lon: float | None = None, lat: float | None = None, region: str | None = None,
           kind: str | None = None, code_enterprise: str | None = None, code_region: str | None = None,
           prediction: Prediction | None = None) -> Triage:
    """The triage of one report (`prediction`: the classifier's answer when the caller batched it)."""
    pred = prediction or shared_model().predict([text])[0]
    mentions = index.recogniser.mentions(text)
    types = list(pred.accident_types)
    named = [m.id for m in mentions if m.label == "ACCIDENT"]
    for code in reversed(named):
        if code in types:
            types.remove(code)
        types.insert(0, code)
    types = types[:3]
    if kind not in KINDS:
        kind = NATURAL if any(m.label == "DISASTER" for m in mentions) else pred.kind
    link = _enterprise(index, text, mentions, lon, lat, code_enterprise)
    found_region, basis, place = _region(index, text, mentions, lon, lat, region, code_region, link)
    return Triage(accident_types=types, hazard_factor=pred.hazard_factor, urgency=pred.urgency, kind=kind,
                  enterprise=link, region=found_region, region_basis=basis, place=place, confidence=pred.confidence,
                  mentions=mentions)


def _enterprise(index: Index, text: str, mentions: list[Mention], lon: float | None, lat: float | None,
                code_enterprise: str | None) -> EnterpriseLink | None:
    if code_enterprise and code_enterprise in index.enterprises:
        e = index.enterprises[code_enterprise]
        return EnterpriseLink(e.uscc, e.name, 1.0, "code")
    orgs = [m for m in mentions if m.label == ORG and m.id in index.enterprises]
    if orgs:
        best = max(orgs, key=lambda m: m.end - m.start)
        rivals = {m.id for m in orgs if m.text == best.text}
        e = index.enterprises[best.id]
        full = best.text == e.name
        score = (1.0 if full else 0.9) / len(rivals)
        return EnterpriseLink(e.uscc, e.name, round(score, 3), "name" if full else "short_name")
    near = _fuzzy(index, text)
    if near is not None:
        return near
    if lon is not None and lat is not None:
        located = [(distance_km(lon, lat, e.lon, e.lat), e) for e in index.enterprises.values()
                   if e.lon is not None and e.lat is not None]
        located = [(d, e) for d, e in located if d <= NEAR_KM]
        if located:
            d, e = min(located, key=lambda de: de[0])
            return EnterpriseLink(e.uscc, e.name, round(0.7 - d, 3), "location")
    return None


def _fuzzy(index: Index, text: str) -> EnterpriseLink | None:
    """A 字号 + 行业 written with one wrong character (冀中化工 → 翼中化工): linked only when exactly one
    enterprise's name is that close; the score falls with the share of characters wrong."""
    from rapidfuzz.distance import Levenshtein

    hits: dict[str, float] = {}
    for e in index.enterprises.values():
        body = index.bodies.get(e.uscc, "")
        n = len(body)
        if n < 4:
            continue
        best = min((Levenshtein.distance(body, text[i:i + n], score_cutoff=1) for i in range(max(len(text) - n + 1, 0))),
                   default=2)
        if best <= 1:
            hits[e.uscc] = round(0.85 * (1 - best / n), 3)
    if len(hits) != 1:
        return None
    uscc, score = next(iter(hits.items()))
    return EnterpriseLink(uscc, index.enterprises[uscc].name, score, "near_name")


def _region(index: Index, text: str, mentions: list[Mention], lon: float | None, lat: float | None, region: str | None,
            code_region: str | None, link: EnterpriseLink | None) -> tuple[str | None, str | None, str | None]:
    places = [m for m in mentions if m.label == PLACE]
    place = max(places, key=lambda m: m.end - m.start).text if places else None
    if region:
        return region, "given", place
    if code_region:
        return code_region, "code", place
    if lon is not None and lat is not None:
        county = index.county_at(lon, lat)
        if county:
            return county, "coordinates", place
    named = index.region_of_place(text)
    if named is not None:
        return named[0], "place", named[1]
    by_address = index.region_of_address(text)
    if by_address and not by_address.endswith("00"):
        return by_address, "address", place
    e = index.enterprises.get(link.uscc) if link is not None else None
    if e is not None and e.region and (by_address is None or e.region.startswith(_prefix(by_address))):
        return e.region, "enterprise", place  # the named enterprise's county is finer than a city in the text
    if by_address:
        return by_address, "address", place
    return None, None, place


def _prefix(code: str) -> str:
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


__all__ = ["EnterpriseLink", "KINDS", "NATURAL", "SAFETY", "Triage", "triage"]
