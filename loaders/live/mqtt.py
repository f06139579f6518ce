"""The MQTT subscription: IoT platforms publish to `riskgraph/ingest/{source}` (or below it).

    RISKGRAPH_MQTT_URL=mqtt://broker:1883 riskgraph serve        # or mqtts:// for TLS
    RISKGRAPH_MQTT_USERNAME / RISKGRAPH_MQTT_PASSWORD              # the service's own broker account

QoS 1 on a persistent session (fixed client id, clean_session off) with manual acknowledgement:
a message's PUBACK is sent only after it is in the ingest log, so the broker redelivers whatever
the service had not logged when it died; redeliveries are recognised by their idempotency key.
A payload may hold several JSON lines. Which source a message is from is the topic's third level;
which account may publish to which topic is the broker's access list (e.g. mosquitto's
`pattern write riskgraph/ingest/%u/#`, one broker account per source system), and only sources
registered with `riskgraph source-add … --kind iot` may send readings, alarms and states — the
others' messages are quarantined as `not_allowed`, never dropped silently.
"""
from __future__ import annotations

import logging
import os
import ssl
import threading
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

from riskgraph.loaders.live import payload
from riskgraph.loaders.live.service import Live
from riskgraph.ontology.errors import N_, RiskGraphError

log = logging.getLogger("riskgraph.live.mqtt")

ENV_URL = "RISKGRAPH_MQTT_URL"
ENV_USER = "RISKGRAPH_MQTT_USERNAME"
ENV_PASSWORD = "RISKGRAPH_MQTT_PASSWORD"
ENV_CLIENT_ID = "RISKGRAPH_MQTT_CLIENT_ID"
TOPIC_ROOT = "riskgraph/ingest"


class MqttError(RiskGraphError, RuntimeError):
    """The MQTT subscription cannot be set up (a bad URL)."""


class MqttIngest:
    """Subscribes to `riskgraph/ingest/+/#` and logs each message before acknowledging it."""

    def __init__(self, live: Live, url: str, *, username: str | None = None, password: str | None = None,
                 client_id: str = "riskgraph-ingest") -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("mqtt", "mqtts") or not parsed.hostname:
            raise MqttError(N_("{ENV_URL} must be mqtt://host[:port] or mqtts://host[:port]"), ENV_URL=ENV_URL)
        self.live = live
        self.host = parsed.hostname
        self.port = parsed.port or (8883 if parsed.scheme == "mqtts" else 1883)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                                  manual_ack=True)
        if parsed.scheme == "mqtts":
            self.client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.received = 0

    @classmethod
    def from_env(cls, live: Live) -> MqttIngest | None:
        url = os.environ.get(ENV_URL)
        if not url:
            return None
        return cls(live, url, username=os.environ.get(ENV_USER), password=os.environ.get(ENV_PASSWORD),
                   client_id=os.environ.get(ENV_CLIENT_ID, "riskgraph-ingest"))

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        if getattr(reason, "is_failure", False):
            log.error("MQTT connection refused: %s", reason)
            return
        client.subscribe(f"{TOPIC_ROOT}/+/#", qos=1)
        self.connected.set()
        log.info("MQTT subscribed", extra={"broker": f"{self.host}:{self.port}", "topic": f"{TOPIC_ROOT}/+/#"})

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        parts = msg.topic.split("/")
        source = parts[2] if len(parts) > 2 else ""
        lines = payload.messages(msg.payload)
        try:
            self.live.receive(source or "unknown", lines or [payload.decode(bytes(msg.payload))])
        except Exception:
            # not logged, so not acknowledged: the broker sends it again on the next session
            log.exception("MQTT message on %s could not be logged; left unacknowledged", msg.topic)
            return
        self.received += 1
        client.ack(msg.mid, msg.qos)

    def start(self) -> None:
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
