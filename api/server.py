"""Run the HTTP service with uvicorn (`riskgraph serve`)."""
from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from riskgraph.api.app import create_app
from riskgraph.graph import logs

log = logging.getLogger("riskgraph.api")


def serve(store_url: str | None, host: str = "127.0.0.1", port: int = 8000, *,
          data_dir: Path | None = None, log_level: str | None = None, proxy_headers: bool = False,
          forwarded_allow_ips: str | None = None) -> None:
    """Serve until interrupted. One process: the store is opened once, in the app's lifespan.

    Behind a reverse proxy that terminates TLS, pass proxy_headers=True and the proxy's address in
    forwarded_allow_ips so the audit log records real client addresses.
    """
    level = logs.configure(log_level)  # RISKGRAPH_LOG_LEVEL when not given; uvicorn's lines too
    app = create_app(store_url, data_dir)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=level,
        log_config=None, access_log=False,  # one line per request comes from RequestContext, with its id
        proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips, server_header=False, date_header=True,
    )
    uvicorn.Server(config).run()
