"""Workflows: what people do with the graph, step by step, with every step audited and every write
recorded.

Writes people make (through the API, the command line and the workflows: warning approval, the
hidden-danger rectification loop, public-report verification) all go through one service,
:class:`riskgraph.workflows.writes.WriteService`, which checks a write against the ontology (class, key,
property names and types, vocabulary values, relationship types and ends, SHACL shapes), then writes the
node, its relationships, its provenance and its change log in one statement, the way the loaders record
a source row: a `SourceRecord` naming who wrote, when, through which endpoint and request, and a
`ChangeEvent` per property the write set or changed. The warning workflow (`warnings.py`) and fresh
scores after loads and writes (`freshness.py`) live here too.
"""
