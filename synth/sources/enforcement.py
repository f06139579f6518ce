"""执法 (enforcement) system: inspections and administrative penalties.

Why: this is where names are *typed by people*: inspectors often leave the USCC
blank and spell the name their own way, dates come in three spellings and
amounts in 元 or 万元.  The penalty export is UTF-8 but a few rows were pasted
from a GB18030 spreadsheet (wrong_encoding, repairable) and a few carry bytes
that decode in no encoding (quarantine encoding_error).
"""
from __future__ import annotations

from datetime import date, timedelta

from ..context import EntState, Source
from ..dirt import DefectRecord
from ..formats import bad_date, cn_amount, cn_date, mixed_date, money, out_of_range_date, rand_date
from ..hazards import ACCIDENT_VIOLATION, VIOLATIONS
from ..names import person
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import authority_level, legacy_flag, name_outcome, variant_of

INS = "enforcement/inspections.csv"
PEN = "enforcement/penalties.csv"
INS_HEADER = ["检查编号", "被检查单位", "统一社会信用代码", "执法机关", "检查日期", "检查类型", "执法人员", "发现问题数",
              "检查结论"]
PEN_HEADER = ["处罚决定书文号", "当事人名称", "统一社会信用代码", "违法行为", "处罚依据", "处罚种类", "罚款金额",
              "处罚日期", "决定机关", "关联检查编号"]
START = date(2023, 1, 1)
INS_TYPES = (("日常检查", 55), ("专项检查", 25), ("双随机", 20))


def conclusion(problems: int, rng) -> str:
    if problems == 0:
        return "未发现问题"
    if problems <= 2:
        return "责令限期整改"
    return rng.choice(("责令限期整改", "责令立即整改", "立案查处", "责令停产停业整顿" if problems > 6 else "立案查处"))


