"""The change log for what the models derive: a colour or a hazard level an assessment changed.

Loaders log the facts a newer export changes (ChangeEvent, loaders/engine.py); the models set
derived properties (Enterprise.riskColour, RiskPoint.riskColour, HazardSource.majorHazardLevel,
Region.riskColour) without a trace. `Snapshot.take` reads them before a run and `log_changes` writes a
ChangeEvent (sourceSystem "assess") for each one the run changed, so watches and the warning rules
("a new or raised RED/ORANGE colour", "a major hazard source whose level rises") see them.

A full run logs changes between two values only (the first assessment of a province is a baseline,
not a change); an incremental run over touched subjects logs a first value too (none → RED is a new
red subject).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ
from riskgraph.ontology.anchors import CHANGE_EVENT

SOURCE = "assess"
#: (label, derived property) pairs the models set
TRACKED: tuple[tuple[str, str], ...] = (("Enterprise", "riskColour"), ("RiskPoint", "riskColour"),
                                        ("HazardSource", "majorHazardLevel"), ("Region", "riskColour"))


@dataclass
class Snapshot:
    values: dict[tuple[str, str, str], Any] = field(default_factory=dict)   # (label, key, prop) → value
    keys: dict[str, set[str] | None] = field(default_factory=dict)          # label → keys read (None: all)

    @classmethod
    def take(cls, store: GraphStore, subjects: Mapping[str, Iterable[str]] | None = None) -> Snapshot:
        """The tracked values now: of every node (None), or of the given keys per label."""
        snap = cls()
        for label, prop in TRACKED:
            if label not in store.ontology.labels:
                continue
            key = store.ontology.key_of(label)
            if subjects is None:
                rows = store.read(f"MATCH (n:{ident(label)}) RETURN n.{ident(key)} AS k, n.{ident(prop)} AS v")
                snap.keys[label] = None
            else:
                keys = sorted(set(subjects.get(label, ())))
                snap.keys[label] = set(keys)
                if not keys:
                    continue
                rows = store.read(f"UNWIND $keys AS k MATCH (n:{ident(label)} {{{ident(key)}: k}}) "
                                  f"RETURN k, n.{ident(prop)} AS v", {"keys": keys})
            for r in rows:
                snap.values[(label, str(r["k"]), prop)] = r["v"]
        return snap


def log_changes(store: GraphStore, before: Snapshot, *, include_new: bool, at: dt.datetime | None = None,
                run: str = "") -> list[dict[str, Any]]:
    """Compare with the store now and write one ChangeEvent per changed value; returns the events."""
    at = at or dt.datetime.now(LOCAL_TZ).replace(microsecond=0)
    subjects = {label: keys for label, keys in before.keys.items() if keys is not None}
    after = Snapshot.take(store, subjects if len(subjects) == len(before.keys) else None)
    events = []
    for (label, key, prop), new in sorted(after.values.items(), key=lambda kv: kv[0]):
        old = before.values.get((label, key, prop))
        if new == old or new is None or (old is None and not include_new):
            continue
        digest = hashlib.sha256(f"{label}|{key}|{prop}|{old}|{new}|{at.isoformat()}|{run}".encode()).hexdigest()[:24]
        events.append({"id": digest, "entityLabel": label, "entityKey": key, "property": prop,
                       "oldValue": json.dumps(old, ensure_ascii=False), "newValue": json.dumps(new, ensure_ascii=False),
                       "changedAt": at, "sourceSystem": SOURCE, "loadId": run or None})
    if events:
        store.upsert_nodes(CHANGE_EVENT, events)
    return events
