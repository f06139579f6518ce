"""How deliveries are retried: from the environment, with defaults a bureau can live with.

| variable | default | meaning |
|---|---|---|
| `RISKGRAPH_DELIVERY_MAX_ATTEMPTS` | 8 | attempts before a delivery goes to the dead-letter list |
| `RISKGRAPH_DELIVERY_BACKOFF_S` | 2 | first retry delay; doubled each attempt (with ±20 % jitter) |
| `RISKGRAPH_DELIVERY_BACKOFF_MAX_S` | 600 | longest retry delay |
| `RISKGRAPH_DELIVERY_LEASE_S` | 60 | how long a claimed delivery is reserved for its sender (after a crash: retried when it runs out) |
| `RISKGRAPH_DELIVERY_TIMEOUT_S` | 10 | HTTP time-out per attempt |
| `RISKGRAPH_DELIVERY_POLL_S` | 1 | how often the outbox is looked at when nothing wakes the dispatcher |
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from riskgraph.graph.env import env_float, env_int


@dataclass(frozen=True)
class DeliverySettings:
    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 600.0
    lease_s: float = 60.0
    timeout_s: float = 10.0
    poll_s: float = 1.0
    batch: int = 20

    @classmethod
    def from_env(cls) -> DeliverySettings:
        return cls(
            max_attempts=env_int("RISKGRAPH_DELIVERY_MAX_ATTEMPTS", 8),
            backoff_s=env_float("RISKGRAPH_DELIVERY_BACKOFF_S", 2.0, 0.01),
            backoff_max_s=env_float("RISKGRAPH_DELIVERY_BACKOFF_MAX_S", 600.0, 0.01),
            lease_s=env_float("RISKGRAPH_DELIVERY_LEASE_S", 60.0, 0.5),
            timeout_s=env_float("RISKGRAPH_DELIVERY_TIMEOUT_S", 10.0, 0.1),
            poll_s=env_float("RISKGRAPH_DELIVERY_POLL_S", 1.0, 0.01),
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: exponential, capped, jittered so retries do not stampede."""
        delay = min(self.backoff_max_s, self.backoff_s * 2 ** max(0, attempts - 1))
        return delay * random.uniform(0.8, 1.2)
