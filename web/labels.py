"""Chinese for everything a page shows, from the ontology and its vocabularies (never spelled here).

Classes and properties read their rdfs:label@zh, vocabulary values their concept's
skos:prefLabel@zh, a region code the name of the Region node it keys. A value the ontology cannot
name in Chinese (an unknown notation) is shown as "—" rather than as the code.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.ontology.anchors import REGION, REGION_CODE
from riskgraph.ontology.model import Disclosure, Ontology

UNKNOWN = "—"
#: the colour of a value the RiskColour vocabulary does not know
NEUTRAL = "#5b6470"
#: properties a page never lists as such: keys and machine fields are shown through their meaning (a
#: colour's method, a warning's rule and CAP codes are identifiers with no Chinese label: the colour,
#: the warning's name and level say it in Chinese)
HIDDEN = frozenset({"id", "evidence", "components", "photos", "dataQuality", "revision", "handledBy", "analysis",
                    "usccQuality", "method", "methodVersion", "metric", "reviewState", "thresholds", "stateNote",
                    "riskColourMethod", "secondaryRiskColourMethod", "ruleId", "ruleVersion", "triggerKey", "warningType",
                    "urgency", "warningSeverity", "certainty", "responsibleEnterprise"})
#: properties that hold a region's GB/T 2260 code: shown as the region's name
REGION_PROPS = frozenset({REGION_CODE, "parkCode"})


@dataclass(frozen=True)
class Colour:
    notation: str | None
    label: str          #: 红 / 橙 / 黄 / 蓝 (skos:prefLabel)
    hex: str            #: rg:colourHex
    scheme: str         #: the scheme's label: 安全风险等级（四色）


class Labels:
    """Labels for one ontology, with region names read once per store."""

    def __init__(self, onto: Ontology, store: GraphStore | None = None) -> None:
        self.onto = onto
        self.store = store
        self._regions: dict[str, str] = {}

    # ------------------------------------------------------------------ classes, properties, relations
    def cls(self, label: str) -> str:
        c = self.onto.classes.get(label)
        return (c.label_zh if c and c.label_zh else None) or UNKNOWN

    def prop(self, label: str, name: str) -> str:
        p = self.onto.properties_of(label).get(name) if label in self.onto.classes else self.onto.properties.get(name)
        return (p.label_zh.replace("（JSON）", "") if p and p.label_zh else None) or UNKNOWN

    # ------------------------------------------------------------------ values
    def concept(self, scheme: str, notation: Any) -> str:
        vocab = self.onto.vocabularies.get(scheme)
        if vocab is None or notation is None:
            return UNKNOWN
        concept = vocab.concepts.get(str(notation)) or vocab.lookup(str(notation))
        return concept.pref_zh if concept and concept.pref_zh else UNKNOWN

    def scheme(self, label: str, name: str) -> str | None:
        p = self.onto.properties_of(label).get(name) if label in self.onto.classes else None
        return p.vocabulary if p else None

    def options(self, scheme: str, notations: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """(notation, Chinese label) of a scheme's concepts (for a form's choices), ranked where ranked."""
        vocab = self.onto.vocabulary(scheme)
        concepts = [vocab.concepts[n] for n in notations] if notations is not None else list(vocab.concepts.values())
        concepts.sort(key=lambda c: (c.rank is None, c.rank or 0, c.notation))
        return [(c.notation, c.pref_zh) for c in concepts]

    def top_options(self, scheme: str) -> list[tuple[str, str]]:
        vocab = self.onto.vocabulary(scheme)
        return [(c.notation, c.pref_zh) for c in sorted(vocab.concepts.values(), key=lambda c: c.notation) if not c.broader]

    def value(self, label: str, name: str, value: Any) -> str:
        """One property's value as a person reads it."""
        if value is None or value == "" or value == []:
            return UNKNOWN
        if name in REGION_PROPS:
            return self.region(str(value))
        scheme = self.scheme(label, name)
        if scheme:
            items = value if isinstance(value, list) else [value]
            return "、".join(self.concept(scheme, v) for v in items)
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        if isinstance(value, (dict,)):
            return UNKNOWN
        if isinstance(value, float):  # a score to four places, not a float's sixteen
            return f"{value:.4f}".rstrip("0").rstrip(".")
        text = str(value)
        if len(text) >= 19 and text[10:11] == "T":  # an ISO time: day and minute
            return text[:16].replace("T", " ")
        return text

    def rows(self, label: str, props: Mapping[str, Any], *, skip: Iterable[str] = ()) -> list[tuple[str, str]]:
        """(Chinese label, value) for the properties a page lists, in the ontology's order."""
        skipped = set(skip) | HIDDEN
        declared = self.onto.properties_of(label)
        out = []
        for name in declared:
            if name in skipped or name not in props or props[name] in (None, "", []):
                continue
            if declared[name].disclosure >= Disclosure.INTERNAL:  # bookkeeping is for the analysts' API, not a page
                continue
            if _is_json(declared[name].label_zh, props[name]):
                continue
            out.append((self.prop(label, name), self.value(label, name, props[name])))
        return out

    # ------------------------------------------------------------------ colours, regions
    def colour(self, notation: str | None) -> Colour:
        vocab = self.onto.vocabulary("RiskColour")
        concept = vocab.concepts.get(notation or "")
        if concept is None:
            return Colour(None, "未评定", NEUTRAL, vocab.label_zh)
        return Colour(concept.notation, concept.pref_zh, str(concept.data.get("colourHex") or NEUTRAL), vocab.label_zh)

    def colours(self) -> list[Colour]:
        vocab = self.onto.vocabulary("RiskColour")
        ranked = sorted(vocab.concepts.values(), key=lambda c: -(c.rank or 0))
        return [self.colour(c.notation) for c in ranked]

    def region(self, code: str) -> str:
        if code in self._regions:
            return self._regions[code]
        name = UNKNOWN
        if self.store is not None:
            key = ident(self.onto.key_of(REGION))
            rows = self.store.read(f"MATCH (r:{ident(REGION)} {{{key}: $c}}) RETURN r.name AS n", {"c": code})
            if rows and rows[0]["n"]:
                name = str(rows[0]["n"])
        self._regions[code] = name
        return name

    def title(self, label: str, props: Mapping[str, Any]) -> str:
        """How a record is named in a list: its name, else its kind and first vocabulary value and date."""
        if props.get("name"):
            return str(props["name"])
        parts = [self.cls(label)]
        for name, p in self.onto.properties_of(label).items():
            if p.vocabulary and props.get(name) not in (None, "", []) and name not in HIDDEN:
                parts.append(self.value(label, name, props[name]))
                break
        for name, p in self.onto.properties_of(label).items():
            if p.is_time and props.get(name):
                parts.append(str(props[name])[:10])
                break
        return " · ".join(parts)


def _is_json(label_zh: str, value: Any) -> bool:
    if "JSON" not in label_zh:
        return False
    if isinstance(value, (dict, list)):
        return True
    try:
        json.loads(str(value))
        return True
    except ValueError:
        return False


@lru_cache(maxsize=4)
def labels_for(onto: Ontology) -> Labels:
    """Store-less labels (no region names), shared."""
    return Labels(onto)
