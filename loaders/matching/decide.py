"""Three outcomes: link, review, no match — and the rules that keep a fact off the wrong company.

A candidate may be linked only when
- nothing marks it as another company (a different number, trade, operator, branch, form), no
  stated place contradicts the registry, and the record's own valid USCC is not another one;
- and the evidence is one of: the registered full name itself; 字号 + 行业 with the county
  agreeing or a second field agreeing; a near name (one edit) with a second field agreeing;
- and its learned score clears LINK_SCORE, and no other candidate is as good.
A coarse or missing place confirms nothing. Otherwise the candidates go to review when one of
them is plausible (a name-level neighbour; a 字号-only likeness above REVIEW_SCORE), else the
record has no match and is quarantined.
"""
from __future__ import annotations

from dataclasses import dataclass

from riskgraph.loaders.matching import places
from riskgraph.loaders.matching.compare import Comparison, name_level, stated_places, uscc_relation
from riskgraph.loaders.matching.records import Entry, Query

LINK_SCORE = 0.7
REVIEW_SCORE = 0.05
#: candidates kept on a review item or a /match answer
KEEP = 5
REVIEWABLE = ("exact_full", "exact_body", "near", "near2", "trade")


@dataclass(frozen=True)
class Decision:
    outcome: str                   # link | review | none
    chosen: Comparison | None
    ranked: list[Comparison]       # best first, the ones worth showing
    why: str


def _strength(c: Comparison) -> tuple:
    """How good a candidate is, for telling the best from a rival. A registry entry with no region
    could be in the record's county: it ties with one the county confirms."""
    region = {"agrees": 2, "unknown": 2, "within": 1, "contradicts": 0}[c.region]
    return (-c.rank, len(c.second) > 0, region, c.features.get("form_exact", 0.0))


def linkable(query: Query, c: Comparison) -> str | None:
    """Why the candidate may be linked, or None."""
    if c.blocks or c.region == "contradicts" or c.uscc_contradicts or c.score < LINK_SCORE:
        return None
    if c.level == "exact_full" and (query.parsed is not None and query.parsed.place or c.region == "agrees"):
        return "the registered full name"
    if c.level == "exact_full" and c.second:  # no place on either side: the name alone is not enough
        return f"the full name with {', '.join(c.second)} agreeing"
    if c.level == "exact_body" and c.region == "agrees":
        return "字号 + 行业 with the county agreeing"
    if c.level == "exact_body" and c.second:
        return f"字号 + 行业 with {', '.join(c.second)} agreeing"
    if c.level == "near" and c.second:
        return f"a near name with {', '.join(c.second)} agreeing"
    return None


def excluded(c: Comparison) -> bool:
    """Not even worth a reviewer's time: another place in the name, another valid USCC, or no name likeness."""
    if c.level not in REVIEWABLE:
        return True
    if c.level == "exact_full":
        return False  # the registered name itself: a contradiction elsewhere is for a person to judge
    return c.name_place_contradicts or c.uscc_contradicts or c.region == "contradicts"


def excluded_unseen(query: Query, entry: Entry, stated: list[tuple[str, str]] | None = None) -> bool:
    """What `excluded` says of the comparison of a record with a candidate, told without comparing
    them: from the names' level, the places the record states (`stated`: `stated_places(query)`, if
    already found) and its code, found as `compare` finds them. At 100,000 enterprises ≈ 97 % of a
    name's blocked candidates are excluded — 44 % only weakly alike, 53 % near names in another
    county — and telling costs about a sixth of comparing."""
    q = query.parsed
    if q is None:
        return True  # no name: the level is weak
    stated = stated_places(query) if stated is None else stated
    area = entry.area

    def contradicted() -> bool:
        return any(places.relation(code, area) == places.CONTRADICTS for _, code in stated) \
            or uscc_relation(query, entry) == "contradicts"

    if q.body == entry.parsed.body:  # exact_full, never excluded, or exact_body
        return name_level(q, entry.parsed) != "exact_full" and contradicted()
    return contradicted() or name_level(q, entry.parsed) not in REVIEWABLE


def _rival(c: Comparison, best: Comparison) -> bool:
    """Whether another candidate keeps the best one from a link: it is as good; or the name is more
    nearly its registered name (written under another county's authority, the registered full name
    still names that enterprise, with its legal form as written all the more); or it has a field
    agreeing that disagrees with the best (a legal representative, an address)."""
    if c.blocks:
        return False
    if (-c.rank, c.features.get("form_exact", 0.0)) > (-best.rank, best.features.get("form_exact", 0.0)):
        return True
    if set(c.second) & set(best.against):
        return True
    return c.region != "contradicts" and _strength(c) >= _strength(best)


def decide(query: Query, comparisons: list[Comparison]) -> Decision:
    ranked = sorted(comparisons, key=lambda c: (-c.score, c.rank, c.entry.uscc))
    plausible = [c for c in ranked if not excluded(c)]
    grounds = {id(c): linkable(query, c) for c in plausible}
    able = [c for c in plausible if grounds[id(c)]]
    if able:
        best = max(able, key=_strength)
        rivals = [c for c in plausible if c is not best and _rival(c, best)]
        if not rivals:
            return Decision("link", best, [best] + [c for c in plausible if c is not best][:KEEP - 1],
                            f"linked on {grounds[id(best)]}")
        why = f"{best.entry.name} fits, but so might {', '.join(r.entry.name for r in rivals[:3])}"
        return Decision("review", None, plausible[:KEEP], why)
    # every name-level neighbour is shown; a 字号-only likeness only when the model finds it plausible
    reviewable = [c for c in plausible if c.level != "trade" or c.score >= REVIEW_SCORE]
    if reviewable:
        top = reviewable[0]
        return Decision("review", None, reviewable[:KEEP],
                        f"{top.entry.name} may be meant, but {'; '.join(_missing(top))}")
    if ranked:
        return Decision("none", None, ranked[:KEEP], "no registered enterprise fits: " + "; ".join(ranked[0].reasons[:2]))
    return Decision("none", None, [], "no registered enterprise shares a name key")


def _missing(c: Comparison) -> list[str]:
    """What keeps a plausible candidate from a link, in words."""
    out = list(c.blocks)
    if c.region == "contradicts":
        out.append("a stated place contradicts the registry")
    if c.level in ("near", "near2") and not c.second:
        out.append("a near name needs a second agreeing field (USCC, address, legal representative, phone, licence)")
    if c.level == "exact_body" and c.region != "agrees" and not c.second:
        out.append("the place is not confirmed and no second field agrees")
    if c.level == "trade":
        out.append("only the 字号 matches")
    if c.score < LINK_SCORE and not out:
        out.append(f"its score {c.score:.2f} is below {LINK_SCORE}")
    return out or ["it cannot be told apart from the other candidates"]
