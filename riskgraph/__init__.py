"""RiskGraph: knowledge-graph risk analysis for emergency-management bureaus (一企一档一码).

The repository keeps the design's top-level folders (`ontology/`, `loaders/`, `graph/`, `reasoning/`,
`api/`, `cli/`, `synth/`); this package links them under one import namespace (`riskgraph.graph`, …)
so that the installed wheel adds exactly one top-level package and collides with no other distribution.
"""
