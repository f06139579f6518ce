"""双重预防机制 (risk grading + hidden-danger investigation) system.

Why: this is the richest chain in the graph — 风险点 → 风险分析单元 → 风险事件
→ 管控措施 → 排查任务 → 排查记录 → 隐患 → 整改 — and the place where enterprises
*report* their own risk levels (sometimes inconsistently with L×E×C).  Hidden
danger texts and rectification measures come from small fixed catalogues so a
recommender can learn "this hazard is fixed like that"; factor classes
(GB/T 13861) are '|'-joined so N-K coupling has joint frequencies to work on.

Guarantee: no clean row references a row that the truth says must be
quarantined (rectifications of a quarantined hidden danger are not emitted).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from ..context import EntState, Source
from ..dirt import DefectRecord
from ..formats import bad_date, rand_date
from ..hazards import FACTORS, GB6441, HIDDEN_DANGERS, MEASURE_TYPES, MEASURES, RISK_POINTS
from ..names import person
from ..regions import jitter
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import legacy_flag

RP = "dual_prevention/risk_points.csv"
AU = "dual_prevention/risk_analysis_units.csv"
EV = "dual_prevention/risk_events.csv"
CM = "dual_prevention/control_measures.csv"
TK = "dual_prevention/inspection_tasks.csv"
RC = "dual_prevention/inspection_records.csv"
HD = "dual_prevention/hidden_dangers.csv"
RF = "dual_prevention/rectifications.csv"
EP = "dual_prevention/emergency_plans.csv"

RP_HEADER = ["风险点编号", "统一社会信用代码", "风险点名称", "风险点类型", "评估方法", "L", "E", "C", "S", "风险值",
             "风险等级", "经度", "纬度"]
AU_HEADER = ["分析单元编号", "风险点编号", "分析单元名称", "责任部门", "责任人"]
EV_HEADER = ["风险事件编号", "分析单元编号", "风险事件名称", "事故类型代码", "事故类型"]
CM_HEADER = ["管控措施编号", "风险事件编号", "措施类型", "措施内容", "责任岗位"]
TK_HEADER = ["排查任务编号", "管控措施编号", "分析单元编号", "排查内容", "排查周期", "岗位", "责任人", "开始日期", "任务状态"]
RC_HEADER = ["排查记录编号", "排查任务编号", "排查时间", "排查人", "排查结果"]
HD_HEADER = ["隐患编号", "统一社会信用代码", "风险点编号", "隐患名称", "隐患描述", "隐患等级", "隐患类别", "隐患来源",
             "来源记录编号", "来源检查编号", "发现日期", "整改期限", "状态", "整改责任人"]
RF_HEADER = ["整改编号", "隐患编号", "整改措施", "完成日期", "验收日期", "验收人", "验收结论", "是否复发"]
EP_HEADER = ["预案编号", "统一社会信用代码", "预案名称", "预案类型", "备案日期", "关联风险点编号"]

L_LEC, E_LEC, C_LEC = (10, 6, 3, 1, 0.5, 0.2, 0.1), (10, 6, 3, 2, 1, 0.5), (100, 40, 15, 7, 3, 1)
EDGES = {20, 70, 160, 320}
DEPTS = ("生产部", "安全环保部", "设备部", "储运车间", "一车间", "二车间", "采矿车间", "选矿车间", "动力车间")
CYCLES = ("每班", "每天", "每周", "每月", "每季度")
STATUS_OPEN = ("已上报", "已交办", "整改中")
HD_START = date(2024, 1, 1)


def lec_colour(D: float) -> str:
    """Default four-colour mapping (standards.md §3): ≥320 红, 160–320 橙, 70–160 黄, <70 蓝."""
    return "红" if D >= 320 else "橙" if D >= 160 else "黄" if D >= 70 else "蓝"


def ls_colour(R: float) -> str:
    """Default LS bands: 20–25 红, 9–16 橙, 4–8 黄, 1–3 蓝."""
    return "红" if R >= 20 else "橙" if R >= 9 else "黄" if R >= 4 else "蓝"


def _fmt(x: float) -> str:
    return f"{x:g}"


class DualPrevention(Source):
    id = "dual_prevention"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.wrp = self.csv(RP, RP_HEADER)
        self.wau = self.csv(AU, AU_HEADER)
        self.wev = self.csv(EV, EV_HEADER)
        self.wcm = self.csv(CM, CM_HEADER)
        self.wtk = self.csv(TK, TK_HEADER)
        self.wrc = self.csv(RC, RC_HEADER)
        self.whd = self.csv(HD, HD_HEADER)
        self.wrf = self.csv(RF, RF_HEADER)
        self.wep = self.csv(EP, EP_HEADER)
        self.c = dict.fromkeys(("rp", "au", "ev", "cm", "tk", "rc", "hd", "rf", "ep"), 0)
        self._found: list[tuple[str, str, datetime]] = []  # (record id, risk point id, when)

    def _id(self, k: str, prefix: str, width: int = 9) -> str:
        self.c[k] += 1
        return f"{prefix}{self.c[k]:0{width}d}"

    # -- risk grading chain ------------------------------------------------------------------
    def _assess(self, sev: int) -> tuple[str, list[str], float, str]:
        rng = self.rng
        if rng.random() < 0.3:
            hi = 5 if sev >= 2 else 4
            L: float = rng.choices((1, 2, 3, 4, 5), (30, 30, 22, 12, 6))[0]
            S = rng.randint(max(1, sev), hi)
            R = L * S
            return "LS", [str(L), "", "", str(S)], R, ls_colour(R)
        for _ in range(50):
            L = rng.choices(L_LEC, (1, 4, 14, 30, 25, 15, 11))[0]
            E = rng.choices(E_LEC, (4 + 6 * (sev >= 2), 25, 20, 20, 18, 13))[0]
            C = rng.choices(C_LEC, ((1, 5, 20, 40, 24, 10), (1, 10, 35, 35, 14, 5), (2, 25, 40, 25, 6, 2),
                                    (4, 35, 40, 17, 3, 1))[sev])[0]
            D = L * E * C
            if D not in EDGES:
                break
        return "LEC", [_fmt(L), _fmt(E), _fmt(C), ""], D, lec_colour(D)

    def emit(self, e, st: EntState) -> None:
        rng = self.rng
        types = list(RISK_POINTS[e.sector])
        if e.sector == "非煤矿山" and not st.ponds:
            types = [t for t in types if t.name != "尾矿库"]
        if e.sector == "非煤矿山" and e.industry.subtype == "露天矿山":
            types = [t for t in types if t.name not in ("井下采场", "提升系统", "井下运输巷道", "井下排水系统")]
        lo, hi = {"危险化学品": (3, 8), "非煤矿山": (3, 7), "工贸": (2, 5)}[e.sector]
        chosen = rng.sample(types, min(len(types), rng.randint(lo, hi)))
        chems = [c for cs in st.unit_chems.values() for c in cs] or list(e.industry.chemicals) or ["危化品"]
        end = e.active_until(self.today)
        for t in chosen:
            chem = rng.choice(chems).replace("/", "")
            name = t.name.format(chem=chem)
            rp_id = self._id("rp", "FXD")
            method, vals, value, colour = self._assess(t.severity)
            lon, lat = jitter(rng, e.lon, e.lat, 0.002)
            row = [rp_id, e.uscc, name, t.kind, method, *vals, _fmt(value), colour, f"{lon:.6f}", f"{lat:.6f}"]
            st.risk_points.append((rp_id, name, colour))
            self._write_rp(e, row)
            for k in range(rng.choice((1, 1, 2))):
                au_id = self._id("au", "FXDY")
                suffixes = ("-设备本体", "-作业过程", "-周边环境", f"-{k + 1}#")
                au_name = name + ("" if k == 0 and rng.random() < 0.5 else rng.choice(suffixes))
                self._plain(self.wau, AU, [au_id, rp_id, au_name, rng.choice(DEPTS), person(rng)])
                first_cm = None
                evs = rng.sample(t.events, rng.randint(1, len(t.events)))
                for ev_name, code in evs:
                    ev_id = self._id("ev", "FXSJ")
                    self._plain(self.wev, EV, [ev_id, au_id, ev_name.format(chem=chem), code, GB6441[code]])
                    cat = MEASURES.get(code, MEASURES["default"])
                    kinds = [MEASURE_TYPES[0] if rng.random() < 0.6 else MEASURE_TYPES[1]]
                    kinds += rng.sample([m for m in MEASURE_TYPES if m != kinds[0]], rng.choice((0, 1, 1, 2)))
                    for mk in kinds:
                        cm_id = self._id("cm", "GKCS")
                        first_cm = first_cm or cm_id
                        measure = rng.choice(cat[mk])
                        owner = rng.choice(("班组长", "岗位操作工", "车间主任", "安全员", "设备员"))
                        self._plain(self.wcm, CM, [cm_id, ev_id, mk, measure, owner])
                tk_id = self._id("tk", "PCRW")
                cycle = rng.choice(CYCLES)
                start = rand_date(rng, date(2022, 1, 1), date(2024, 6, 30))
                self._plain(self.wtk, TK, [tk_id, first_cm, au_id, "检查" + au_name + "管控措施落实情况", cycle,
                                           rng.choice(("班组长", "岗位操作工", "车间主任", "安全员")), person(rng),
                                           start.isoformat(), "执行中" if e.active else "已停止"])
                self._records(e, tk_id, rp_id, end)

    def _records(self, e, tk_id: str, rp_id: str, end: date) -> None:
        rng, d = self.rng, self.dirt
        p = 0.04 + 0.22 * e.risk
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            if end <= HD_START:
                return
            day = rand_date(rng, HD_START, end)
            when = datetime(day.year, day.month, day.day, rng.randrange(7, 20), rng.randrange(60))
            found = rng.random() < p
            rc_id = self._id("rc", "PCJL", 10)
            row = [rc_id, tk_id, when.strftime("%Y-%m-%d %H:%M:%S"), person(rng), "发现隐患" if found else "正常"]
            if not found and d.hit(0.5):
                orig = row[2]
                row[2] = bad_date(d.rng)
                n = self.wrc.write(row)
                d.defect(RC, n, "排查时间", "unparseable_date", orig, row[2], QUARANTINE, "unparseable_date", None)
                continue
            n = self.wrc.write(row)
            if found:
                self._found.append((rc_id, rp_id, when))
            else:
                d.maybe_duplicate(self.wrc, RC, row, n, mult=0.3)

    def _plain(self, w, file: str, row: list) -> None:
        n = w.write(row)
        self.dirt.maybe_duplicate(w, file, row, n, mult=0.3)

    def _write_rp(self, e, row: list) -> None:
        d = self.dirt
        rec = None
        kind = None
        if d.hit():
            kind = d.choose([("colour", 3), ("coords", 2)] + ([("uscc_lower", 1)] if not e.legacy else []))
        if kind == "colour":
            orig = row[10]
            row[10] = d.rng.choice([c for c in ("红", "橙", "黄", "蓝") if c != orig])
            rec = ("风险等级", "conflicting_value", orig, row[10], FLAG, None, orig,
                   {"other_field": "风险值", "note": "reported colour disagrees with the default mapping of 风险值"})
        elif kind == "coords":
            lo, la, how = d.bad_coords()
            orig = f"{row[11]},{row[12]}"
            row[11], row[12] = f"{lo:.6f}", f"{la:.6f}"
            rec = ("经度,纬度", "out_of_range", orig, f"{row[11]},{row[12]}", FLAG, None, None, {"coord_kind": how})
        elif kind == "uscc_lower" and e.uscc.lower() != e.uscc:
            row[1] = e.uscc.lower()
            rec = ("统一社会信用代码", "uscc_lowercase", e.uscc, row[1], REPAIR, None, e.uscc, {})
        n = self.wrp.write(row)
        self.entity(RP, n, e.uscc, "统一社会信用代码")
        if row[1] == e.uscc:
            legacy_flag(self, RP, n, "统一社会信用代码", e)
        if rec:
            fld, code, orig, inj, exp, reason, ev, extra = rec
            d.defect(RP, n, fld, code, orig, inj, exp, reason, ev, **extra)
        else:
            d.maybe_duplicate(self.wrp, RP, row, n, e.uscc, "统一社会信用代码")

    # -- hidden dangers, rectifications, emergency plans (after enforcement) ------------------
    def emit_after(self, e, st: EntState) -> None:
        rng = self.rng
        cat = HIDDEN_DANGERS[e.sector]
        sources: list[tuple[str, str, str, datetime]] = []  # (来源, record id, inspection id, when)
        for rc_id, _rp_id, when in self._found:
            sources.append(("企业自查", rc_id, "", when))
        self._found.clear()
        for ins_id, day, problems in st.inspections:
            for _ in range(min(problems, 2)):
                sources.append(("执法检查", "", ins_id, datetime(day.year, day.month, day.day, 10)))
        if rng.random() < 0.02 + 0.05 * e.risk:
            end = e.active_until(self.today)
            if end > HD_START:
                day = rand_date(rng, HD_START, end)
                sources.append(("群众举报", "", "", datetime(day.year, day.month, day.day, 9)))
        rps = st.risk_points
        for origin, rc_id, ins_id, when in sources:
            p_major = 0.04 + 0.25 * e.risk
            pool = [h for h in cat if h[2] == (rng.random() < p_major)] or list(cat)
            desc, factors, major, measures = rng.choice(pool)
            fs = set(factors)
            if rng.random() < 0.18:
                fs.add(rng.choice(FACTORS))
            factor_txt = "|".join(f for f in FACTORS if f in fs)
            rp_id = rng.choice(rps)[0] if rps else ""
            found = when.date()
            deadline = found + timedelta(days=rng.randint(30, 120) if major else rng.randint(3, 30))
            status, done = self._status(e, found, deadline)
            hd_id = self._id("hd", "YH", 10)
            detail = desc + "，位于" + (next(n for i, n, _ in rps if i == rp_id) if rp_id else "厂区")
            row = [hd_id, e.uscc, rp_id, desc, detail, "重大" if major else "一般", factor_txt, origin, rc_id, ins_id,
                   found.isoformat(), deadline.isoformat(), status, person(rng)]
            ok = self._write_hd(e, row)
            if ok:
                self._rectify(e, hd_id, found, deadline, status, done, measures)
        self._plans(e, st)

    def _status(self, e, found: date, deadline: date) -> tuple[str, date | None]:
        rng = self.rng
        last = e.active_until(self.today)
        if deadline < self.today:
            if rng.random() < 0.9 - 0.5 * e.risk:
                late = rng.random() < 0.1 + 0.3 * e.risk
                done = deadline + timedelta(days=rng.randint(1, 40)) if late else \
                    found + timedelta(days=rng.randint(0, max(0, (deadline - found).days)))
                done = min(done, last)
                return ("已验收" if rng.random() < 0.85 else "已整改"), done
            return rng.choices(STATUS_OPEN, (10, 30, 60))[0], None
        s = rng.choices(("已上报", "已交办", "整改中", "已整改", "已验收"), (10, 25, 45, 15, 5))[0]
        if s in ("已整改", "已验收"):
            return s, min(found + timedelta(days=rng.randint(0, max(0, (self.today - found).days - 1))), last)
        return s, None

    def _write_hd(self, e, row: list) -> bool:
        """Write a hidden danger; False if the truth says it must be quarantined."""
        d = self.dirt
        rec: DefectRecord | None = None
        kind = None
        if d.hit():
            menu = [("orphan_rp", 3), ("missing", 1), ("bad_date", 1), ("future", 1)]
            if not e.legacy:
                menu.append(("uscc", 2))
            kind = d.choose(menu)
        if kind == "orphan_rp":
            orig = row[2]
            row[2] = f"FXD{900000000 + d.rng.randrange(99999999):09d}"
            rec = ("风险点编号", "orphan_reference", orig, row[2], FLAG, None, None, {})
        elif kind == "missing":
            orig, row[0] = row[0], ""
            rec = ("隐患编号", "missing_required", orig, "", QUARANTINE, "missing_required", None, {})
        elif kind == "bad_date":
            orig, row[10] = row[10], bad_date(d.rng)
            rec = ("发现日期", "unparseable_date", orig, row[10], QUARANTINE, "unparseable_date", None, {})
        elif kind == "future":
            orig = row[10]
            row[10] = (self.today + timedelta(days=d.rng.randint(30, 700))).isoformat()
            rec = ("发现日期", "out_of_range", orig, row[10], QUARANTINE, "out_of_range", None, {})
        elif kind == "uscc":
            val, code, exp, reason, ev, extra = d.corrupt_uscc(e.uscc, has_name=False)
            row[1] = val
            rec = ("统一社会信用代码", code, e.uscc, val, exp, reason, ev, extra)
        n = self.whd.write(row)
        self.entity(HD, n, e.uscc, "统一社会信用代码")
        if row[1] == e.uscc:
            legacy_flag(self, HD, n, "统一社会信用代码", e)
        if rec:
            fld, code, orig, inj, exp, reason, ev, extra = rec
            d.defect(HD, n, fld, code, orig, inj, exp, reason, ev, **extra)
            return exp != QUARANTINE
        d.maybe_duplicate(self.whd, HD, row, n, e.uscc, "统一社会信用代码")
        return True

    def _rectify(self, e, hd_id: str, found: date, deadline: date, status: str, done: date | None,
                 measures: tuple[str, ...]) -> None:
        rng, d = self.rng, self.dirt
        rows: list[tuple[str, date, date | None, str, str]] = []  # measure, done, accepted, verdict, relapse
        last = e.active_until(self.today)
        if status == "整改中" and rng.random() < 0.15 and last > found + timedelta(days=2):
            # a failed first attempt: acceptance rejected
            day = found + timedelta(days=rng.randint(1, max(1, min((last - found).days - 1, 20))))
            rows.append((rng.choice(measures), day, day + timedelta(days=1), "不合格", "否"))
        if done is not None:
            acc = min(done + timedelta(days=rng.randint(0, 7)), last) if status == "已验收" else None
            text = rng.choice(measures)
            if len(measures) > 1 and rng.random() < 0.25:
                text = "；".join(measures)
            relapse = "是" if rng.random() < 0.04 + 0.15 * e.risk else "否"
            rows.append((text, done, acc, "合格" if acc else "", relapse))
        for text, dn, acc, verdict, relapse in rows:
            rf_id = self._id("rf", "ZG", 10)
            row = [rf_id, hd_id, text, dn.isoformat(), acc.isoformat() if acc else "", person(rng) if acc else "",
                   verdict, relapse]
            kind = d.choose([("orphan", 2), ("bad_date", 1)]) if d.hit() else None
            if kind == "orphan":
                orig, row[1] = row[1], f"YH{9000000000 + d.rng.randrange(999999999):010d}"
                n = self.wrf.write(row)
                d.defect(RF, n, "隐患编号", "orphan_reference", orig, row[1], QUARANTINE, "orphan_reference", None)
            elif kind == "bad_date":
                orig, row[3] = row[3], bad_date(d.rng)
                n = self.wrf.write(row)
                d.defect(RF, n, "完成日期", "unparseable_date", orig, row[3], QUARANTINE, "unparseable_date", None)
            else:
                n = self.wrf.write(row)
                d.maybe_duplicate(self.wrf, RF, row, n)

    def _plans(self, e, st: EntState) -> None:
        rng, d = self.rng, self.dirt
        if not st.risk_points:
            return
        end = e.active_until(self.today)
        start = max(date(2021, 1, 1), e.established)
        if end <= start:
            return
        plans = [("综合应急预案", e.name + "生产安全事故综合应急预案", [p[0] for p in st.risk_points])]
        reds = [p for p in st.risk_points if p[2] in ("红", "橙")] or st.risk_points[:1]
        for p in rng.sample(reds, min(len(reds), rng.randint(1, 3))):
            plans.append(("专项应急预案", e.name + p[1] + "事故专项应急预案", [p[0]]))
        for p in rng.sample(st.risk_points, min(len(st.risk_points), rng.randint(0, 4))):
            plans.append(("现场处置方案", p[1] + "现场处置方案", [p[0]]))
        filed = rand_date(rng, start, end)
        for typ, name, rps in plans:
            self.c["ep"] += 1
            ep_id = f"YA{e.county.code}{self.c['ep']:07d}"
            row = [ep_id, e.uscc, name, typ, filed.isoformat(), "|".join(rps)]
            kind = d.choose([("orphan", 2), ("bad_date", 1)]) if d.hit() else None
            rec: DefectRecord | None = None
            if kind == "orphan":
                bad = f"FXD{900000000 + d.rng.randrange(99999999):09d}"
                orig = row[5]
                row[5] = "|".join(rps + [bad])
                rec = ("关联风险点编号", "orphan_reference", orig, row[5], FLAG, None, orig, {"orphan_id": bad})
            elif kind == "bad_date":
                orig, row[4] = row[4], bad_date(d.rng)
                rec = ("备案日期", "unparseable_date", orig, row[4], QUARANTINE, "unparseable_date", None, {})
            n = self.wep.write(row)
            self.entity(EP, n, e.uscc, "统一社会信用代码")
            legacy_flag(self, EP, n, "统一社会信用代码", e)
            if rec:
                fld, code, orig, inj, exp, reason, ev, extra = rec
                d.defect(EP, n, fld, code, orig, inj, exp, reason, ev, **extra)
            else:
                d.maybe_duplicate(self.wep, EP, row, n, e.uscc, "统一社会信用代码")