class Enforcement(Source):
    id = "enforcement"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.wi = self.csv(INS, INS_HEADER, "utf-8-sig")
        self.wp = self.csv(PEN, PEN_HEADER, "utf-8")
        self.n_ins: dict[int, int] = {}
        self.n_pen: dict[str, int] = {}

    def _authority(self, e) -> str:
        if e.industry.sector == "危险化学品" and e.industry.subtype == "生产" and self.rng.random() < 0.3:
            return e.county.city_name + "应急管理局"
        if self.rng.random() < 0.1:
            return "河北省应急管理厅"
        return e.county.full_name + "应急管理局"

    def emit(self, e, st: EntState) -> None:
        rng = self.rng
        end = e.active_until(self.today)
        if end <= START:
            return
        n = int(rng.expovariate(1 / (1.2 + 4 * e.risk)))
        if e.industry.code == "5265":
            n = n // 2
        for day in sorted(rand_date(rng, START, end) for _ in range(n)):
            self._inspection(e, st, day)
        for acc in st.accidents:  # 《安全生产法》第一百一十四条: fines by accident grade
            pen_day = acc["date"] + timedelta(days=rng.randint(40, 120))
            if acc["deaths"] > 0 and pen_day < end:
                lo, hi = {"一般": (30, 100), "较大": (100, 200), "重大": (200, 1000), "特别重大": (1000, 2000)}[acc["grade"]]
                amount = rng.randint(lo, hi) * 10000
                self._penalty(e, st, pen_day, ACCIDENT_VIOLATION, amount, "")

    # -- inspections -------------------------------------------------------------------------
    def _inspection(self, e, st: EntState, day: date) -> None:
        rng, d = self.rng, self.dirt
        y = day.year
        self.n_ins[y] = self.n_ins.get(y, 0) + 1
        ins_id = f"JC{e.county.code}{y}{self.n_ins[y]:06d}"
        problems = 0 if rng.random() < 0.45 - 0.3 * e.risk else int(rng.expovariate(1 / (1 + 5 * e.risk))) + 1
        date_txt, is_iso = mixed_date(rng, day, 0.55)
        blank_uscc = rng.random() < 0.45
        row = [ins_id, e.name, "" if blank_uscc else e.uscc, self._authority(e), date_txt,
               rng.choices([t for t, _ in INS_TYPES], [w for _, w in INS_TYPES])[0],
               person(rng) + "、" + person(rng), str(problems), conclusion(problems, rng)]
        rec: list[DefectRecord] = []
        if not is_iso:
            rec.append(("检查日期", "date_format", None, date_txt, REPAIR, None, day.isoformat(), {}))
        misspelt = d.misspell(e, row, 1, "被检查单位", typo_rate=0.3)
        if misspelt:
            rec.append(misspelt)
        kind = None
        if not any(r[1] == "name_variant" for r in rec) and d.hit():
            menu = [("missing_id", 1), ("missing_both", 1), ("bad_date", 1), ("odd_date", 1), ("problems", 1)]
            if row[2] and not e.legacy:
                menu.append(("uscc", 3))
            kind = d.choose(menu)
        quarantined = False
        if kind == "missing_id":
            orig, row[0] = row[0], ""
            rec.append(("检查编号", "missing_required", orig, "", QUARANTINE, "missing_required", None, {}))
        elif kind == "missing_both":
            orig, row[1], row[2] = row[1], "", ""
            rec.append(("被检查单位", "missing_required", orig, "", QUARANTINE, "missing_required", None,
                        {"also_blank": ["统一社会信用代码"]}))
        elif kind == "bad_date":
            rec = [r for r in rec if r[0] != "检查日期"]
            row[4] = bad_date(d.rng)
            rec.append(("检查日期", "unparseable_date", date_txt, row[4], QUARANTINE, "unparseable_date", None, {}))
        elif kind == "odd_date":
            rec = [r for r in rec if r[0] != "检查日期"]
            row[4], _ = out_of_range_date(d.rng, self.today)
            rec.append(("检查日期", "out_of_range", date_txt, row[4], QUARANTINE, "out_of_range", None, {}))
        elif kind == "problems":
            orig, row[7] = row[7], str(-d.rng.randint(1, 5))
            rec.append(("发现问题数", "out_of_range", orig, row[7], FLAG, None, None, {}))
        elif kind == "uscc":
            val, code, exp, reason, ev, extra = d.corrupt_uscc(e.uscc, has_name=True)
            row[2] = val
            rec.append(("统一社会信用代码", code, e.uscc, val, exp, reason, ev, extra))
        quarantined = any(r[4] == QUARANTINE for r in rec)
        n = self.wi.write(row)
        self.entity(INS, n, e.uscc, self._via(row[2], row[1]),
                    *name_outcome(e, row[2], variant_of(rec), authority_level(e, row[3])))
        if row[2] == e.uscc:
            legacy_flag(self, INS, n, "统一社会信用代码", e)
        for fld, code, orig, inj, exp, reason, ev, extra in rec:
            d.defect(INS, n, fld, code, orig, inj, exp, reason, ev, **extra)
        if kind is None and not any(r[1] == "name_variant" for r in rec):
            d.maybe_duplicate(self.wi, INS, row, n, e.uscc, self._via(row[2], row[1]))
        if quarantined:
            return
        st.inspections.append((ins_id, day, problems))
        # a penalty follows for a share of inspections with problems
        if problems >= 2 and rng.random() < 0.25 + 0.4 * e.risk:
            pen_day = day + timedelta(days=rng.randint(10, 60))
            if pen_day < e.active_until(self.today):
                viol = rng.choice(VIOLATIONS["common"] + VIOLATIONS[e.sector])
                amount = rng.choices((1, 2, 3, 5, 5.5, 8, 10, 15, 20, 30, 50),
                                     (12, 16, 14, 18, 4, 8, 12, 6, 5, 3, 2))[0] * 10000
                self._penalty(e, st, pen_day, viol, amount, ins_id)
        # an orphan inspection now and then: an unregistered firm found during a 专项检查
        if d.hit(0.3):
            self._orphan_inspection(e, day)

    @staticmethod
    def _via(uscc: str, name: str) -> str:
        if uscc and name:
            return "统一社会信用代码+企业名称"
        return "统一社会信用代码" if uscc else "企业名称" if name else "none"

    def _orphan_inspection(self, e, day: date) -> None:
        d = self.dirt
        name = self.ctx.names.unregistered(e.county, e.industry.words)
        code = self.ctx.unregistered_uscc(d.rng, e.county.code)
        y = day.year
        self.n_ins[y] = self.n_ins.get(y, 0) + 1
        row = [f"JC{e.county.code}{y}{self.n_ins[y]:06d}", name, code, e.county.full_name + "应急管理局", day.isoformat(),
               "专项检查", person(d.rng) + "、" + person(d.rng), "3", "责令停产停业整顿"]
        n = self.wi.write(row)
        self.entity(INS, n, None, "统一社会信用代码+企业名称")
        d.defect(INS, n, "统一社会信用代码", "orphan_reference", None, code, QUARANTINE, "orphan_reference", None,
                 note="enterprise exists in no source's registry (unregistered operator)")

    # -- penalties ---------------------------------------------------------------------------
    def _pen_no(self, e, day: date) -> str:
        k = e.county.code + str(day.year)
        self.n_pen[k] = self.n_pen.get(k, 0) + 1
        return f"（{e.county.full_name}）应急罚〔{day.year}〕{self.n_pen[k]}号"

    def _penalty(self, e, st: EntState, day: date, viol: tuple[str, str], amount: float, ins_id: str) -> None:
        rng, d = self.rng, self.dirt
        st.penalties += 1
        text, canonical = money(rng, amount)
        date_txt, is_iso = mixed_date(rng, day, 0.8, (cn_date,))
        row = [self._pen_no(e, day), e.name, "" if rng.random() < 0.2 else e.uscc, viol[0], viol[1],
               "罚款" if rng.random() < 0.85 else "警告、罚款", text, date_txt, e.county.full_name + "应急管理局", ins_id]
        rec: list[DefectRecord] = []
        if not canonical:
            rec.append(("罚款金额", "money_unit", None, text, REPAIR, None, float(amount), {}))
        if not is_iso:
            rec.append(("处罚日期", "date_format", None, date_txt, REPAIR, None, day.isoformat(), {}))
        misspelt = d.misspell(e, row, 1, "当事人名称")
        if misspelt:
            rec.append(misspelt)
        kind = None
        if not any(r[1] == "name_variant" for r in rec) and d.hit():
            menu = [("unparseable", 2), ("negative", 1), ("missing", 1), ("gb18030", 2), ("bad_bytes", 1),
                    ("orphan_ins", 1)]
            if row[2] and not e.legacy:
                menu.append(("uscc", 2))
            kind = d.choose(menu)
            if kind == "orphan_ins" and not ins_id:
                kind = "unparseable"
        if kind == "unparseable":
            rec = [r for r in rec if r[0] != "罚款金额"]
            row[6] = cn_amount(max(1, round(amount / 10000)))
            rec.append(("罚款金额", "unparseable_number", text, row[6], QUARANTINE, "unparseable_number", None, {}))
        elif kind == "negative":
            rec = [r for r in rec if r[0] != "罚款金额"]
            row[6] = "-" + text
            rec.append(("罚款金额", "out_of_range", text, row[6], QUARANTINE, "out_of_range", None, {}))
        elif kind == "missing":
            orig, row[0] = row[0], ""
            rec.append(("处罚决定书文号", "missing_required", orig, "", QUARANTINE, "missing_required", None, {}))
        elif kind == "orphan_ins":
            orig, row[9] = row[9], f"JC{e.county.code}{day.year}9{d.rng.randrange(99999):05d}"
            rec.append(("关联检查编号", "orphan_reference", orig, row[9], FLAG, None, None, {}))
        elif kind == "uscc":
            val, code, exp, reason, ev, extra = d.corrupt_uscc(e.uscc, has_name=True)
            row[2] = val
            rec.append(("统一社会信用代码", code, e.uscc, val, exp, reason, ev, extra))
        via = self._via(row[2], row[1])
        if kind == "gb18030":
            n = self.wp.write_encoded(row, "gb18030")
            rec.append((None, "wrong_encoding", "utf-8", "gb18030", REPAIR, None, "gb18030", {"row_encoding": "gb18030"}))
        elif kind == "bad_bytes":
            raw = self._garble(row)
            n = self.wp.write_bytes(raw)
            field_bytes = raw.split(b",")[1]
            rec.append(("当事人名称", "wrong_encoding", e.name, field_bytes.decode("utf-8", "backslashreplace"),
                        QUARANTINE, "encoding_error", None,
                        {"row_encoding": "invalid", "injected_hex": field_bytes.hex()}))
        else:
            n = self.wp.write(row)
        self.entity(PEN, n, e.uscc, via, *name_outcome(e, row[2], variant_of(rec), authority_level(e, row[8])))
        if row[2] == e.uscc:
            legacy_flag(self, PEN, n, "统一社会信用代码", e)
        for fld, code, orig, inj, exp, reason, ev, extra in rec:
            d.defect(PEN, n, fld, code, orig, inj, exp, reason, ev, **extra)
        if kind is None and not any(r[1] == "name_variant" for r in rec):
            d.maybe_duplicate(self.wp, PEN, row, n, e.uscc, via)
        if d.hit(0.3):
            self._orphan_penalty(e, day)

    def _garble(self, row: list[str]) -> bytes:
        """UTF-8 row whose 当事人名称 has one character replaced by bytes 0xFF 0xFE (valid in no encoding)."""
        from ..writers import csv_line

        name = row[1]
        i = self.dirt.rng.randrange(2, len(name) - 2)
        line = csv_line(row).encode("utf-8")
        head = csv_line([row[0]]).encode("utf-8")[:-2] + b","
        nb = name.encode("utf-8")
        bad = name[:i].encode("utf-8") + b"\xff\xfe" + name[i + 1:].encode("utf-8")
        assert line.startswith(head + nb)
        return head + bad + line[len(head) + len(nb):]

    def _orphan_penalty(self, e, day: date) -> None:
        """A penalty for a USCC that exists in no source (true_uscc null)."""
        d = self.dirt
        name = self.ctx.names.unregistered(e.county, e.industry.words)
        code = self.ctx.unregistered_uscc(d.rng, e.county.code)
        text, _ = money(d.rng, 20000)
        row = [self._pen_no(e, day), name, code, "未依法取得安全生产许可证擅自从事生产活动",
               "《安全生产许可证条例》第十九条", "罚款", "20000", day.isoformat(), e.county.full_name + "应急管理局", ""]
        n = self.wp.write(row)
        self.entity(PEN, n, None, "统一社会信用代码+企业名称")
        d.defect(PEN, n, "统一社会信用代码", "orphan_reference", None, code, QUARANTINE, "orphan_reference", None,
                 note="USCC and name exist in no source")
