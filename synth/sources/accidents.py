"""生产安全事故 (accident) reports.

Why: accidents drive the automatic-red rule of 应急〔2018〕19号 and are the
outcome variable risk models try to predict, so their rate follows the latent
risk.  Grades follow 《生产安全事故报告和调查处理条例》 (deaths / injuries /
direct loss, highest band wins).  This old system exports GB18030 although the
manifest — copied from its documentation — says UTF-8 (a file-level
wrong_encoding defect whenever dirt_rate > 0).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from ..context import EntState, Source
from ..formats import cn_amount
from ..hazards import GB6441, RISK_POINTS
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import legacy_flag, name_outcome, variant_of

FILE = "accidents/accidents.csv"
HEADER = ["事故编号", "统一社会信用代码", "企业名称", "发生时间", "发生地点", "事故类型", "事故等级", "死亡人数",
          "受伤人数", "直接经济损失（万元）", "事故原因", "事故简要经过"]
BASE = {"危险化学品": 0.05, "非煤矿山": 0.08, "工贸": 0.06}
START = date(2021, 1, 1)
CAUSES = (("人的因素|管理因素", 30), ("人的因素", 14), ("物的因素|管理因素", 16), ("物的因素", 8),
          ("人的因素|物的因素|管理因素", 12), ("管理因素", 8), ("环境因素|物的因素", 5), ("人的因素|环境因素", 4),
          ("人的因素|物的因素|环境因素|管理因素", 3))


def grade(deaths: int, injured: int, loss_wan: float) -> str:
    """事故等级 by the highest band reached (deaths, serious injuries, direct loss in 万元)."""
    if deaths >= 30 or injured >= 100 or loss_wan >= 10000:
        return "特别重大"
    if deaths >= 10 or injured >= 50 or loss_wan >= 5000:
        return "重大"
    if deaths >= 3 or injured >= 10 or loss_wan >= 1000:
        return "较大"
    return "一般"


class Accidents(Source):
    id = "accidents"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.w = self.csv(FILE, HEADER, "utf-8")
        self.seq: dict[str, int] = {}
        if ctx.dirt_rate > 0:
            self.w.encoding = "gb18030"  # the lie: manifest keeps 'utf-8'
            self.dirt.defect(FILE, None, None, "wrong_encoding", "utf-8", "gb18030", REPAIR, None, "gb18030",
                             scope="file")
        events = {}
        for sector, pts in RISK_POINTS.items():
            events[sector] = [code for p in pts for _, code in p.events]
        self.codes = events

    def emit(self, e, st: EntState) -> None:
        rng, d = self.rng, self.dirt
        lam = BASE[e.sector] * (0.3 + 2.5 * e.risk)
        end = e.active_until(self.today)
        if end <= START:
            return
        n = 0
        while rng.random() < lam / (1 + n):
            n += 1
        for _ in range(n):
            when = datetime.combine(START + timedelta(days=rng.randrange((end - START).days)),
                                    datetime.min.time()) + timedelta(minutes=rng.randrange(24 * 60))
            x = rng.random()
            deaths = 0 if x < 0.5 else 1 if x < 0.88 else 2 if x < 0.96 else rng.randint(3, 9) if x < 0.997 \
                else rng.randint(10, 14)
            injured = rng.choice((0, 0, 1, 1, 2, 3)) + (rng.randint(0, 8) if deaths >= 3 else 0)
            loss = round(rng.uniform(3, 120) + deaths * rng.uniform(100, 180)
                         + (rng.uniform(500, 2000) if deaths >= 3 else 0), 1)
            g = grade(deaths, injured, loss)
            code = rng.choice(self.codes[e.sector])
            k = e.county.code + str(when.year)
            self.seq[k] = self.seq.get(k, 0) + 1
            aid = f"SG{k}{self.seq[k]:03d}"
            causes = rng.choices([c for c, _ in CAUSES], [w for _, w in CAUSES])[0]
            story = (f"{when.month}月{when.day}日，{e.name}发生一起{GB6441[code]}事故，造成{deaths}人死亡、"
                     f"{injured}人受伤。")
            row = [aid, e.uscc if rng.random() > 0.3 else "", e.name, when.strftime("%Y-%m-%d %H:%M"),
                   e.county.city_name + e.county.name, GB6441[code], g, str(deaths), str(injured), f"{loss:g}", causes, story]
            st.accidents.append({"id": aid, "date": when.date(), "grade": g, "deaths": deaths})
            self._write(e, row, d)

    def _write(self, e, row, d) -> None:
        rec = []
        misspelt = d.misspell(e, row, 2, "企业名称")
        if misspelt:
            rec.append(misspelt)
        kind = None
        if not rec and d.hit():
            menu = [("future", 1), ("loss", 2), ("deaths", 1), ("missing", 1)]
            if row[1] and not e.legacy:
                menu.append(("uscc", 2))
            kind = d.choose(menu)
        if kind == "future":
            orig = row[3]
            row[3] = (self.today + timedelta(days=d.rng.randint(20, 400))).strftime("%Y-%m-%d %H:%M")
            rec.append(("发生时间", "out_of_range", orig, row[3], QUARANTINE, "out_of_range", None, {}))
        elif kind == "loss":
            orig = row[9]
            row[9] = cn_amount(d.rng.randint(1, 99))[:-1]  # "约五十" (万元 column)
            rec.append(("直接经济损失（万元）", "unparseable_number", orig, row[9], FLAG, None, None, {}))
        elif kind == "deaths":
            orig, row[7] = row[7], str(-d.rng.randint(1, 3))
            rec.append(("死亡人数", "out_of_range", orig, row[7], QUARANTINE, "out_of_range", None, {}))
        elif kind == "missing":
            orig, row[0] = row[0], ""
            rec.append(("事故编号", "missing_required", orig, "", QUARANTINE, "missing_required", None, {}))
        elif kind == "uscc":
            val, code, exp, reason, ev, extra = d.corrupt_uscc(e.uscc, has_name=True)
            row[1] = val
            rec.append(("统一社会信用代码", code, e.uscc, val, exp, reason, ev, extra))
        n = self.w.write(row)
        self.entity(FILE, n, e.uscc, "统一社会信用代码+企业名称" if row[1] else "企业名称",
                    *name_outcome(e, row[1], variant_of(rec), None))
        if row[1] == e.uscc:
            legacy_flag(self, FILE, n, "统一社会信用代码", e)
        for fld, code, orig, inj, exp, reason, ev, extra in rec:
            d.defect(FILE, n, fld, code, orig, inj, exp, reason, ev, **extra)
        if not rec:
            d.maybe_duplicate(self.w, FILE, row, n, e.uscc, "统一社会信用代码+企业名称" if row[1] else "企业名称")
