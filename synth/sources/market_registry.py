"""市场主体登记 (market registry) export: the master list of enterprises.

Why GB18030: provincial market-supervision exports come out of Windows tools in
GB18030/GBK.  A few rows were appended by a newer UTF-8 tool (wrong_encoding);
the loader must decode per line.
"""
from __future__ import annotations

import random

from ..context import EntState, Source
from ..enterprises import enterprise_truth
from ..formats import bad_date, cn_amount, out_of_range_date
from ..truth import FLAG, QUARANTINE, REPAIR
from ..writers import csv_line
from .common import legacy_flag, num

FILE = "market_registry/subjects.csv"
HEADER = ["统一社会信用代码", "企业名称", "法定代表人", "注册地址", "所属行业代码", "所属行业", "成立日期",
          "注册资本（万元）", "登记状态", "从业人数", "所在园区", "经度", "纬度"]
#: share of enterprises whose registry row carries the site's coordinates (e-registration since ~2019
#: records a point; older records and re-registrations often have none)
LOCATED_SHARE = 0.55


def _check_not_utf8(row: list[str]) -> None:
    """Loaders tell the injected UTF-8 rows apart by strict UTF-8 decoding: make sure no genuine
    GB18030 row happens to be valid UTF-8 (astronomically unlikely for Chinese text)."""
    raw = csv_line(row).encode("gb18030")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    if not raw.isascii():
        raise RuntimeError(f"GB18030 registry row is also valid UTF-8: {row[:2]}")


def registry_point(e) -> tuple[str, str]:
    """The registry's point for `e` (its true site, 6 decimals) or blanks; drawn from the enterprise's own
    seed so that adding these columns moved no other generated value."""
    if random.Random(f"registry-point:{e.uscc}").random() >= LOCATED_SHARE:
        return "", ""
    return f"{e.lon:.6f}", f"{e.lat:.6f}"


class MarketRegistry(Source):
    id = "market_registry"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.w = self.csv(FILE, HEADER, "gb18030")

    def emit(self, e, st: EntState) -> None:
        ind = e.industry
        row = [e.uscc, e.name, e.legal_rep, e.address, ind.code, ind.name, e.established.isoformat(),
               num(e.capital), e.status, str(e.employees), e.park.name if e.park else "", *registry_point(e)]
        self.ctx.truth.enterprises.write(enterprise_truth(e))
        d = self.dirt
        kind = d.choose([("out_of_range", 3), ("unparseable_date", 1), ("unparseable_number", 1),
                         ("wrong_encoding", 1), ("missing_required", 1)]) if d.hit() else None
        rec = None
        if kind == "out_of_range":
            fld = d.rng.choice(("注册资本（万元）", "从业人数", "成立日期"))
            i = HEADER.index(fld)
            orig = row[i]
            if fld == "成立日期":
                row[i], _ = out_of_range_date(d.rng, self.today)
            elif fld == "从业人数":
                row[i] = str(-d.rng.randint(1, 50))
            else:
                row[i] = "-" + orig
            rec = (fld, "out_of_range", orig, row[i], FLAG, None, None)
        elif kind == "unparseable_date":
            orig = row[6]
            row[6] = bad_date(d.rng)
            rec = ("成立日期", "unparseable_date", orig, row[6], FLAG, None, None)
        elif kind == "unparseable_number":
            orig = row[7]
            row[7] = cn_amount(d.rng.randint(1, 99))[:-1] + "百"  # "约五百"
            rec = ("注册资本（万元）", "unparseable_number", orig, row[7], FLAG, None, None)
        if kind == "wrong_encoding":
            n = self.w.write_encoded(row, "utf-8")
            d.defect(FILE, n, None, "wrong_encoding", "gb18030", "utf-8", REPAIR, None, "utf-8",
                     row_encoding="utf-8")
        else:
            _check_not_utf8(row)
            n = self.w.write(row)
        self.entity(FILE, n, e.uscc, "统一社会信用代码")
        legacy_flag(self, FILE, n, "统一社会信用代码", e)
        if rec:
            fld, code, orig, inj, exp, reason, ev = rec
            d.defect(FILE, n, fld, code, orig, inj, exp, reason, ev)
        if kind is None:
            d.maybe_duplicate(self.w, FILE, row, n, e.uscc, "统一社会信用代码")
        if kind == "missing_required":
            # an export artefact: a second, partial copy of the row without code and name
            junk = ["", ""] + row[2:]
            m = self.w.write(junk)
            self.entity(FILE, m, e.uscc, "none")
            d.defect(FILE, m, "统一社会信用代码", "missing_required", e.uscc, "", QUARANTINE,
                     "missing_required", None, also_blank=["企业名称"])
