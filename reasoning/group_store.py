"""The enterprise groups of the last run, kept with the INFORM results, so an incremental run reads one county.

INFORM (regions, parks, industries) and CCD are normalised over all their peers: one enterprise's change
can move every county's score, so they are recomputed whole. What they are computed from — the
measures per (regionCode, parkCode, supervision industry, industry class), `graph_facts.enterprise_groups`
— changes only in the counties of the changed enterprises, and reading it for the whole province
costs seconds per thousand enterprises. So every run keeps the groups it used in the components of
the INFORM Assessments: each county's groups in its own (`enterpriseGroups`), groups under no county
and how they were read (date, windows) in the province's (`otherEnterpriseGroups`,
`enterpriseGroupsRead`). An incremental run of the same date and windows takes the untouched
counties' groups from there and reads the touched counties again (`touched`): the same groups a
whole read gives, so the same results. Otherwise (another day, another configuration, a change
outside any county, no province result yet) it reads the whole province as before.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from riskgraph.graph.packed_content import assessment_components, with_components
from riskgraph.graph.store import GraphStore
from riskgraph.reasoning import graph_facts as gf
from riskgraph.reasoning import run_stamps
from riskgraph.reasoning.models.config import load_config
from riskgraph.reasoning.run_context import Run
from riskgraph.reasoning.run_stamps import AT_MS

GROUPS = "enterpriseGroups"
OTHER_GROUPS = "otherEnterpriseGroups"
READING = "enterpriseGroupsRead"


def _county_codes(regions: Mapping[str, gf.RegionRow]) -> set[str]:
    return {code for code, r in regions.items() if r.level == "COUNTY"}


def encode(groups: Mapping[gf.GroupKey, Counter], regions: Mapping[str, gf.RegionRow],
           ) -> tuple[dict[str, list[list[Any]]], list[list[Any]]]:
    """Per county [[park, si, ic, measures], …]; the groups of any other regionCode as [[region, park, si, ic, measures], …]."""
    counties = _county_codes(regions)
    per_county: dict[str, list[list[Any]]] = defaultdict(list)
    other: list[list[Any]] = []
    for (region, park, si, ic), measures in gf.sorted_groups(groups).items():
        if region in counties:
            per_county[str(region)].append([park, si, ic, dict(measures)])
        else:
            other.append([region, park, si, ic, dict(measures)])
    return dict(per_county), other


#: the kept groups of the INFORM results this process parsed last, by Assessment id: (resultDigest,
#: the JSON keys that hold groups). A long-running service re-assesses after every write; most
#: counties' results are confirmed unchanged in between, and parsing them all again grows with the province.
_PARSED: dict[str, tuple[str, dict[str, Any]]] = {}


def _kept_parts(store: GraphStore, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Assessment id → the group-holding keys of its components JSON, parsed only when its digest moved."""
    stale = {row["id"] for row in rows if row["d"] is None or _PARSED.get(row["id"], ("",))[0] != row["d"]}
    out = {row["id"]: _PARSED[row["id"]][1] for row in rows if row["id"] not in stale}
    for row in with_components(store, store.read(
            f"UNWIND $ids AS i MATCH (a:Assessment {{id: i}}) RETURN i, {assessment_components('a')}, a.resultDigest AS d",
            {"ids": sorted(stale)})) if stale else ():
        doc = json.loads(row["components"]) if row["components"] else {}
        out[row["i"]] = parts = {k: doc[k] for k in (GROUPS, OTHER_GROUPS, READING) if k in doc}
        if row["d"] is not None:  # the digest read with the JSON: a result rewritten in between is parsed as it is now
            _PARSED[row["i"]] = (row["d"], parts)
    return out


