"""物联网 (IoT) monitoring: sensors on hazard units and tailings ponds, and their alarms.

Why: alarm level and frequency are dynamic risk factors on top of the static
rating.  Thresholds follow the monitored quantity's direction: for 浸润线埋深,
干滩长度 and 安全超高 *smaller is worse* (alarm when value ≤ threshold; 橙 = 1.1 ×
红 depth as GB 51108 designers set it); for the others larger is worse (坝体位移
橙 = 80 % of 红).  A few enterprises (``noisy_iot``) alarm far more than the rest.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ..context import EntState, Source
from ..dirt import DefectRecord
from ..formats import bad_date, iso_cst, rand_date
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import legacy_flag

SENS = "iot/sensors.csv"
ALM = "iot/alarms.jsonl"
S_HEADER = ["传感器编号", "统一社会信用代码", "监测对象类型", "监测对象编号", "监测指标", "监测介质", "计量单位", "报警方向",
            "蓝色阈值", "黄色阈值", "橙色阈值", "红色阈值", "安装日期", "运行状态"]
LEVELS = ("蓝", "黄", "橙", "红")
LOWER = {"浸润线埋深", "干滩长度", "安全超高"}
TOXIC = {"液氯": ("氯气", 1.0), "氨": ("氨", 20.0), "硫化氢": ("硫化氢", 10.0), "氯化氢(无水)": ("氯化氢", 5.0),
         "光气": ("光气", 0.1), "甲醛": ("甲醛", 0.5), "环氧乙烷": ("环氧乙烷", 2.0)}
POND_METRICS = ("浸润线埋深", "干滩长度", "安全超高", "库水位", "降雨量", "坝体位移")


def thresholds(rng, metric: str, medium: str, base: float | None = None) -> tuple[str, list[float]]:
    """(unit, [蓝, 黄, 橙, 红]) for a metric; lower-is-worse metrics have decreasing thresholds."""
    if metric == "储罐液位":
        return "%", [80.0, 85.0, 90.0, 95.0]
    if metric == "温度":
        b = round(rng.uniform(40, 200))
        return "℃", [b, round(b * 1.1, 1), round(b * 1.2, 1), round(b * 1.3, 1)]
    if metric == "压力":
        p = round(rng.uniform(0.3, 4.0), 2)
        return "MPa", [p, round(p * 1.1, 2), round(p * 1.2, 2), round(p * 1.3, 2)]
    if metric == "可燃气体浓度":
        return "%LEL", [10.0, 20.0, 25.0, 50.0]
    if metric == "有毒气体浓度":
        b = base or 5.0
        return "ppm", [round(b * 0.5, 3), b, round(b * 2, 3), round(b * 4, 3)]
    if metric == "库水位":
        r = round(rng.uniform(200, 900), 1)
        return "m", [round(r - 1.5, 1), round(r - 1.0, 1), round(r - 0.5, 1), r]
    if metric == "降雨量":
        return "mm", [50.0, 100.0, 150.0, 200.0]
    if metric == "坝体位移":
        x = round(rng.uniform(30, 80))
        return "mm", [round(x * 0.4, 1), round(x * 0.6, 1), round(x * 0.8, 1), float(x)]
    lo = {"浸润线埋深": (3, 10), "干滩长度": (50, 200), "安全超高": (0.7, 2.0)}[metric]
    red = round(rng.uniform(*lo), 2)
    return "m", [round(red * 1.3, 2), round(red * 1.2, 2), round(red * 1.1, 2), red]


def level_of(metric: str, value: float, th: list[float]) -> str | None:
    """Highest level reached by ``value`` (None = no alarm)."""
    out = None
    for lv, t in zip(LEVELS, th, strict=False):
        if (value <= t) if metric in LOWER else (value >= t):
            out = lv
    return out


class Iot(Source):
    id = "iot"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.ws = self.csv(SENS, S_HEADER)
        self.wa = self.jsonl(ALM)
        self.n_s = 0
        self.n_a = 0

    def emit(self, e, st: EntState) -> None:
        if not e.active or not (st.units or st.ponds):
            return
        rng = self.rng
        sensors: list[tuple[str, str, str, list[float]]] = []
        for uid, _uname, utype in st.units:
            chems = st.unit_chems.get(uid, [])
            metrics: list[tuple[str, str, float | None]] = []
            if utype == "储存单元":
                metrics.append(("储罐液位", "", None))
            metrics += [("温度", "", None), ("压力", "", None)]
            for c in chems:
                if c in TOXIC:
                    metrics.append(("有毒气体浓度", TOXIC[c][0], TOXIC[c][1]))
                else:
                    metrics.append(("可燃气体浓度", c.replace("/", "、"), None))
            if st.major_hazard is None and rng.random() < 0.4:
                continue
            for m, medium, base in metrics:
                sensors.append(self._sensor(e, "重大危险源单元", uid, m, medium, base))
        for pid, _ in st.ponds:
            for m in POND_METRICS:
                sensors.append(self._sensor(e, "尾矿库", pid, m, "", None))
        for sid, metric, unit, th in sensors:
            self._alarms(e, sid, metric, unit, th)

    def _sensor(self, e, otype: str, oid: str, metric: str, medium: str, base):
        rng, d = self.rng, self.dirt
        self.n_s += 1
        sid = f"CG{self.n_s:09d}"
        unit, th = thresholds(rng, metric, medium, base)
        installed = rand_date(rng, date(2019, 1, 1), date(2025, 6, 30))
        row = [sid, e.uscc, otype, oid, metric, medium, unit, "下限" if metric in LOWER else "上限",
               *[f"{t:g}" for t in th], installed.isoformat(), "在线" if rng.random() < 0.93 else "离线"]
        rec: DefectRecord | None = None
        kind = d.choose([("orphan_obj", 1)] + ([("uscc_lower", 1)] if not e.legacy else [])) if d.hit(0.5) else None
        if kind == "orphan_obj":
            orig = row[3]
            row[3] = oid[:3] + "9" * (len(oid) - 3)
            rec = ("监测对象编号", "orphan_reference", orig, row[3], FLAG, None, None, {})
        elif kind == "uscc_lower" and e.uscc.lower() != e.uscc:
            row[1] = e.uscc.lower()
            rec = ("统一社会信用代码", "uscc_lowercase", e.uscc, row[1], REPAIR, None, e.uscc, {})
        n = self.ws.write(row)
        self.entity(SENS, n, e.uscc, "统一社会信用代码")
        if row[1] == e.uscc:
            legacy_flag(self, SENS, n, "统一社会信用代码", e)
        if rec:
            fld, code, orig, inj, exp, reason, ev, extra = rec
            d.defect(SENS, n, fld, code, orig, inj, exp, reason, ev, **extra)
        else:
            d.maybe_duplicate(self.ws, SENS, row, n, e.uscc, "统一社会信用代码", mult=0.5)
        return sid, metric, unit, th

    def _alarms(self, e, sid: str, metric: str, unit: str, th: list[float]) -> None:
        rng, d = self.rng, self.dirt
        mean = 0.5 * (1 + 3 * e.risk) * (30 if e.noisy_iot else 1)
        n = int(rng.expovariate(1 / mean))
        if n == 0:
            return
        end = self.today - timedelta(days=1)
        start = self.today - timedelta(days=365)
        seasonal = metric in ("库水位", "降雨量", "浸润线埋深", "安全超高", "干滩长度", "坝体位移")
        lw = (50 - 20 * e.risk, 28, 15 + 10 * e.risk, 7 + 10 * e.risk)
        for _ in range(n):
            day = rand_date(rng, start, end)
            if seasonal and rng.random() < 0.7:
                day = rand_date(rng, date(end.year, 6, 1), date(end.year, 9, 30))
            t = datetime(day.year, day.month, day.day, rng.randrange(24), rng.randrange(60), rng.randrange(60))
            k = rng.choices(range(4), lw)[0]
            lv = LEVELS[k]
            lower = metric in LOWER
            if k < 3:
                a, b = th[k], th[k + 1]
            else:
                a, b = (th[3], th[3] * 0.7) if lower else (th[3], th[3] * 1.25)
            value = round(rng.uniform(min(a, b), max(a, b)), 3)
            if level_of(metric, value, th) != lv:  # open interval edge: snap onto the threshold
                value = a
            handled = t.date() < end and rng.random() < 0.93 - 0.2 * e.risk
            self.n_a += 1
            obj: dict[str, Any] = {"alarm_id": f"BJ{self.n_a:010d}", "sensor_id": sid, "metric": metric, "value": value, "unit": unit,
                   "thresholds": dict(zip(LEVELS, th, strict=False)), "level": lv, "time": iso_cst(t), "handled": handled,
                   "handled_time": iso_cst(t + timedelta(minutes=rng.randint(3, 720))) if handled else None}
            kind = d.choose([("orphan", 2), ("negative", 1), ("bad_time", 1)]) if d.hit(0.5) else None
            if kind == "orphan":
                orig, obj["sensor_id"] = sid, f"CG9{d.rng.randrange(10**8):08d}"
                r = self.wa.write(obj)
                d.defect(ALM, r, "sensor_id", "orphan_reference", orig, obj["sensor_id"], QUARANTINE, "orphan_reference", None)
            elif kind == "negative" and metric != "温度":
                orig_value, obj["value"] = value, -abs(value) - 1
                r = self.wa.write(obj)
                d.defect(ALM, r, "value", "out_of_range", orig_value, obj["value"], QUARANTINE, "out_of_range", None)
            elif kind == "bad_time":
                orig = obj["time"]
                obj["time"] = bad_date(d.rng)
                r = self.wa.write(obj)
                d.defect(ALM, r, "time", "unparseable_date", orig, obj["time"], QUARANTINE, "unparseable_date", None)
            else:
                r = self.wa.write(obj)
                d.maybe_duplicate(self.wa, ALM, obj, r, mult=0.5)
