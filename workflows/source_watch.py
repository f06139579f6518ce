"""Source systems that stop delivering raise a warning (the `source_stale` rule of rules.toml).

    report = check_sources(store, data_dir)     # run by the ingest worker every RISKGRAPH_SENSOR_CHECK_S

A registered source's expected interval is its stale limit (registry.py); when it last delivered is
the load ledger's newest successful entry for it (loaders/ledger.py: folder loads, pulls, the live
stream's hourly entries). The rule's trigger key carries the silence's last success, so the same
silence finds its open warning on every check (nothing repeats), and a silence after the source
delivered again is a new warning. The candidates go through the warning workflow's `record` like
every other rule's: a draft with its push plan, approval, publication to the channels.
"""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from riskgraph.graph.dialect import ident
from riskgraph.graph.store import GraphStore
from riskgraph.graph.values import LOCAL_TZ, from_epoch_ms
from riskgraph.loaders.ledger import last_loads
from riskgraph.loaders.live.registry import Source, SourceRegistry
from riskgraph.notify.channels import ChannelRegistry, channel_registry
from riskgraph.reasoning.warnings import Rules, evaluate, load_rules
from riskgraph.reasoning.warnings.facts import SourceFact, WarningFacts
from riskgraph.workflows.warnings import WARNING, GenerationReport, now, record

log = logging.getLogger("riskgraph.sources")
RULE_TYPE = "source_stale"


def _registered_at(source: Source) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(source.created_at)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)


def source_facts(store: GraphStore, sources: list[Source]) -> list[SourceFact]:
    """Each registered source with an expected interval, and its last success from the ledger."""
    watched = [s for s in sources if s.stale_limit_s]
    if not watched:
        return []
    ledger = last_loads(store)
    out = []
    for s in watched:
        ok = ledger.get(s.name, (0, None, None))[2]
        at_ms = ok.get("finishedAtMs") if ok else None
        out.append(SourceFact(s.name, s.stale_limit_s, from_epoch_ms(int(at_ms)) if at_ms is not None else None,
                              str(ok["id"]) if ok and ok.get("id") else None, _registered_at(s), s.title, s.kind))
    return out


def check_sources(store: GraphStore, data_dir: Path, *, rules: Rules | None = None,
                  registry: ChannelRegistry | None = None, as_of: dt.datetime | None = None) -> GenerationReport:
    """Run the silence rule over every registered source now; a new silence becomes a draft warning."""
    rules = rules or load_rules()
    ids = [r for r in rules.rule_ids if rules.rule(r)["type"] == RULE_TYPE]
    if not ids:
        return GenerationReport()
    facts = WarningFacts(as_of=as_of or now(), sources=source_facts(store, SourceRegistry.in_dir(data_dir).list()))
    candidates = evaluate(facts, rules, ids)
    if not candidates:
        return GenerationReport()
    report = record(store, candidates, rules, registry=registry if registry is not None else channel_registry(data_dir))
    if report.created:
        by_key = {c.trigger_key: c for c in candidates}
        for r in store.read(f"MATCH (w:{ident(WARNING)}) WHERE w.id IN $ids RETURN w.id AS id, w.triggerKey AS k", {"ids": report.created}):
            said = by_key[r["k"]].evidence[0].values
            log.warning("source %s stopped delivering: last success %s, %s s ago (expected within %s s); draft warning %s",
                        said["source"], said.get("lastSuccessAt") or "never", said["lagSeconds"], said["staleAfterSeconds"],
                        r["id"])
    return report
