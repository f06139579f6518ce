"""信用 (credit) lists: 严重失信主体名单, 联合惩戒对象, 经营异常名录.

Why: credit listings are both a risk signal and another place where names are
re-typed with the USCC sometimes missing.  Listings follow the enterprise's
history: fatal accidents → 严重失信, serious failures → 联合惩戒, inactivity →
经营异常.
"""
from __future__ import annotations

from datetime import date, timedelta

from ..context import EntState, Source
from ..formats import bad_date, rand_date
from ..truth import QUARANTINE
from .common import authority_level, legacy_flag, name_outcome, variant_of

FILE = "credit/credit_records.csv"
HEADER = ["统一社会信用代码", "企业名称", "名单类型", "列入日期", "列入原因", "认定机关", "移出日期"]


class Credit(Source):
    id = "credit"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.w = self.csv(FILE, HEADER)

    def emit(self, e, st: EntState) -> None:
        rng = self.rng
        last = self.today - timedelta(days=1)
        entries: list[tuple[str, date, str, str, int]] = []
        if rng.random() < (0.3 if not e.active else 0.015 + 0.03 * e.risk):
            day = rand_date(rng, date(2021, 1, 1), min(last, e.end or last))
            reason = rng.choice(("未按规定期限公示年度报告", "通过登记的住所或者经营场所无法联系", "公示企业信息隐瞒真实情况、弄虚作假"))
            entries.append(("经营异常名录", day, reason, e.county.full_name + "市场监督管理局", rng.randint(30, 500)))
        for acc in st.accidents:
            if acc["grade"] != "一般" or (acc["deaths"] >= 1 and rng.random() < 0.3):
                day = acc["date"] + timedelta(days=rng.randint(60, 200))
                if day < last:
                    entries.append(("严重失信主体名单", day, f"发生{acc['grade']}生产安全事故，负有责任",
                                    "河北省应急管理厅" if acc["grade"] != "一般" else e.county.city_name + "应急管理局",
                                    rng.randint(365, 1100)))
                    if rng.random() < 0.5:
                        entries.append(("联合惩戒对象", day + timedelta(days=rng.randint(10, 60)),
                                        "安全生产领域失信行为联合惩戒", "河北省应急管理厅", rng.randint(365, 1100)))
        if st.penalties >= 3 and rng.random() < 0.3:
            day = rand_date(rng, date(2024, 1, 1), last)
            entries.append(("严重失信主体名单", day, "拒不执行安全生产行政执法决定", e.county.city_name + "应急管理局",
                            rng.randint(365, 1100)))
        for typ, day, reason, org, keep in entries:
            if day >= last:
                continue
            out = day + timedelta(days=keep)
            removed = out.isoformat() if out < last and rng.random() < 0.6 else ""
            row = [e.uscc if rng.random() > 0.1 else "", e.name, typ, day.isoformat(), reason, org, removed]
            self._write(e, row)

    def _write(self, e, row: list) -> None:
        d = self.dirt
        rec = []
        misspelt = d.misspell(e, row, 1, "企业名称", typo_rate=0.2)
        if misspelt:
            rec.append(misspelt)
        kind = None
        if not rec and d.hit():
            menu = [("missing", 1), ("bad_date", 1)] + ([("uscc", 2)] if row[0] and not e.legacy else [])
            kind = d.choose(menu)
        if kind == "missing":
            orig, row[0], row[1] = row[1], "", ""
            rec.append(("企业名称", "missing_required", orig, "", QUARANTINE, "missing_required", None,
                        {"also_blank": ["统一社会信用代码"]}))
        elif kind == "bad_date":
            orig, row[3] = row[3], bad_date(d.rng)
            rec.append(("列入日期", "unparseable_date", orig, row[3], QUARANTINE, "unparseable_date", None, {}))
        elif kind == "uscc":
            val, code, exp, reason, ev, extra = d.corrupt_uscc(e.uscc, has_name=True)
            row[0] = val
            rec.append(("统一社会信用代码", code, e.uscc, val, exp, reason, ev, extra))
        via = ("统一社会信用代码+企业名称" if row[0] and row[1] else "统一社会信用代码" if row[0]
               else "企业名称" if row[1] else "none")
        n = self.w.write(row)
        self.entity(FILE, n, e.uscc, via, *name_outcome(e, row[0], variant_of(rec), authority_level(e, row[5])))
        if row[0] == e.uscc:
            legacy_flag(self, FILE, n, "统一社会信用代码", e)
        for fld, code, orig, inj, exp, reason, ev, extra in rec:
            d.defect(FILE, n, fld, code, orig, inj, exp, reason, ev, **extra)
        if not rec:
            d.maybe_duplicate(self.w, FILE, row, n, e.uscc, via)
        if d.hit(0.15):
            self._orphan(e)

    def _orphan(self, e) -> None:
        d = self.dirt
        name = self.ctx.names.unregistered(e.county, e.industry.words)
        code = self.ctx.unregistered_uscc(d.rng, e.county.code)
        row = [code, name, "经营异常名录", (self.today - timedelta(days=d.rng.randint(30, 600))).isoformat(),
               "通过登记的住所或者经营场所无法联系", e.county.full_name + "市场监督管理局", ""]
        n = self.w.write(row)
        self.entity(FILE, n, None, "统一社会信用代码+企业名称")
        d.defect(FILE, n, "统一社会信用代码", "orphan_reference", None, code, QUARANTINE, "orphan_reference", None,
                 note="USCC and name exist in no source")
