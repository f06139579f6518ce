"""第一次全国自然灾害综合风险普查-style data: hazard points, historical events, population.

Why: regional risk (INFORM / NRI-style) needs hazard & exposure per county.
Hazard types follow terrain: geological hazards and forest fires in the 太行 /
燕山 mountains, drought on the 坝上 plateau and the 黑龙港 plain, floods on the
plains, earthquakes along known seismic belts (唐山, 邢台, 张家口–怀来).
Events 2010–2026 have realistic seasonality (floods Jul–Aug with the 2012 "7·21",
2016 "7·19" and 2023 "23·7" flood years, forest fires in spring and autumn …).
County populations are synthetic but plausible.
"""
from __future__ import annotations

import math
from datetime import date, timedelta

from ..context import Source
from ..dirt import PlainDefectRecord
from ..formats import bad_date, cn_amount, cn_date, mixed_date, out_of_range_date
from ..names import SURNAMES, town, village
from ..regions import jitter
from ..truth import FLAG, QUARANTINE, REPAIR

RPF = "disaster_census/risk_points.csv"
EVF = "disaster_census/events.csv"
POPF = "disaster_census/population.csv"
RP_HEADER = ["编号", "灾害类型", "灾害亚类", "名称", "县级代码", "县名", "经度", "纬度", "威胁人口", "威胁财产（万元）", "风险等级"]
EV_HEADER = ["事件编号", "灾害类型", "灾害亚类", "县级代码", "发生日期", "死亡失踪人数", "受灾人口", "直接经济损失（万元）", "简要描述"]
POP_HEADER = ["县级代码", "县名", "所属地市", "常住人口", "学校数", "医院数", "养老机构数"]
TYPE_CODE = {"洪涝": "HL", "干旱": "GH", "气象": "QX", "森林火灾": "SL", "地质灾害": "DZ", "地震": "DR"}
RIVERS = ("大清河", "子牙河", "滹沱河", "滏阳河", "永定河", "潮白河", "滦河", "拒马河", "唐河", "沙河", "漳河", "卫河",
          "南运河", "洋河", "桑干河", "白沟河", "青龙河", "沙河", "清水河", "牤牛河")
#: Real flood detention basins (蓄滞洪区) of the 海河 basin in Hebei, by county.
FLOOD_STORAGE = {"131026": ("文安洼", "东淀"), "131081": ("东淀",), "131025": ("贾口洼",), "130922": ("贾口洼",),
                 "130681": ("兰沟洼", "小清河分洪区"), "130684": ("兰沟洼",), "130528": ("宁晋泊",),
                 "130505": ("大陆泽",), "130525": ("大陆泽",), "130929": ("献县泛区",), "131023": ("永定河泛区",),
                 "131002": ("永定河泛区",), "131022": ("永定河泛区",), "130632": ("白洋淀",)}
BIG_FLOOD = {2012: ((7, 21), ("130200", "130600", "131000", "130300")),
             2016: ((7, 19), ("130100", "130500", "130400", "130600")),
             2023: ((7, 29), ("130600", "130500", "130100", "131000"))}
MONTHS = {
    "洪涝": ((6, 10), (7, 40), (8, 35), (9, 15)),
    "地质灾害": ((6, 8), (7, 42), (8, 38), (9, 12)),
    "森林火灾": ((2, 5), (3, 25), (4, 35), (5, 10), (10, 10), (11, 15)),
    "干旱": ((3, 20), (4, 30), (5, 30), (6, 20)),
    "地震": tuple((m, 1) for m in range(1, 13)),
}
WEATHER = (("暴雨", (7, 8)), ("大风", (3, 4, 5)), ("冰雹", (5, 6, 7, 8, 9)), ("暴雪", (11, 12, 1, 2, 3)),
           ("高温", (6, 7)), ("低温冷冻", (4, 12, 1)), ("雷电", (6, 7, 8)))


def _counts(tags: frozenset[str], rng) -> dict[str, int]:
    m, b = "mountain" in tags, "bashang" in tags
    return {
        "地质灾害": rng.randint(25, 70) if m else rng.randint(2, 6) if b else rng.randint(0, 3),
        "洪涝": rng.randint(6, 15) if m else rng.randint(2, 5) if b else rng.randint(10, 30),
        "森林火灾": rng.randint(10, 35) if m else rng.randint(3, 8) if b else rng.randint(0, 2),
        "干旱": rng.randint(4, 8) if b else rng.randint(1, 3) if m else rng.randint(2, 5),
        "气象": rng.randint(2, 6),
        "地震": rng.randint(2, 6) if "seismic" in tags else 0,
    }


