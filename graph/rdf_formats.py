"""RDF formats by one name each (`turtle`, `jsonld`, `ntriples`), their media types, `Accept`
negotiation, and serialisation — JSON-LD compacted with the shipped context (ontology/jsonld.py).

JSON-LD names its context by URL when one is given (the service's /context.jsonld), else embeds it,
so a file written by the command line reads anywhere without a network.
"""
from __future__ import annotations

import json
from enum import StrEnum

from rdflib import Graph

from riskgraph.ontology.errors import RiskGraphError
from riskgraph.ontology.jsonld import shipped_context


class RdfFormat(StrEnum):
    turtle = "turtle"
    jsonld = "jsonld"
    ntriples = "ntriples"


MEDIA_TYPES = {
    RdfFormat.turtle: "text/turtle",
    RdfFormat.jsonld: "application/ld+json",
    RdfFormat.ntriples: "application/n-triples",
}
#: what rdflib calls them
_RDFLIB = {RdfFormat.turtle: "turtle", RdfFormat.jsonld: "json-ld", RdfFormat.ntriples: "nt"}
SUFFIXES = {RdfFormat.turtle: ".ttl", RdfFormat.jsonld: ".jsonld", RdfFormat.ntriples: ".nt"}


class NotAcceptable(RiskGraphError):
    """The client accepts none of the RDF media types."""


def content_type(fmt: RdfFormat) -> str:
    media = MEDIA_TYPES[fmt]
    return media if fmt is RdfFormat.jsonld else f"{media}; charset=utf-8"


def negotiate(accept: str | None, default: RdfFormat = RdfFormat.jsonld) -> RdfFormat:
    """The format an `Accept` header asks for, by quality (RFC 9110); `*/*` or no header → `default`.

    `application/json` gets JSON-LD (it is JSON); `text/plain` N-Triples (it is plain text)."""
    if not accept or not accept.strip():
        return default
    aliases = {**{media: fmt for fmt, media in MEDIA_TYPES.items()},
               "application/json": RdfFormat.jsonld, "text/plain": RdfFormat.ntriples,
               "application/x-turtle": RdfFormat.turtle}
    ranked: list[tuple[float, int, RdfFormat]] = []
    for position, part in enumerate(accept.split(",")):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in aliases:
            ranked.append((quality, -position, aliases[media]))
        elif media in ("*/*", "application/*", "text/*"):
            fallback = default if media == "*/*" else (RdfFormat.jsonld if media == "application/*" else RdfFormat.turtle)
            ranked.append((quality - 1e-6, -position, fallback))  # a named type wins at equal quality
    if not ranked:
        raise NotAcceptable(f"none of {accept!r} is an RDF format this service writes: "
                            + ", ".join(MEDIA_TYPES.values()))
    return max(ranked)[2]


def serialize(g: Graph, fmt: RdfFormat, *, context_url: str | None = None) -> str:
    """`g` as text; JSON-LD compacted with the shipped context, named by `context_url` when given."""
    if fmt is not RdfFormat.jsonld:
        return g.serialize(format=_RDFLIB[fmt])
    context = shipped_context()["@context"]
    doc = json.loads(g.serialize(format="json-ld", context=context, auto_compact=True, use_native_types=True))
    nodes = doc.get("@graph") if isinstance(doc, dict) and "@graph" in doc else None
    if nodes is None:  # one node (or none) comes out bare: always a "@graph", so readers find nodes in one place
        single = {k: v for k, v in doc.items() if k != "@context"} if isinstance(doc, dict) else {}
        nodes = [single] if single else []
    return json.dumps({"@context": context_url or context, "@graph": nodes}, ensure_ascii=False, indent=1)
