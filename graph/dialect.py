"""The few places where Neo4j 5 and FalkorDB disagree, and nothing else.

Everything outside this module is one Cypher text for both backends. Identifiers spliced
into statements here (labels, property names) come from the ontology and are checked and
backtick-quoted by :func:`ident`; values always travel as parameters.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: what a schema listing says is in place: ("unique" | "range" | "fulltext", label, property)
SchemaItem = tuple[str, str, str]
Reader = Callable[[str], list[dict[str, Any]]]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    """A backtick-quoted identifier; refuses anything that is not a plain ontology name."""
    if not _IDENT.match(name):
        raise ValueError(f"not a valid identifier: {name!r}")
    return f"`{name}`"


def where(conditions: list[str]) -> str:
    """A WHERE clause joining the conditions with AND; nothing when there are none."""
    return (" WHERE " + " AND ".join(conditions)) if conditions else ""


@dataclass(frozen=True)
class Statement:
    """A schema statement: Cypher text, or a raw backend command when Cypher cannot say it."""

    cypher: str | None = None
    command: tuple[str, ...] | None = None
    params: dict | None = None


class Dialect:
    name = "base"
    #: `WHERE id(n) >= $lo AND id(n) < $hi` seeks the range instead of scanning every node (FalkorDB does;
    #: Neo4j plans a scan), so a whole graph is read page by page in linear time
    seeks_node_id_ranges = False
    #: the store keeps one copy of a text many nodes hold, when told to (graph/shared_values.py)
    interns = False

    def shared(self, expression: str) -> str:
        """The text `expression` gives, stored as one copy shared by every node holding it (where
        the store `interns`; elsewhere as it is)."""
        return expression

    def range_index(self, label: str, prop: str) -> Statement:
        raise NotImplementedError

    def unique_key(self, label: str, prop: str) -> list[Statement]:
        raise NotImplementedError

    def fulltext_index(self, label: str, prop: str) -> Statement:
        raise NotImplementedError

    def fulltext_query(self, label: str, prop: str) -> str:
        """Cypher that yields `node, score` for parameter $query over one label's index."""
        raise NotImplementedError

    def schema_in_place(self, read: Reader) -> set[SchemaItem] | None:
        """The keys and indexes the store has (None: not listed; every statement is applied, each
        one idempotent)."""
        return None

    def fulltext_expression(self, tokens: list[str]) -> str:
        """A query string in the backend's full-text syntax that matches all tokens."""
        raise NotImplementedError


class FalkorDialect(Dialect):
    name = "falkordb"
    seeks_node_id_ranges = True

    def __init__(self, *, interns: bool = True) -> None:
        # FalkorDB has intern() since 4.10 (2025); an older server (`falkor://`) stores copies
        self.interns = interns

    def shared(self, expression: str) -> str:
        return f"intern({expression})" if self.interns else expression

    def range_index(self, label: str, prop: str) -> Statement:
        return Statement(cypher=f"CREATE INDEX FOR (n:{ident(label)}) ON (n.{ident(prop)})")

    def unique_key(self, label: str, prop: str) -> list[Statement]:
        ident(label), ident(prop)
        # FalkorDB needs the range index first; the constraint itself is a module command
        return [
            self.range_index(label, prop),
            Statement(command=("GRAPH.CONSTRAINT", "CREATE", "{graph}", "UNIQUE", "NODE", label, "PROPERTIES", "1", prop)),
        ]

    def fulltext_index(self, label: str, prop: str) -> Statement:
        return Statement(cypher="CALL db.idx.fulltext.createNodeIndex($label, $prop)", params={"label": label, "prop": prop})

    def schema_in_place(self, read: Reader) -> set[SchemaItem]:
        # each statement answered "already indexed" in ≈ 30 ms (the store takes its schema lock): two
        # listings of a few ms spare the ≈ 200 statements of an existing store ≈ 6 s on every open
        out: set[SchemaItem] = set()
        for row in read("CALL db.indexes() YIELD label, types, entitytype RETURN label, types, entitytype"):
            if row["entitytype"] != "NODE":
                continue
            for prop, kinds in (row["types"] or {}).items():
                out.update((kind.lower(), row["label"], prop) for kind in kinds if kind in ("RANGE", "FULLTEXT"))
        for row in read("CALL db.constraints() YIELD type, label, properties, entitytype, status "
                        "RETURN type, label, properties, entitytype, status"):
            if row["type"] == "UNIQUE" and row["entitytype"] == "NODE" and row["status"] == "OPERATIONAL" \
                    and len(row["properties"]) == 1:
                out.add(("unique", row["label"], row["properties"][0]))
        return out

    def fulltext_query(self, label: str, prop: str) -> str:
        ident(label)
        return f"CALL db.idx.fulltext.queryNodes('{label}', $query) YIELD node, score"

    def fulltext_expression(self, tokens: list[str]) -> str:
        # RediSearch syntax: space = AND; strip its operator characters from user text
        return " ".join(_strip_operators(t) for t in tokens if _strip_operators(t))


class Neo4jDialect(Dialect):
    name = "neo4j"

    def range_index(self, label: str, prop: str) -> Statement:
        return Statement(
            cypher=f"CREATE INDEX {ident(f'rg_{label}_{prop}')} IF NOT EXISTS FOR (n:{ident(label)}) ON (n.{ident(prop)})"
        )

    def unique_key(self, label: str, prop: str) -> list[Statement]:
        # the constraint brings its own backing index
        return [
            Statement(
                cypher=f"CREATE CONSTRAINT {ident(f'rg_key_{label}')} IF NOT EXISTS "
                f"FOR (n:{ident(label)}) REQUIRE n.{ident(prop)} IS UNIQUE"
            )
        ]

    def fulltext_index(self, label: str, prop: str) -> Statement:
        return Statement(
            cypher=f"CREATE FULLTEXT INDEX {ident(self._fulltext_name(label, prop))} IF NOT EXISTS "
            f"FOR (n:{ident(label)}) ON EACH [n.{ident(prop)}] OPTIONS {{indexConfig: {{`fulltext.analyzer`: 'whitespace'}}}}"
        )

    def fulltext_query(self, label: str, prop: str) -> str:
        return f"CALL db.index.fulltext.queryNodes('{self._fulltext_name(label, prop)}', $query) YIELD node, score"

    def fulltext_expression(self, tokens: list[str]) -> str:
        # Lucene syntax: quote each token and require all of them
        return " AND ".join(f'"{_strip_operators(t)}"' for t in tokens if _strip_operators(t))

    @staticmethod
    def _fulltext_name(label: str, prop: str) -> str:
        ident(label), ident(prop)
        return f"rg_ft_{label}_{prop}"


_OPERATORS = re.compile(r"[\\\"'`|&!~*?:()\[\]{}^@%$<>=,;+\-/.#]")


def _strip_operators(token: str) -> str:
    return _OPERATORS.sub("", token).strip()
