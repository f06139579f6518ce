"""非煤矿山 system: tailings ponds (尾矿库).

Why: tailings ponds are their own risk objects (等别, 安全度 per AQ 2006, online
monitoring per GB 51108) and carry separate licences and sensors.  等别 is
drawn first and 坝高 / 总库容 are drawn inside that class's band (GB 39496-2020).
"""
from __future__ import annotations

from ..context import EntState, Source
from ..names import SURNAMES
from ..regions import jitter
from ..truth import FLAG, REPAIR
from .common import legacy_flag

FILE = "mines/tailings_ponds.csv"
HEADER = ["尾矿库编号", "统一社会信用代码", "尾矿库名称", "县级代码", "等别", "安全度", "坝高(m)", "总库容(万m³)",
          "下游居民(人)", "运行状态", "经度", "纬度"]
CLASSES = (("五等", 45, (5, 30), (10, 100)), ("四等", 35, (30, 60), (100, 1000)),
           ("三等", 15, (60, 100), (1000, 10000)), ("二等", 4.5, (100, 200), (10000, 50000)),
           ("一等", 0.5, (200, 260), (50000, 80000)))
SAFETY = (("正常库", 86), ("病库", 10), ("险库", 3), ("危库", 1))


class Mines(Source):
    id = "mines"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.w = self.csv(FILE, HEADER)
        self.n = 0

    def emit(self, e, st: EntState) -> None:
        if e.sector != "非煤矿山" or self.rng.random() >= e.industry.tailings:
            return
        rng, d = self.rng, self.dirt
        for _ in range(1 if rng.random() < 0.85 else 2):
            self.n += 1
            pid = f"WKK{e.county.code}{self.n:05d}"
            cls = rng.choices(CLASSES, [c[1] for c in CLASSES])[0]
            h = round(rng.uniform(*cls[2]), 1)
            v = round(rng.uniform(*cls[3]), 1)
            safety = rng.choices([s for s, _ in SAFETY], [w * (1 + 3 * e.risk if s != "正常库" else 1)
                                                         for s, w in SAFETY])[0]
            name = e.core + rng.choice(SURNAMES[:80]) + rng.choice(("家沟", "家峪", "沟", "峪", "台")) + "尾矿库"
            downstream = 0 if rng.random() < 0.35 else int(rng.lognormvariate(5, 1.2))
            state = "运行" if e.active and rng.random() < 0.8 else rng.choice(("停用", "闭库"))
            lon, lat = jitter(rng, e.lon, e.lat, 0.01)
            row = [pid, e.uscc, name, e.county.code, cls[0], safety, f"{h:g}", f"{v:g}", str(downstream), state,
                   f"{lon:.6f}", f"{lat:.6f}"]
            rec = None
            kind = None
            if d.hit():
                kind = d.choose([("coords", 2), ("height", 1), ("downstream", 1)] +
                                ([("uscc_lower", 1)] if not e.legacy else []))
            if kind == "coords":
                lo, la, how = d.bad_coords()
                orig = f"{row[10]},{row[11]}"
                row[10], row[11] = f"{lo:.6f}", f"{la:.6f}"
                rec = ("经度,纬度", "out_of_range", orig, f"{row[10]},{row[11]}", FLAG, None, None, {"coord_kind": how})
            elif kind == "height":
                orig, row[6] = row[6], "-" + row[6]
                rec = ("坝高(m)", "out_of_range", orig, row[6], FLAG, None, None, {})
            elif kind == "downstream":
                orig, row[8] = row[8], "-5"
                rec = ("下游居民(人)", "out_of_range", orig, "-5", FLAG, None, None, {})
            elif kind == "uscc_lower" and e.uscc.lower() != e.uscc:
                row[1] = e.uscc.lower()
                rec = ("统一社会信用代码", "uscc_lowercase", e.uscc, row[1], REPAIR, None, e.uscc, {})
            n = self.w.write(row)
            self.entity(FILE, n, e.uscc, "统一社会信用代码")
            if row[1] == e.uscc:
                legacy_flag(self, FILE, n, "统一社会信用代码", e)
            if rec:
                fld, code, orig, inj, exp, reason, ev, extra = rec
                d.defect(FILE, n, fld, code, orig, inj, exp, reason, ev, **extra)
            else:
                d.maybe_duplicate(self.w, FILE, row, n, e.uscc, "统一社会信用代码")
            st.ponds.append((pid, name))
