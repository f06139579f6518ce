"""Neo4j 5 backend through the official driver: for production, clusters and Aura."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import neo4j
from neo4j import GraphDatabase, unit_of_work
from neo4j.exceptions import ClientError, ConstraintError, Neo4jError, ServiceUnavailable
from neo4j.graph import Node, Path, Relationship

from riskgraph.graph.dialect import Neo4jDialect
from riskgraph.graph.store import (
    INDEX_WAIT_S,
    ConstraintViolation,
    GraphStore,
    QueryResult,
    QueryTimeout,
    ReadOnlyViolation,
    StoreError,
)


class Neo4jStore(GraphStore):
    """Reads go through read transactions (routable to followers); writes through write transactions."""

    dialect = Neo4jDialect()

    def __init__(self, uri: str, *, user: str | None, password: str | None, database: str | None = None,
                 **options: Any) -> None:
        super().__init__(**options)
        self.url = uri
        self.database = database
        if user and password is None:
            raise StoreError(f"Neo4j at {uri}: a user is given ({user}) but no password (set NEO4J_PASSWORD)")
        auth = (user, password) if user and password is not None else None
        self._driver = GraphDatabase.driver(uri, auth=auth)
        try:
            self._driver.verify_connectivity()
        except (ServiceUnavailable, Neo4jError, OSError) as exc:
            self._driver.close()
            raise StoreError(f"Neo4j at {uri} is not reachable: {type(exc).__name__}") from None

    def _run(self, cypher: str, params: Mapping[str, Any] | None, *, read_only: bool,
             timeout_ms: int, row_limit: int | None = None) -> QueryResult:
        @unit_of_work(timeout=timeout_ms / 1000)
        def work(tx: neo4j.ManagedTransaction) -> QueryResult:
            result = tx.run(cypher, dict(params or {}))
            columns = list(result.keys())
            rows: list[list[Any]] = []
            truncated = False
            for record in result:
                if row_limit is not None and len(rows) >= row_limit:
                    truncated = True
                    break
                rows.append([_plain(v) for v in record.values()])
            result.consume()
            return QueryResult(columns=columns, rows=rows, truncated=truncated)

        mode = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS
        try:
            with self._driver.session(database=self.database, default_access_mode=mode) as session:
                return session.execute_read(work) if read_only else session.execute_write(work)
        except ConstraintError as exc:
            raise ConstraintViolation(exc.message or str(exc)) from None
        except ClientError as exc:
            code = exc.code or ""
            if "TransactionTimedOut" in code or "Terminated" in code:
                raise QueryTimeout(f"query stopped at its time limit ({code})") from None
            if read_only and ("AccessMode" in code or "Forbidden" in code):
                raise ReadOnlyViolation(f"this entry is read-only; the query tried to write ({code})") from None
            raise StoreError(f"{code}: {exc.message}") from None
        except Neo4jError as exc:
            raise StoreError(f"{exc.code}: {exc.message}") from None

    def wait_for_indexes(self, limit_s: float = INDEX_WAIT_S) -> int:
        """Neo4j populates a new index in the background too: wait for it (db.awaitIndexes)."""
        building = sum(1 for row in self.read("SHOW INDEXES YIELD state RETURN state") if row["state"] != "ONLINE")
        if building:
            self._run("CALL db.awaitIndexes($s)", {"s": int(limit_s)}, read_only=True, timeout_ms=int(limit_s * 1000) + 5_000)
        return building

    def _label_scans(self, cypher: str, params: Mapping[str, Any] | None) -> list[str]:
        try:
            with self._driver.session(database=self.database, default_access_mode=neo4j.READ_ACCESS) as session:
                plan = session.run("EXPLAIN " + cypher, dict(params or {})).consume().plan or {}
        except Neo4jError as exc:
            raise StoreError(f"{exc.code}: {exc.message}") from None
        return _scans(plan)

    def _command(self, *args: str) -> Any:
        raise StoreError(f"Neo4j has no raw command {args[0]!r}: use Cypher")

    def close(self) -> None:
        self._driver.close()


def _plain(value: Any) -> Any:
    if isinstance(value, Node):
        return {"_labels": sorted(value.labels), **dict(value)}
    if isinstance(value, Relationship):
        return {"_type": value.type, **dict(value)}
    if isinstance(value, Path):
        return {"nodes": [_plain(n) for n in value.nodes], "edges": [_plain(r) for r in value.relationships]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _scans(plan: Mapping[str, Any]) -> list[str]:
    """The labels a plan (the driver's EXPLAIN summary) scans whole: NodeByLabelScan's
    details read `n:Label`; AllNodesScan reads every node ('*')."""
    operator = str(plan.get("operatorType", "")).split("@")[0]
    found: list[str] = []
    if operator == "NodeByLabelScan":
        found.append(str(plan.get("args", {}).get("Details", "")).rpartition(":")[2].strip("` "))
    elif operator == "AllNodesScan":
        found.append("*")
    for child in plan.get("children", []):
        found.extend(_scans(child))
    return found
