"""行政许可 (licensing) system: safety licences as an XLSX export.

Why: licences are the second view of an enterprise (主要负责人, 单位地址) and
the place where registry values conflict.  Dates are real Excel date cells,
except those a clerk typed as text (date_format defects).
"""
from __future__ import annotations

from datetime import date, timedelta

from ..context import EntState, Source
from ..dirt import DefectRecord
from ..formats import bad_date, cn_date, dot_date
from ..industries import CHEM, MINE
from ..names import person, road
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import legacy_flag, variant_of

FILE = "licensing/licences.xlsx"
HEADER = ["许可证编号", "统一社会信用代码", "单位名称", "主要负责人", "单位地址", "许可类型", "许可范围",
          "发证日期", "有效期至", "发证机关", "状态"]
C = {h: i for i, h in enumerate(HEADER)}

SCOPE = {
    "2511": "汽油、柴油、液化石油气、苯等生产", "2521": "焦炭、粗苯、煤焦油、硫磺生产", "2611": "盐酸、硫酸生产",
    "2612": "烧碱、液氯、氢气、盐酸生产", "2613": "无机盐生产", "2614": "甲醇、甲醛、苯系物等有机化工原料生产",
    "2619": "乙炔、氢气生产", "2621": "液氨、尿素生产", "2631": "农药原药生产", "2641": "溶剂型涂料生产",
    "2651": "合成树脂生产", "2661": "化学试剂生产",
}


