"""The Chinese the bureau's pages print, in one JSON document taken from the ontology: class and
property names (rdfs:label@zh), relation names, every vocabulary's prefLabel@zh per notation, the
four risk colours with their hex, the classified-supervision tag names. The pages render the JSON
API's answers with it, so no label is spelled in JavaScript and no internal code reaches a page.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from riskgraph.ontology.model import Disclosure, Ontology
from riskgraph.reasoning.models.config import load_config
from riskgraph.web.labels import HIDDEN, NEUTRAL, Labels


def document(onto: Ontology) -> dict[str, Any]:
    """Everything a page needs to name what the API returns."""
    labels = Labels(onto)
    classes, props, vocab_of, internal = {}, {}, {}, {}
    for name in onto.classes:
        classes[name] = labels.cls(name)
        declared = onto.properties_of(name)
        props[name] = {p: labels.prop(name, p) for p in declared}
        vocab_of[name] = {p: d.vocabulary for p, d in declared.items() if d.vocabulary}
        # bookkeeping (internal level) is for the analysts' API and the audit, not for a page (as web/labels.py)
        internal[name] = sorted(p for p, d in declared.items() if d.disclosure >= Disclosure.INTERNAL)
    vocabularies = {name: {"label": v.label_zh, "concepts": {n: c.pref_zh for n, c in v.concepts.items() if c.pref_zh}}
                    for name, v in onto.vocabularies.items()}
    colours = [{"notation": c.notation, "label": c.label, "hex": c.hex} for c in labels.colours()]
    return {
        "classes": classes, "properties": props, "vocabularyOf": vocab_of, "internal": internal,
        "hidden": sorted(HIDDEN), "relations": {r.name: r.label_zh for r in onto.relations.values() if r.label_zh},
        "relationTypes": {r.type: r.label_zh for r in onto.relations.values() if r.label_zh},
        "vocabularies": vocabularies, "colours": colours, "neutral": NEUTRAL, "colourScheme": labels.colour(None).scheme,
        "tags": {str(k): str(v) for k, v in load_config("enterprise_risk")["tags"].items()},
    }


@lru_cache(maxsize=2)
def document_bytes(onto: Ontology) -> bytes:
    return json.dumps(document(onto), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
