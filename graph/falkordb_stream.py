"""Read the first rows of a FalkorDB reply and hang up: the analyst query's row limit, at the socket.

FalkorDB sends a result set as one reply and has no per-query row cap (RESULTSET_SIZE is global
and would cut the application's own reads). redis-py would parse the whole reply into Python
objects first — 3 million rows took 35–52 s and 1.6 GB — so analyst queries go over a connection
of their own: this reader parses the header and the first `limit + 1` rows off the socket, within
the query's deadline, and the connection is then closed, so the server drops the rest.
"""
from __future__ import annotations

import socket
import time
from typing import Any

import redis
from redis.exceptions import ResponseError

from riskgraph.ontology.errors import RiskGraphError

_CHUNK = 64 * 1024


class Deadline(RiskGraphError):
    """The reply did not arrive within the time left."""


class _Reader:
    """A RESP2/RESP3 reader over a blocking socket that never reads past what it is asked for."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.buf = bytearray()
        self.pos = 0

    def _fill(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Deadline()
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(_CHUNK)
        except TimeoutError:
            raise Deadline() from None
        if not chunk:
            raise redis.exceptions.ConnectionError("the server closed the connection")
        if self.pos > _CHUNK:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += chunk

    def line(self) -> bytes:
        while (end := self.buf.find(b"\r\n", self.pos)) < 0:
            self._fill()
        out = bytes(self.buf[self.pos:end])
        self.pos = end + 2
        return out

    def exact(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        out = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return out

    def value(self) -> Any:
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind in (b"-", b"!"):
            return ResponseError((self.exact(int(rest)) if kind == b"!" else rest).decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"="):
            size = int(rest)
            return None if size < 0 else self.exact(size).decode("utf-8", errors="replace")
        if kind in (b"*", b"~", b">"):
            size = int(rest)
            return None if size < 0 else [self.value() for _ in range(size)]
        if kind == b"%":
            return {self.value(): self.value() for _ in range(int(rest))}
        if kind == b",":
            return float(rest)
        if kind == b"#":
            return rest == b"t"
        if kind == b"_":
            return None
        if kind == b"(":
            return int(rest)
        raise redis.exceptions.ConnectionError(f"unexpected reply type {kind!r}")


def first_rows(pool: redis.ConnectionPool, command: list[Any], row_limit: int, deadline: float) -> tuple[list[Any], bool]:
    """Send one GRAPH.(RO_)QUERY on a fresh connection and return the reply as falkordb's
    QueryResult expects it — [header, rows, stats] — with at most row_limit + 1 rows; and whether
    the server had more. Raises Deadline, ResponseError (the server's error) or ConnectionError."""
    conn = pool.connection_class(**pool.connection_kwargs)
    try:
        conn.connect()
        conn.send_command(*command)
        reader = _Reader(conn._sock, deadline)
        head = reader.line()
        if head[:1] == b"-":
            raise ResponseError(head[1:].decode(errors="replace"))
        if head[:1] != b"*":
            raise redis.exceptions.ConnectionError(f"unexpected reply {head[:20]!r}")
        parts = int(head[1:])
        if parts < 3:  # statistics only (no RETURN), or an error
            reply = [reader.value() for _ in range(parts)]
            if reply and isinstance(reply[-1], ResponseError):
                raise reply[-1]
            return reply, False
        header = reader.value()
        if isinstance(header, ResponseError):
            raise header
        count_line = reader.line()
        total = int(count_line[1:])
        rows = [reader.value() for _ in range(min(total, row_limit + 1))]
        if total <= row_limit + 1:
            stats = reader.value()
            if isinstance(stats, ResponseError):
                raise stats
        else:
            stats = []
        return [header, rows, stats], total > row_limit
    finally:
        conn.disconnect()  # the rest of a long reply is dropped with the connection
