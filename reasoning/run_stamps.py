"""When a result was last computed: its own stamp, or its method's latest complete run.

A result found unchanged by a run is confirmed without a write (reasoning/writeback.py): FalkorDB
re-indexes a node on any SET, even of the value it holds, and the index's collector then forks the
whole server (README "Graph stores"), so setting the run's time on every confirmed result kept the
server forking through a day's run. Instead a run that covered every subject of a (method, label)
— the one that removes the stale results — stamps one `AssessmentRun` node, id "{method}:{label}".

A result's own stamp (computedAt, asOf, dataLoadId, dataLoadedAt) says when the run that wrote it
ran. Every result of that method and label standing after a complete run was written or found
unchanged by it, so the result's current stamp is the later of its own and its run's (`current`):
what portraits, the focus list, exports and the kept INFORM groups read.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from riskgraph.graph.store import GraphStore
from riskgraph.ontology.anchors import ASSESSMENT_RUN
from riskgraph.ontology.model import TIME_SUFFIX

if TYPE_CHECKING:  # the API reads stamps without the reasoning's run context
    from riskgraph.reasoning.run_context import Run

#: the properties a stamp is made of, on an Assessment and on an AssessmentRun (ontology/riskgraph.ttl)
STAMP = ("computedAt", "asOf", "dataLoadId", "dataLoadedAt")
#: the epoch form of computedAt, which orders stamps
AT_MS = "computedAt" + TIME_SUFFIX
#: a stamp's properties with their epoch companions
_STORED = (*STAMP, AT_MS, "dataLoadedAt" + TIME_SUFFIX)

Runs = Mapping[str, Mapping[str, Any]]


def run_id(method: str, label: str) -> str:
    return f"{method}:{label}"


def run_of(assessment_id: str, method: str) -> str:
    """The AssessmentRun id of an assessment, from its id ("{method}:{label}:{key}…") and method."""
    label = assessment_id[len(method) + 1:].split(":", 1)[0]
    return run_id(method, label)


def of(run: Run) -> dict[str, Any]:
    """The run's stamp: when it ran, the date its facts run to, the newest load it saw. Set on every
    result it writes, and on the AssessmentRun of each (method, label) it covers whole."""
    data = run.data_version()
    return dict(zip(STAMP, (run.computed_at, run.as_of, data["loadId"], data["loadedAt"]), strict=True))


def record(run: Run, method: str, label: str) -> None:
    """Stamp the (method, label) run: it covered every subject of the label."""
    run.store.upsert_nodes(ASSESSMENT_RUN, [{"id": run_id(method, label), **of(run)}])


def latest(store: GraphStore) -> dict[str, dict[str, Any]]:
    """Every (method, label) run's stamp, by run id: a few dozen nodes."""
    names = ", ".join(f"r.{name} AS {name}" for name in _STORED)
    return {str(row["id"]): {name: row[name] for name in _STORED}
            for row in store.read(f"MATCH (r:{ASSESSMENT_RUN}) RETURN r.id AS id, {names}")}


def current(assessment: Mapping[str, Any], runs: Runs) -> dict[str, Any]:
    """The assessment's current stamp (STAMP and their epoch companions): its own, or its method's
    latest complete run's where that ran later. `assessment` gives its id, method and own stamp."""
    own = {name: assessment.get(name) for name in _STORED}
    ident, method = assessment.get("id"), assessment.get("method")
    run = runs.get(run_of(str(ident), str(method))) if ident is not None and method is not None else None
    ran, wrote = (run or {}).get(AT_MS), own[AT_MS]
    if run is None or ran is None or (wrote is not None and int(wrote) >= int(ran)):
        return own
    return dict(run)