def _poisson(rng, lam: float) -> int:
    """Knuth's Poisson sampler (λ is small here)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _rates(tags: frozenset[str]) -> dict[str, float]:
    m, b = "mountain" in tags, "bashang" in tags
    return {"洪涝": 0.4 if m else 0.15 if b else 0.5, "地质灾害": 0.6 if m else 0.02,
            "森林火灾": 0.8 if m else 0.3 if b else 0.02, "干旱": 0.5 if b else 0.3,
            "气象": 0.6, "地震": 0.15 if "seismic" in tags else 0.0}


class DisasterCensus(Source):
    id = "disaster_census"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.wrp = self.csv(RPF, RP_HEADER)
        self.wev = self.csv(EVF, EV_HEADER)
        self.wpop = self.csv(POPF, POP_HEADER)

    def finish(self) -> None:
        for c in self.ctx.region.counties:
            self._population(c)
            self._points(c)
        self._events()
        super().finish()

    # -- population ----------------------------------------------------------------------------
    def _population(self, c) -> None:
        rng, d = self.rng, self.dirt
        if c.name.endswith("矿区") or c.name in ("北戴河区", "下花园区", "山海关区"):
            pop = rng.randint(60_000, 200_000)
        elif "bashang" in c.tags:
            pop = rng.randint(150_000, 260_000)
        elif c.is_district:
            pop = rng.randint(300_000, 1_100_000)
        elif c.name.endswith("市"):
            pop = rng.randint(400_000, 1_100_000)
        else:
            pop = rng.randint(180_000, 650_000)
        row = [c.code, c.name, c.city_name, str(pop), str(int(pop / rng.uniform(2500, 4000))),
               str(int(pop / rng.uniform(15000, 30000)) + 1), str(int(pop / rng.uniform(12000, 25000)) + 1)]
        if d.hit():
            orig, row[3] = row[3], str(-pop)
            n = self.wpop.write(row)
            d.defect(POPF, n, "常住人口", "out_of_range", orig, row[3], FLAG, None, None)
        else:
            n = self.wpop.write(row)
            d.maybe_duplicate(self.wpop, POPF, row, n)

    # -- hazard points -------------------------------------------------------------------------
    def _name(self, typ: str, sub: str, c) -> str:
        rng = self.rng
        if typ == "地质灾害":
            return town(rng) + village(rng) + sub
        if typ == "洪涝":
            if sub == "城市内涝":
                return c.stem + rng.choice(("火车站下穿通道", "人民路立交桥下", "老城区低洼片区", "建设大街下穿通道"))
            if sub == "蓄滞洪区":
                x = rng.choice(FLOOD_STORAGE[c.code])
                return x if x.endswith("区") else x + "蓄滞洪区"
            return rng.choice(RIVERS) + town(rng) + "段" + rng.choice(("堤防", "险工", "河道"))
        if typ == "森林火灾":
            return rng.choice(SURNAMES[:50]) + rng.choice(("家沟", "山", "岭", "峪")) + rng.choice(("林场", "林区", "山场"))
        if typ == "干旱":
            return town(rng) + rng.choice(("灌区", "水源地", "旱作农业区"))
        if typ == "地震":
            return c.stem + rng.choice(("老旧房屋集中区", "活动断裂带周边村镇", "学校集中区"))
        return c.stem + town(rng) + sub + "易发区"

    def _sub(self, typ: str, c) -> str:
        rng = self.rng
        if typ == "地质灾害":
            if "mountain" in c.tags:
                return rng.choices(("滑坡", "崩塌", "泥石流", "地面塌陷"), (35, 40, 20, 5))[0]
            return "地面塌陷"
        if typ == "洪涝":
            if "mountain" in c.tags:
                return rng.choice(("山洪沟道", "河道行洪", "山洪沟道"))
            if c.code in FLOOD_STORAGE and rng.random() < 0.4:
                return "蓄滞洪区"
            return rng.choice(("河道行洪", "城市内涝", "河道行洪"))
        if typ == "森林火灾":
            return "林草交错区" if "bashang" in c.tags else "林区"
        if typ == "干旱":
            return rng.choice(("农业干旱", "城乡供水"))
        if typ == "地震":
            return "地震"
        return rng.choice([w for w, _ in WEATHER])

    def _points(self, c) -> None:
        rng, d = self.rng, self.dirt
        seq = 0
        for typ, k in _counts(c.tags, rng).items():
            for _ in range(k):
                seq += 1
                sub = self._sub(typ, c)
                lon, lat = jitter(rng, c.lon, c.lat, 0.08)
                pop = int(rng.lognormvariate(5.5, 1.2)) + 5
                prop = round(pop * rng.uniform(1.5, 12), 1)
                score = pop * rng.uniform(0.5, 1.5)
                lvl = "高" if score > 2000 else "较高" if score > 700 else "中" if score > 200 else "低"
                row = [f"ZH{c.code}{TYPE_CODE[typ]}{seq:04d}", typ, sub, self._name(typ, sub, c), c.code, c.name,
                       f"{lon:.6f}", f"{lat:.6f}", str(pop), f"{prop:g}", lvl]
                kind = d.choose([("coords", 2), ("pop", 1), ("missing", 1), ("county", 1)]) if d.hit() else None
                if kind == "coords":
                    lo, la, how = d.bad_coords()
                    orig = f"{row[6]},{row[7]}"
                    row[6], row[7] = f"{lo:.6f}", f"{la:.6f}"
                    n = self.wrp.write(row)
                    d.defect(RPF, n, "经度,纬度", "out_of_range", orig, f"{row[6]},{row[7]}", FLAG, None, None,
                             coord_kind=how)
                elif kind == "pop":
                    orig, row[8] = row[8], str(-d.rng.randint(1, 50))
                    n = self.wrp.write(row)
                    d.defect(RPF, n, "威胁人口", "out_of_range", orig, row[8], FLAG, None, None)
                elif kind == "missing":
                    orig, row[0] = row[0], ""
                    n = self.wrp.write(row)
                    d.defect(RPF, n, "编号", "missing_required", orig, "", QUARANTINE, "missing_required", None)
                elif kind == "county":
                    orig, row[4] = row[4], c.code[:4] + "99"
                    n = self.wrp.write(row)
                    d.defect(RPF, n, "县级代码", "orphan_reference", orig, row[4], QUARANTINE, "orphan_reference",
                             None, note="not a GB/T 2260 code")
                else:
                    n = self.wrp.write(row)
                    d.maybe_duplicate(self.wrp, RPF, row, n)

    # -- historical events ---------------------------------------------------------------------
    def _events(self) -> None:
        rng = self.rng
        last = self.today - timedelta(days=1)
        seq = 0
        rows: list[tuple[date, str, str, str, int, int, float, str]] = []
        for c in self.ctx.region.counties:
            rates = _rates(c.tags)
            for year in range(2010, last.year + 1):
                for typ, lam in rates.items():
                    big = typ in ("洪涝", "地质灾害") and year in BIG_FLOOD and c.city_code in BIG_FLOOD[year][1]
                    k = _poisson(rng, lam * (6 if big else 1))
                    for _ in range(k):
                        if big and rng.random() < 0.7:
                            (mo, dd) = BIG_FLOOD[year][0]
                            day = date(year, mo, dd) + timedelta(days=rng.randint(0, 3))
                        elif typ == "气象":
                            sub, months = rng.choice(WEATHER)
                            day = date(year, rng.choice(months), rng.randint(1, 28))
                        else:
                            month_weights = MONTHS[typ]
                            mo = rng.choices([m for m, _ in month_weights], [w for _, w in month_weights])[0]
                            day = date(year, mo, rng.randint(1, 28))
                        if day > last:
                            continue
                        sub = self._sub(typ, c) if typ != "气象" else sub
                        deaths = 0
                        if big and rng.random() < 0.35:
                            deaths = rng.randint(1, 12)
                        elif typ in ("洪涝", "地质灾害") and rng.random() < 0.05:
                            deaths = rng.randint(1, 3)
                        affected = int(rng.lognormvariate(7 + (2 if big else 0), 1.2))
                        loss = round(affected * rng.uniform(0.05, 0.6), 1)
                        desc = f"{c.full_name}{sub}灾害，受灾{affected}人" + (f"，死亡失踪{deaths}人" if deaths else "")
                        rows.append((day, typ, sub, c.code, deaths, affected, loss, desc))
        rows.sort(key=lambda r: (r[0], r[3], r[1]))
        d = self.dirt
        for day, typ, sub, code, deaths, affected, loss, desc in rows:
            seq += 1
            date_txt, is_iso = mixed_date(rng, day, 0.8, (cn_date,))
            row = [f"SJ{day.year}{seq:06d}", typ, sub, code, date_txt, str(deaths), str(affected), f"{loss:g}", desc]
            rec: list[PlainDefectRecord] = []
            if not is_iso:
                rec.append(("发生日期", "date_format", None, date_txt, REPAIR, None, day.isoformat()))
            kind = d.choose([("odd_date", 1), ("bad_date", 1), ("deaths", 1), ("loss", 1)]) if d.hit() else None
            if kind == "odd_date":
                row[4], _ = out_of_range_date(d.rng, self.today)
                rec = [("发生日期", "out_of_range", date_txt, row[4], QUARANTINE, "out_of_range", None)]
            elif kind == "bad_date":
                row[4] = bad_date(d.rng)
                rec = [("发生日期", "unparseable_date", date_txt, row[4], QUARANTINE, "unparseable_date", None)]
            elif kind == "deaths":
                orig, row[5] = row[5], str(-d.rng.randint(1, 9))
                rec.append(("死亡失踪人数", "out_of_range", orig, row[5], QUARANTINE, "out_of_range", None))
            elif kind == "loss":
                orig, row[7] = row[7], cn_amount(d.rng.randint(1, 99))[:-1]
                rec.append(("直接经济损失（万元）", "unparseable_number", orig, row[7], FLAG, None, None))
            n = self.wev.write(row)
            for fld, code_, orig, inj, exp, reason, ev in rec:
                d.defect(EVF, n, fld, code_, orig, inj, exp, reason, ev)
            if kind is None:
                d.maybe_duplicate(self.wev, EVF, row, n)
