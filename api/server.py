"""Run the HTTP service with uvicorn (`riskgraph serve [--workers N]`)."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from riskgraph import graph
from riskgraph.api.app import create_app
from riskgraph.api.auth import load_secret
from riskgraph.api.limits import Limits
from riskgraph.api.read_cache import ReadCache
from riskgraph.api.settings import Settings
from riskgraph.graph import logs
from riskgraph.graph.connect import ENV_DATA_DIR, ENV_URL

log = logging.getLogger("riskgraph.api")


#: how long a worker may leave uvicorn's supervisor's ping unanswered before it is killed and replaced:
#: uvicorn's 5 s is short for a worker still importing and warming its tables on a loaded two-core
#: machine; a hung worker is still replaced, half a minute later
WORKER_HEALTHCHECK_S = 30


def serve(store_url: str | None, host: str = "127.0.0.1", port: int = 8000, *,
          data_dir: Path | None = None, log_level: str | None = None, proxy_headers: bool = False,
          forwarded_allow_ips: str | None = None, workers: int = 1) -> None:
    """Serve until interrupted.

    One worker: one process, the store opened once in the app's lifespan. Several workers: uvicorn
    starts that many processes on one socket (Python runs one request's code at a time per
    process, so this is how the API uses more than one core). This process then opens the store
    first and holds it for the service's lifetime — for the embedded store it owns the server and
    every worker attaches to it — and makes the token secret once, so no two workers race to.
    Per-process state stays per process: rate-limit counters and the live event stream (a client
    sees the events of the writes its worker handled).

    Behind a reverse proxy that terminates TLS, pass proxy_headers=True and the proxy's address in
    forwarded_allow_ips so the audit log records real client addresses.
    """
    level = logs.configure(log_level)  # RISKGRAPH_LOG_LEVEL when not given; uvicorn's lines too
    options = dict(host=host, port=port, log_level=level,
                   log_config=None, access_log=False,  # one line per request comes from RequestContext, with its id
                   proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips, server_header=False, date_header=True)
    if workers <= 1:
        uvicorn.Server(uvicorn.Config(create_app(store_url, data_dir), **options)).run()  # type: ignore[arg-type]
        return
    settings = Settings.from_env(store_url, data_dir)
    for check in (Limits.from_env, ReadCache.from_env):  # what every worker reads: a bad setting is refused here, once
        check()
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    load_secret(settings.jwt_secret, settings.secret_file)
    os.environ[ENV_URL] = settings.store_url  # what the workers' app factory reads
    os.environ[ENV_DATA_DIR] = str(settings.data_dir)
    os.environ[logs.ENV_LEVEL] = logging.getLevelName(level)
    with graph.connect(settings.store_url):
        uvicorn.run("riskgraph.api.server:app_from_env", factory=True, workers=workers,
                    timeout_worker_healthcheck=WORKER_HEALTHCHECK_S, **options)  # type: ignore[arg-type]


def app_from_env() -> FastAPI:
    """The app of one worker of `serve(workers=N)`: store, data directory and log level from the
    environment (a worker is a new process: it configures its own logging, the same way)."""
    logs.configure()
    return create_app()