def stored(run: Run) -> dict[gf.GroupKey, Counter] | None:
    """The groups the last run kept, or None when they cannot stand in for a whole read."""
    rows = run.store.read("MATCH (a:Assessment)-[:ASSESSES]->(r:Region) "
                          "WHERE a.method = $m AND r.regionLevel IN $levels "
                          "RETURN r.code AS code, r.regionLevel AS level, a.id AS id, a.method AS method, a.resultDigest AS d, "
                          f"a.asOf AS asOf, a.{AT_MS} AS {AT_MS}",
                          {"m": load_config("inform")["method"], "levels": ["COUNTY", "PROVINCE"]})
    runs = run_stamps.latest(run.store)
    parts = _kept_parts(run.store, rows)
    counties = _county_codes(run.regions())
    reading = run.group_reading()
    groups: dict[gf.GroupKey, Counter] = {}
    seen: set[str] = set()
    province = 0
    for row in rows:
        doc = parts.get(row["id"], {})
        if row["level"] == "PROVINCE":
            if doc.get(READING) != reading or OTHER_GROUPS not in doc:
                return None
            province += 1
            for region, park, si, ic, measures in doc[OTHER_GROUPS]:
                groups[(region, park, si, ic)] = Counter(measures)
        elif row["code"] in counties:
            # the date its facts run to: its own, or that of the later run that found it unchanged
            if run_stamps.current(row, runs)["asOf"] != reading["asOf"] or GROUPS not in doc:
                return None
            seen.add(row["code"])
            for park, si, ic, measures in doc[GROUPS]:
                groups[(row["code"], park, si, ic)] = Counter(measures)
    if province != 1 or seen != counties:
        return None
    return groups


def previous_places(run: Run, enterprises: Iterable[str]) -> dict[str, tuple[str | None, str | None]] | None:
    """(regionCode, supervision industry) each enterprise had at its last assessment (its rating's
    components); None when an assessment predates `regionCode` there (the whole province is read then)."""
    method = load_config("enterprise_rating")["method"]
    ids = [f"{method}:Enterprise:{key}" for key in sorted(set(enterprises))]
    out: dict[str, tuple[str | None, str | None]] = {}
    for row in with_components(run.store, run.store.read(
            f"UNWIND $ids AS i MATCH (a:Assessment {{id: i}}) RETURN i, {assessment_components('a')}", {"ids": ids})):
        doc = json.loads(row["components"]) if row["components"] else {}
        if "regionCode" not in doc:
            return None
        out[str(row["i"]).split(":", 2)[2]] = (doc["regionCode"], doc.get("supervisionIndustry"))
    return out


def current_places(run: Run, enterprises: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
    """(regionCode, supervision industry) each enterprise has in the graph now (gone ones are left out)."""
    return {str(r["k"]): (r["r"], r["si"]) for r in run.store.read(
        "UNWIND $keys AS k MATCH (e:Enterprise {uscc: k}) RETURN k, e.regionCode AS r, e.supervisionIndustry AS si",
        {"keys": sorted(set(enterprises))})}


def touched(run: Run, now: Mapping[str, tuple[str | None, str | None]],
            previous: Mapping[str, tuple[str | None, str | None]]) -> set[str] | None:
    """The counties whose groups the changed enterprises are in now (`now`, `current_places`) or were in
    at their last assessment (`previous`); None when one is in no county (its group is kept with the
    province's: the whole province is read then)."""
    counties = _county_codes(run.regions())
    out: set[str] = set()
    for key in sorted(set(now) | set(previous)):
        # neither in the graph nor assessed before (created and deleted in between): counted nowhere
        before = {previous[key][0]} if key in previous else set()
        for region in before | ({now[key][0]} if key in now else set()):
            if region not in counties:
                return None
            out.add(str(region))
    return out


def merge(kept: Mapping[gf.GroupKey, Counter], fresh: Mapping[gf.GroupKey, Counter], counties: set[str],
          ) -> dict[gf.GroupKey, Counter]:
    """The kept groups outside the re-read counties, and the re-read ones."""
    out = {key: measures for key, measures in kept.items() if key[0] not in counties}
    out.update(fresh)
    return gf.sorted_groups(out)
