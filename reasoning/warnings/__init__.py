"""Warning rules (风险精准预警): versioned TOML thresholds and pure functions from facts to warning candidates.

    rules = load_rules()                                   # rules.toml, parsed once
    facts = read_facts(store, as_of=now)                   # read.py: the graph → facts.py dataclasses
    candidates = evaluate(facts, rules, now)               # evaluate.py: pure, no store

A candidate names its rule, type, level (RiskColour), subject, responsible enterprise and person,
region, title and evidence (node keys and the values the rule read). Recording candidates as
Warning nodes — a repeated trigger updating the open warning, push plans, approval — is
workflows/warnings.py.
"""
from __future__ import annotations

from riskgraph.reasoning.warnings.evaluate import Candidate, Evidence, evaluate
from riskgraph.reasoning.warnings.rules import Rules, load_rules

__all__ = ["Candidate", "Evidence", "Rules", "evaluate", "load_rules"]