class Licensing(Source):
    id = "licensing"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.w = self.xlsx(FILE, HEADER, "许可证信息")
        self.seq: dict[str, int] = {}

    def _number(self, kind: str, e, year: int) -> str:
        k = kind + str(year)
        self.seq[k] = self.seq.get(k, 0) + 1
        n = self.seq[k]
        city = e.county.city_stem[0] if e.county.city_stem != "张家口" else "张"
        if kind == "WH":
            return f"（冀）WH安许证字〔{year}〕{n:06d}"
        if kind == "FM":
            return f"（冀）FM安许证字〔{year}〕{n:06d}"
        if kind == "JY":
            return f"冀{city}危化经字〔{year}〕{n:06d}"
        if kind == "SY":
            return f"冀{city}危化使字〔{year}〕{n:04d}"
        return f"（冀）3S{e.county.code}{year % 100:02d}{n:04d}"

    def _licences(self, e, st: EntState) -> list[tuple[str, str, str, str]]:
        """(number kind, 许可类型, 许可范围, 发证机关) the enterprise should hold."""
        ind = e.industry
        prov, city = "河北省应急管理厅", e.county.city_name + "应急管理局"
        out = []
        if ind.sector == CHEM:
            if ind.subtype == "生产":
                out.append(("WH", "安全生产许可证", SCOPE.get(ind.code, "危险化学品生产"), prov))
                if ind.code in ("2614", "2661", "2631") and self.rng.random() < 0.3:
                    out.append(("3S", "非药品类易制毒化学品生产备案", "丙酮、甲苯、盐酸等第三类易制毒化学品生产", city))
            elif ind.subtype == "使用":
                out.append(("SY", "危险化学品安全使用许可证", "甲醇、丙酮、甲苯等使用", city))
            else:
                scope = ("汽油、柴油（闭杯闪点≤60℃）零售" if ind.code == "5265" else
                         "天然气、液化石油气储存经营" if ind.code == "4511" else
                         "汽油、液化石油气批发（" + ("带储存" if e.has_units else "无储存") + "）" if ind.code == "5162" else
                         "甲醇、甲苯、苯、丙酮、乙酸乙酯（" + ("带储存" if e.has_units else "票据经营，不带储存") + "）")
                out.append(("JY", "危险化学品经营许可证", scope, city))
        elif ind.sector == MINE:
            out.append(("FM", "安全生产许可证", ind.name.replace("采选", "地下开采").replace("开采", "露天开采")
                        if ind.subtype == "露天矿山" else ind.name + "（地下开采）", prov))
            for _pid, pname in st.ponds:
                out.append(("FM", "安全生产许可证", pname + "尾矿库运行", prov))
        return out

    def emit(self, e, st: EntState) -> None:
        lic = self._licences(e, st)
        if not lic:
            return
        rng, d = self.rng, self.dirt
        for kind, typ, scope, org in lic:
            issued = date(2020, 1, 1) + timedelta(days=rng.randrange(365 * 6 + 200))
            history = [issued - timedelta(days=365 * 3 + rng.randint(-30, 30))] if rng.random() < 0.2 else []
            for k, iss in enumerate(history + [issued]):
                exp = iss + timedelta(days=365 * 3 - 1)
                if not e.active and e.end and iss > e.end:
                    continue
                status = ("注销" if not e.active else "有效" if exp >= self.today else "过期")
                if k < len(history):
                    status = "过期" if e.active else "注销"
                if status == "有效" and rng.random() < 0.01:
                    status = "暂扣"
                row = [self._number(kind, e, iss.year), e.uscc, e.name, e.legal_rep, e.address, typ, scope,
                       iss, exp, org, status]
                self._write(e, row, d)

    def _write(self, e, row: list, d) -> None:
        rec: list[DefectRecord] = []
        # baseline: ~15 % of date cells typed as text by clerks
        for column in ("发证日期", "有效期至"):
            if self.rng.random() < 0.075:
                dv: date = row[C[column]]
                txt = (dot_date if self.rng.random() < 0.6 else cn_date)(dv)
                row[C[column]] = txt
                rec.append((column, "date_format", dv.isoformat(), txt, REPAIR, None, dv.isoformat(), {}))
        kind = None
        if d.hit():
            menu = [("conflicting_value", 4), ("name_variant", 2), ("missing_required", 1),
                    ("unparseable_date", 1)]
            if not e.legacy:
                menu.append(("uscc", 2))
            kind = d.choose(menu)
        if kind == "conflicting_value":
            if d.rng.random() < 0.5:
                orig, new = e.legal_rep, person(d.rng)
                while new == orig:
                    new = person(d.rng)
                row[C["主要负责人"]] = new
                rec.append(("主要负责人", "conflicting_value", orig, new, FLAG, None, orig,
                            {"other_source": "market_registry", "other_field": "法定代表人"}))
            else:
                orig = e.address
                head = "河北省" + e.county.city_name + e.county.name
                new = head + road(d.rng) + f"{d.rng.randint(1, 999)}号"
                row[C["单位地址"]] = new
                rec.append(("单位地址", "conflicting_value", orig, new, FLAG, None, orig,
                            {"other_source": "market_registry", "other_field": "注册地址"}))
        elif kind == "name_variant":
            v = d.name_variant(e)
            if v:
                row[C["单位名称"]] = v[0]
                rec.append(("单位名称", "name_variant", e.name, v[0], REPAIR, None, e.name, {"variant": v[1]}))
        elif kind == "missing_required":
            orig = row[0]
            row[0] = ""
            rec.append(("许可证编号", "missing_required", orig, "", QUARANTINE, "missing_required", None, {}))
        elif kind == "unparseable_date":
            old = row[C["有效期至"]]
            orig = old.isoformat() if isinstance(old, date) else old
            rec = [r for r in rec if r[0] != "有效期至"]
            row[C["有效期至"]] = bad_date(d.rng)
            rec.append(("有效期至", "unparseable_date", orig, row[C["有效期至"]], QUARANTINE, "unparseable_date",
                        None, {}))
        elif kind == "uscc":
            val, code, exp, reason, ev, extra = d.corrupt_uscc(e.uscc, has_name=True)
            row[1] = val
            rec.append(("统一社会信用代码", code, e.uscc, val, exp, reason, ev, extra))
        n = self.w.write(row)
        # the legal representative and address are second fields: a variant name still links
        self.entity(FILE, n, e.uscc, "统一社会信用代码+单位名称", variant_of(rec) or "exact", "link")
        if row[1] == e.uscc:
            legacy_flag(self, FILE, n, "统一社会信用代码", e)
        for fld, code, orig, inj, exp, reason, ev, extra in rec:
            d.defect(FILE, n, fld, code, orig, inj, exp, reason, ev, **extra)
        if kind is None and not rec:
            d.maybe_duplicate(self.w, FILE, row, n, e.uscc, "统一社会信用代码+单位名称")
