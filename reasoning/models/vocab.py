"""The ontology vocabularies the models read their tables and codes from (never copied into code)."""
from __future__ import annotations

from riskgraph.ontology import Concept, Vocabulary, load_ontology


def vocabulary(name: str) -> Vocabulary:
    return load_ontology().vocabulary(name)


def check_colour(notation: str | None) -> str | None:
    """A RiskColour notation (RED/ORANGE/YELLOW/BLUE), or None; refuse anything else."""
    if notation is None:
        return None
    if notation not in vocabulary("RiskColour"):
        raise ValueError(f"{notation!r} is not a RiskColour notation")
    return notation


def colour_rank(notation: str | None) -> int:
    """Severity of a RiskColour (BLUE 1 … RED 4); 0 for no colour."""
    return 0 if notation is None else rank("RiskColour", notation)


def rank(scheme: str, notation: str, default: int | None = None) -> int:
    """rg:rank of a notation; `default` for an unknown one if given, else ValueError."""
    concept = vocabulary(scheme).concepts.get(notation)
    if concept is None or concept.rank is None:
        if default is not None:
            return default
        raise ValueError(f"{notation!r} is not a ranked {scheme} notation")
    return concept.rank


def top_concept(scheme: str, notation: str) -> Concept | None:
    """The top concept above `notation` (itself if it is one); None for an unknown notation."""
    vocab = vocabulary(scheme)
    concept = vocab.lookup(notation)
    seen: set[str] = set()
    while concept is not None and concept.broader and concept.notation not in seen:
        seen.add(concept.notation)
        concept = vocab.concepts.get(concept.broader[0])
    return concept
