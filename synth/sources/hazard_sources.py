"""危险化学品重大危险源 system: production / storage units and their inventories.

Why: S = Σ q/Q and R = α Σ β q/Q (GB 18218-2018) are computed from these two
files.  The generator *designs* each unit: ~30 % of chemical enterprises get a
unit with S ≥ 1 whose R lands in a chosen grade (一级 … 四级), the rest stay
below 1.  The clean S/R per unit go to truth/hazard_units.jsonl.
"""
from __future__ import annotations

from ..chemicals import CHEMICALS, alpha, level, s_and_r
from ..context import EntState, Source
from ..dirt import DefectRecord, PlainDefectRecord
from ..formats import cn_amount, quantity
from ..regions import jitter
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import legacy_flag

UNITS = "hazard_sources/units.csv"
INV = "hazard_sources/inventories.csv"
U_HEADER = ["单元编号", "统一社会信用代码", "单元名称", "单元类型", "厂界外500米常住人口", "经度", "纬度"]
I_HEADER = ["单元编号", "化学品名称", "CAS号", "危险性类别", "最大存量", "含量"]
#: P(enterprise has a major unit) by subtype / park; tuned so ≈30 % of chemical enterprises reach S ≥ 1.
P_MAJOR = {"生产_park": 0.58, "生产": 0.42, "使用": 0.25, "经营": 0.22}
#: Desired grade mix among major units.
GRADES = (("一级", 0.06), ("二级", 0.12), ("三级", 0.37), ("四级", 0.45))
GRADE_R = {"一级": (105, 400), "二级": (52, 96), "三级": (11, 48), "四级": (1.2, 9.5)}


def _residents(rng, in_park: bool) -> int:
    x = rng.random()
    if in_park:
        return 0 if x < 0.7 else rng.randint(1, 45)
    if x < 0.15:
        return 0
    if x < 0.45:
        return rng.randint(1, 29)
    if x < 0.60:
        return rng.randint(30, 49)
    if x < 0.78:
        return rng.randint(50, 99)
    return rng.randint(100, 900)


