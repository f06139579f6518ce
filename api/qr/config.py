"""The QR codes' settings, from the environment.

| variable | default | meaning |
|---|---|---|
| `RISKGRAPH_QR_BASE_URL` | the address the request came to (the CLI: `http://127.0.0.1:8000`) | what codes point at: `{base}/Q/{token}` |
| `RISKGRAPH_QR_DAYS` | 1095 | a new code's lifetime in days |
| `RISKGRAPH_QR_MAX_VERSION` | 10 | the largest QR version a code may need at level M (a summary's name is shortened to fit) |
| `RISKGRAPH_QR_UPPERCASE` | 1 | print scheme, host and `/Q/` in capitals so the whole code is alphanumeric (0: keep the base as given) |
| `RISKGRAPH_QR_SCAN_BURST`, `RISKGRAPH_QR_SCAN_PER_MINUTE` | 60, 30 | anonymous scans per client address: token bucket size and refill |
| `RISKGRAPH_QR_REPORT_BURST`, `RISKGRAPH_QR_REPORT_PER_HOUR` | 5, 20 | anonymous reports per client address |
| `RISKGRAPH_QR_FONT` | the first CJK font found (WenQuanYi Micro Hei, Noto CJK …) | font file for placards |
| `RISKGRAPH_QR_BATCH_LIMIT` | 5000 | most entities in one batch export |
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from riskgraph.graph.env import env_float, env_int
from riskgraph.ontology.errors import N_, SettingError


@dataclass(frozen=True)
class QrSettings:
    base_url: str | None = None
    days: int = 1095
    max_version: int = 10
    uppercase: bool = True
    scan_burst: int = 60
    scan_per_minute: float = 30.0
    report_burst: int = 5
    report_per_hour: float = 20.0
    font: str | None = None
    batch_limit: int = 5000

    @classmethod
    def from_env(cls) -> QrSettings:
        max_version = env_int("RISKGRAPH_QR_MAX_VERSION", 10)
        if max_version > 40:
            raise SettingError(N_("{name} is at most {high}"), name="RISKGRAPH_QR_MAX_VERSION", high=40)
        return cls(
            base_url=os.environ.get("RISKGRAPH_QR_BASE_URL") or None,
            days=env_int("RISKGRAPH_QR_DAYS", 1095),
            max_version=max_version,
            uppercase=os.environ.get("RISKGRAPH_QR_UPPERCASE", "1").strip().lower() not in ("0", "false", "no", "off"),
            scan_burst=env_int("RISKGRAPH_QR_SCAN_BURST", 60),
            scan_per_minute=env_float("RISKGRAPH_QR_SCAN_PER_MINUTE", 30.0),
            report_burst=env_int("RISKGRAPH_QR_REPORT_BURST", 5),
            report_per_hour=env_float("RISKGRAPH_QR_REPORT_PER_HOUR", 20.0),
            font=os.environ.get("RISKGRAPH_QR_FONT") or None,
            batch_limit=env_int("RISKGRAPH_QR_BATCH_LIMIT", 5000),
        )
