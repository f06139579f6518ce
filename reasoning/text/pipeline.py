"""The Chinese text pipeline: spaCy's blank `zh` with jieba segmentation (no downloaded model) and an
EntityRuler built from the ontology's vocabularies plus the names the graph knows (enterprises, places).

Why a ruler and not a statistical NER: the names that matter are exactly the ones the graph holds, and
a report that writes one of them (冀中化工, 城东化工园区, 触电) should be recognised every time.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from riskgraph.ontology.model import load_ontology

#: entity labels the ruler gives, and the vocabulary each comes from
VOCAB_LABELS = {"ACCIDENT": "AccidentType", "FACTOR": "HazardFactor", "DISASTER": "DisasterType", "CHEMICAL": "NamedChemical"}
ORG, PLACE = "ORG", "PLACE"
_lock = threading.Lock()


@dataclass(frozen=True)
class Mention:
    text: str
    label: str     #: ACCIDENT, FACTOR, DISASTER, CHEMICAL, ORG or PLACE
    id: str        #: the concept's notation, the enterprise's USCC, the place's region code
    start: int     #: character offsets in the text
    end: int


@lru_cache(maxsize=1)
def blank() -> Any:
    """spaCy's blank Chinese language with jieba as its segmenter (jieba's dictionary, no model download)."""
    import spacy

    logging.getLogger("jieba").setLevel(logging.WARNING)
    with _lock:
        return spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})


def tokens(text: str) -> list[str]:
    """The words of a text as the pipeline segments them (spaces dropped)."""
    return [t.text for t in blank().tokenizer(text) if not t.is_space]


def vocabulary_patterns() -> list[dict[str, Any]]:
    """Ruler patterns for every label of the vocabularies the triage reads (two characters or more)."""
    onto = load_ontology()
    out = []
    for label, scheme in VOCAB_LABELS.items():
        for concept in onto.vocabulary(scheme).concepts.values():
            for text in {concept.pref_zh, *concept.alt_labels}:
                if text and len(text) >= 2 and not text.isascii():
                    out.append({"label": label, "pattern": text, "id": concept.notation})
    return out


class Recogniser:
    """The pipeline with a ruler over the vocabularies and the given names; cheap to call, not to build."""

    def __init__(self, names: Iterable[tuple[str, str, str]] = ()) -> None:
        """`names`: (label ORG or PLACE, text, id) triples from the graph."""
        import spacy

        nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
        ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH", "overwrite_ents": True})
        patterns = vocabulary_patterns()
        self._names: dict[str, list[tuple[str, str]]] = {}
        for label, text, ident in names:
            text = text.strip()
            if len(text) >= 2:
                patterns.append({"label": label, "pattern": text, "id": ident})
                self._names.setdefault(text, []).append((label, ident))
        ruler.add_patterns(patterns)  # type: ignore[attr-defined]
        self.nlp = nlp

    def mentions(self, text: str) -> list[Mention]:
        """What the ruler finds, plus graph names the segmentation split differently (substring search)."""
        doc = self.nlp(text)
        found = [Mention(e.text, e.label_, e.ent_id_, e.start_char, e.end_char) for e in doc.ents]
        covered = {(m.start, m.end) for m in found}
        for name, owners in self._names.items():
            at = text.find(name)
            if at >= 0 and (at, at + len(name)) not in covered:
                found.extend(Mention(name, label, ident, at, at + len(name)) for label, ident in owners)
        return sorted(found, key=lambda m: (m.start, -(m.end - m.start)))


__all__ = ["Mention", "ORG", "PLACE", "Recogniser", "blank", "tokens", "vocabulary_patterns"]