class HazardSources(Source):
    id = "hazard_sources"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.wu = self.csv(UNITS, U_HEADER)
        self.wi = self.csv(INV, I_HEADER)
        self.n_units = 0
        self.major_ent = 0
        self.chem_ent = 0

    # -- design ------------------------------------------------------------------------------
    def _design(self, chems: list[str], residents: int, major: bool) -> list[tuple[str, float]]:
        """Quantities (t) for ``chems`` so the unit is / is not a major hazard source."""
        rng = self.rng
        shares = [rng.random() + 0.2 for _ in chems]
        tot = sum(shares)
        shares = [s / tot for s in shares]
        a = alpha(residents)
        if not major:
            S = rng.uniform(0.03, 0.85)
            return [(c, S * s * CHEMICALS[c].Q) for c, s in zip(chems, shares, strict=False)]
        for _ in range(30):
            grade = rng.choices([g for g, _ in GRADES], [w for _, w in GRADES])[0]
            lo, hi = GRADE_R[grade]
            R = rng.uniform(lo, hi)
            S = R / (a * sum(CHEMICALS[c].beta * s for c, s in zip(chems, shares, strict=False)))
            if 1.08 <= S <= 400:
                return [(c, S * s * CHEMICALS[c].Q) for c, s in zip(chems, shares, strict=False)]
        S = rng.uniform(1.1, 3.0)
        return [(c, S * s * CHEMICALS[c].Q) for c, s in zip(chems, shares, strict=False)]

    def emit(self, e, st: EntState) -> None:
        if e.sector != "危险化学品":
            return
        self.chem_ent += 1
        if not e.has_units:
            return
        rng = self.rng
        ind = e.industry
        key = "生产_park" if ind.subtype == "生产" and e.park else ind.subtype
        major_ent = rng.random() < P_MAJOR[key] and ind.code != "5265"
        n_units = 1 if ind.subtype == "经营" else rng.choice((1, 1, 2, 2, 3))
        major_idx = rng.randrange(n_units) if major_ent else -1
        best = None  # the largest R of a major unit, if any
        for k in range(n_units):
            self.n_units += 1
            uid = f"WXY{self.n_units:08d}"
            utype = "储存单元" if ind.subtype == "经营" or rng.random() < 0.55 else "生产单元"
            pool = list(ind.chemicals)
            if "光气" in pool and rng.random() > 0.04:
                pool.remove("光气")
            m = min(len(pool), rng.choice((1, 1, 2, 2, 3, 4)))
            chems = rng.sample(pool, m)
            if "甲醛" in chems and "甲醛溶液" in chems:  # one inventory row per CAS number in a unit
                chems.remove("甲醛溶液")
            uname = ("、".join(chems) + ("储罐区" if utype == "储存单元" else "生产装置")).replace("/", "")
            residents = _residents(rng, e.park is not None)
            items = self._design(chems, residents, k == major_idx)
            lon, lat = jitter(rng, e.lon, e.lat, 0.002)
            st.units.append((uid, uname, utype))
            st.unit_chems[uid] = chems
            affected = self._write_unit(e, uid, uname, utype, residents, lon, lat)
            # inventories (quantised to kg inside formats.quantity)
            clean: list[tuple[str, float]] = []
            for c, q in items:
                affected |= self._write_inventory(e, uid, c, q, clean)
            S, R = s_and_r(clean, residents)
            major = S >= 1
            if major and (best is None or R > best):
                best = R
            self.ctx.truth.units.write({
                "unit_id": uid, "uscc": e.uscc, "unit_type": utype, "residents_500m": residents,
                "alpha": alpha(residents),
                "items": [{"chemical": c, "cas": CHEMICALS[c].cas, "category": CHEMICALS[c].category,
                           "content_pct": CHEMICALS[c].content or None, "q_t": q, "Q_t": CHEMICALS[c].Q,
                           "Q_source": CHEMICALS[c].source, "table1_entry": CHEMICALS[c].entry,
                           "beta": CHEMICALS[c].beta} for c, q in clean],
                "S": round(S, 6), "R": round(R, 6), "major": major, "level": level(R) if major else None,
                "affected_by_defects": affected})
        if best is not None:
            self.major_ent += 1
            st.major_hazard = level(best)

    def _write_unit(self, e, uid, uname, utype, residents, lon, lat) -> bool:
        d = self.dirt
        row = [uid, e.uscc, uname, utype, str(residents), f"{lon:.6f}", f"{lat:.6f}"]
        rec: DefectRecord | None = None
        kind = None
        if d.hit():
            menu = [("residents", 2), ("coords", 2)] + ([("uscc_lower", 1)] if not e.legacy else [])
            kind = d.choose(menu)
        if kind == "residents":
            orig, row[4] = row[4], str(-d.rng.randint(1, 9))
            rec = ("厂界外500米常住人口", "out_of_range", orig, row[4], FLAG, None, None, {})
        elif kind == "coords":
            lo, la, how = d.bad_coords()
            orig = f"{row[5]},{row[6]}"
            row[5], row[6] = f"{lo:.6f}", f"{la:.6f}"
            rec = ("经度,纬度", "out_of_range", orig, f"{row[5]},{row[6]}", FLAG, None, None, {"coord_kind": how})
        elif kind == "uscc_lower":
            low = e.uscc.lower()
            if low != e.uscc:
                row[1] = low
                rec = ("统一社会信用代码", "uscc_lowercase", e.uscc, low, REPAIR, None, e.uscc, {})
        n = self.wu.write(row)
        self.entity(UNITS, n, e.uscc, "统一社会信用代码")
        if row[1] == e.uscc:
            legacy_flag(self, UNITS, n, "统一社会信用代码", e)
        if rec:
            fld, code, orig, inj, exp, reason, ev, extra = rec
            d.defect(UNITS, n, fld, code, orig, inj, exp, reason, ev, **extra)
        else:
            d.maybe_duplicate(self.wu, UNITS, row, n, e.uscc, "统一社会信用代码")
        return kind == "residents"

    def _write_inventory(self, e, uid: str, chem: str, q: float, clean: list) -> bool:
        """Write one inventory row; appends (chem, q_t) to ``clean``; True if the row will be quarantined."""
        rng, d = self.rng, self.dirt
        c = CHEMICALS[chem]
        text, canonical, t = quantity(rng, q)
        clean.append((chem, t))
        row = [uid, chem, c.cas, c.category, text, c.content]
        rec: list[PlainDefectRecord] = []
        if not canonical:
            rec.append(("最大存量", "quantity_unit", None, text, REPAIR, None, t))
        kind = d.choose([("negative", 2), ("unparseable", 1), ("orphan", 1), ("missing", 1)]) if d.hit() else None
        if kind == "negative":
            row[4] = "-" + text
            rec = [("最大存量", "out_of_range", text, row[4], QUARANTINE, "out_of_range", None)]
        elif kind == "unparseable":
            row[4] = cn_amount(max(1, min(99, round(t)))).replace("万", "吨")
            rec = [("最大存量", "unparseable_number", text, row[4], QUARANTINE, "unparseable_number", None)]
        elif kind == "orphan":
            row[0] = f"WXY{90000000 + d.rng.randrange(9999999):08d}"
            rec.append(("单元编号", "orphan_reference", uid, row[0], QUARANTINE, "orphan_reference", None))
        elif kind == "missing":
            row[0] = ""
            rec.append(("单元编号", "missing_required", uid, "", QUARANTINE, "missing_required", None))
        n = self.wi.write(row)
        for fld, code, orig, inj, exp, reason, ev in rec:
            d.defect(INV, n, fld, code, orig, inj, exp, reason, ev)
        if kind is None:
            d.maybe_duplicate(self.wi, INV, row, n, mult=0.5)
            return False
        return True
