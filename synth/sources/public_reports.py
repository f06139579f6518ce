"""随手拍 / 随手记 public reports (JSON lines).

Why: citizens describe a place, not an identifier.  Some reports name the
enterprise (often misspelt), most only describe it near its location; the truth
says which enterprise each report is about (``via`` = "named_unit" or "location").
Generic reports (a missing manhole cover …) concern no enterprise and are not in
truth/entities.jsonl.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import prcoords

from ..context import EntState, Source
from ..dirt import NAME_VARIANT_MULT, DefectRecord
from ..formats import bad_date, iso_cst, rand_date
from ..names import masked_phone, road, village
from ..regions import jitter
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import name_outcome

FILE = "public_reports/reports.jsonl"
KIND = {"危险化学品": "化工", "非煤矿山": "矿", "工贸": "工"}
TEMPLATES = {
    "危险化学品": ("{subj}后门有液体外流，气味刺鼻", "{subj}夜里有很大的刺激性气味，眼睛难受", "{subj}储罐区好像在冒白烟",
               "{subj}门口停了很多危化品槽车，占道停放", "看到{subj}的工人在罐区抽烟", "{subj}半夜偷偷排放废气"),
    "非煤矿山": ("{subj}尾矿库坝体有渗水，下游村民很担心", "{subj}半夜放炮，震得房子裂缝", "{subj}边坡有大石头松动，路过很危险",
             "{subj}的拉矿车超载，石头掉在路上"),
    "工贸": ("{subj}车间粉尘很大，没有除尘设施", "{subj}附近煤气味很重", "{subj}工人没戴安全帽在高处作业",
           "{subj}厂房里电线乱拉乱接", "{subj}车间里堆满了易燃物品"),
}
GENERIC = ("{road}有井盖缺失，晚上很危险", "{road}小区地下室有人给电动车充电", "{road}路边燃气管道有漏气的声音",
           "{road}一处广告牌松动，大风天可能掉落", "{village}河道里有人非法采砂", "{road}建筑工地塔吊旁没有围挡")
PLACE_WORD = {"危险化学品": ("化工厂", "化工厂", "化工企业"), "非煤矿山": ("矿山", "采石场", "选矿厂"),
              "工贸": ("工厂", "钢厂", "加工厂")}
START = date(2024, 11, 1)


class PublicReports(Source):
    id = "public_reports"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.w = self.jsonl(FILE)
        self.n = 0

    def _base(self, when: datetime, content: str, lon: float, lat: float, named: str | None) -> dict:
        rng = self.rng
        self.n += 1
        obj: dict[str, Any] = {"report_id": f"SSP{when:%Y%m%d}{self.n:07d}", "channel": rng.choice(("随手拍", "随手拍", "随手记")),
               "time": iso_cst(when), "content": content}
        if named is not None:
            obj["named_unit"] = named
        # the 随手拍 app takes its point from the phone's map SDK: GCJ-02, as most Chinese apps give it
        gcj = prcoords.wgs_gcj((lat, lon))
        obj.update({"lon": round(gcj.lon, 6), "lat": round(gcj.lat, 6), "contact": masked_phone(rng),
                    "status": rng.choice(("已受理", "核查中", "已办结", "已办结"))})
        return obj

    def emit(self, e, st: EntState) -> None:
        rng, d = self.rng, self.dirt
        if rng.random() >= 0.04 + 0.35 * e.risk:
            return
        end = min(e.active_until(self.today), self.today - timedelta(days=1))
        if end <= START:
            return
        day = rand_date(rng, START, end)
        when = datetime(day.year, day.month, day.day, rng.randrange(6, 24), rng.randrange(60), rng.randrange(60))
        lon, lat = jitter(rng, e.lon, e.lat, 0.003)
        named = rng.random() < 0.45
        rec: DefectRecord | None = None
        shown = e.name
        if named and d.hit(NAME_VARIANT_MULT):
            v = d.name_variant(e, typo=d.rng.random() < 0.5)
            if v:
                shown = v[0]
                rec = ("named_unit", "name_variant", e.name, shown, REPAIR, None, e.name, {"variant": v[1]})
        subj = shown if named else f"{e.county.stem}{road(rng)}上的一家{rng.choice(PLACE_WORD[e.sector])}"
        obj = self._base(when, rng.choice(TEMPLATES[e.sector]).format(subj=subj), lon, lat, shown if named else None)
        if rec is None and d.hit():
            kind = d.choose([("coords", 2), ("bad_time", 1)])
            if kind == "coords":
                lo, la, how = d.bad_coords()
                orig = f"{obj['lon']},{obj['lat']}"
                obj["lon"], obj["lat"] = lo, la
                rec = ("lon,lat", "out_of_range", orig, f"{lo},{la}", FLAG, None, None, {"coord_kind": how})
            else:
                orig, obj["time"] = obj["time"], bad_date(d.rng)
                rec = ("time", "unparseable_date", orig, obj["time"], QUARANTINE, "unparseable_date", None, {})
        r = self.w.write(obj)
        via = "named_unit" if named else "location"
        if named:
            self.entity(FILE, r, e.uscc, via, *name_outcome(e, "", rec[7].get("variant") if rec and rec[1] == "name_variant"
                                                            else None, None))
        else:
            self.entity(FILE, r, e.uscc, via)
        if rec:
            fld, code, orig, inj, exp, reason, ev, extra = rec
            d.defect(FILE, r, fld, code, orig, inj, exp, reason, ev, **extra)
        else:
            d.maybe_duplicate(self.w, FILE, obj, r, e.uscc, via)
        # generic reports about no enterprise, roughly one per 25 enterprises
        if rng.random() < 0.1:
            c = e.county
            day = rand_date(rng, START, self.today - timedelta(days=1))
            when = datetime(day.year, day.month, day.day, rng.randrange(6, 24), rng.randrange(60))
            lon, lat = jitter(rng, c.lon, c.lat, 0.02)
            text = rng.choice(GENERIC).format(road=c.stem + road(rng), village=village(rng))
            self.w.write(self._base(when, text, lon, lat, None))
