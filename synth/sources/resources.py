"""应急资源普查: rescue teams, material warehouses and their stock, shelters.

Why: coping capacity (INFORM's third dimension) per county.  Team types follow
what a county needs: every county has a 综合性消防救援 unit; chemical counties
get 危化品救援 teams (some run by large enterprises — linked by USCC), mining
counties 矿山救援, forested counties 森林消防.
"""
from __future__ import annotations

from ..context import Source
from ..dirt import DefectRecord
from ..names import masked_phone, road
from ..regions import jitter
from ..truth import FLAG, QUARANTINE, REPAIR
from .common import legacy_flag

TEAMS = "resources/rescue_teams.csv"
WH = "resources/warehouses.csv"
SUP = "resources/supplies.csv"
SH = "resources/shelters.csv"
T_HEADER = ["队伍编号", "队伍名称", "队伍类型", "人数", "县级代码", "经度", "纬度", "主要装备", "所属单位统一社会信用代码", "联系电话"]
W_HEADER = ["仓库编号", "仓库名称", "级别", "县级代码", "经度", "纬度", "面积（平方米）", "管理单位"]
S_HEADER = ["仓库编号", "物资名称", "类别", "数量", "单位"]
H_HEADER = ["编号", "名称", "类型", "场所类别", "容纳人数", "面积（平方米）", "县级代码", "经度", "纬度"]
EQUIP = {
    "综合性消防救援": "水罐消防车、泡沫消防车、举高喷射消防车、抢险救援车、破拆工具组",
    "危化品救援": "防化洗消车、气体检测仪、重型防化服、堵漏工具组、泡沫消防车",
    "矿山救援": "正压氧气呼吸器、生命探测仪、矿用排水泵、救灾通风机、医疗急救箱",
    "森林消防": "风力灭火机、高压细水雾灭火机、二号工具、油锯、卫星电话",
    "社会救援": "冲锋舟、救生衣、绳索救援装备、无人机、急救包",
}
SUPPLIES = {
    "防汛抗旱": (("冲锋舟", "艘"), ("救生衣", "件"), ("编织袋", "条"), ("土工布", "平方米"), ("排涝泵", "台"), ("抢险照明灯", "台")),
    "森林防灭火": (("风力灭火机", "台"), ("二号工具", "把"), ("灭火水枪", "支"), ("防火服", "套")),
    "生活救助": (("帐篷", "顶"), ("折叠床", "张"), ("棉被", "床"), ("棉大衣", "件"), ("方便食品", "箱"), ("饮用水", "箱")),
    "危化品处置": (("防化服", "套"), ("堵漏工具", "套"), ("吸附棉", "千克"), ("中和剂", "千克")),
    "矿山救援": (("正压氧气呼吸器", "台"), ("自救器", "台")),
    "通用": (("发电机组", "台"), ("应急照明灯", "台"), ("卫星电话", "部"), ("对讲机", "部")),
}


class Resources(Source):
    id = "resources"

    def __init__(self, ctx, enterprises) -> None:
        super().__init__(ctx)
        self.wt = self.csv(TEAMS, T_HEADER)
        self.ww = self.csv(WH, W_HEADER)
        self.ws = self.csv(SUP, S_HEADER)
        self.wh = self.csv(SH, H_HEADER)
        self.by_county: dict[str, list] = {}
        for e in enterprises:
            if e.active and e.employees >= 200 and e.sector in ("危险化学品", "非煤矿山"):
                self.by_county.setdefault(e.county.code, []).append(e)
        self.n_t = self.n_w = self.n_h = 0
        self.city_seat: dict[str, str] = {}
        for c in ctx.region.counties:  # the city-level warehouse sits in the city's first district
            if c.is_district:
                self.city_seat.setdefault(c.city_code, c.code)

    def finish(self) -> None:
        for c in self.ctx.region.counties:
            self._teams(c)
            self._warehouses(c)
            self._shelters(c)
        super().finish()

    # -- teams -----------------------------------------------------------------------------
    def _team_row(self, c, name: str, typ: str, size: int, uscc: str = "", e=None) -> None:
        rng, d = self.rng, self.dirt
        self.n_t += 1
        lon, lat = (jitter(rng, e.lon, e.lat, 0.003) if e else jitter(rng, c.lon, c.lat, 0.02))
        row = [f"DW{c.code}{self.n_t:05d}", name, typ, str(size), c.code, f"{lon:.6f}", f"{lat:.6f}", EQUIP[typ],
               uscc, masked_phone(rng)]
        rec: DefectRecord | None = None
        if d.hit():
            menu = [("coords", 2), ("size", 1), ("missing", 1)]
            if e is not None and not e.legacy:
                menu.append(("uscc_lower", 1))
            kind = d.choose(menu)
            if kind == "coords":
                lo, la, how = d.bad_coords()
                orig = f"{row[5]},{row[6]}"
                row[5], row[6] = f"{lo:.6f}", f"{la:.6f}"
                rec = ("经度,纬度", "out_of_range", orig, f"{row[5]},{row[6]}", FLAG, None, None, {"coord_kind": how})
            elif kind == "size":
                orig, row[3] = row[3], str(-size)
                rec = ("人数", "out_of_range", orig, row[3], FLAG, None, None, {})
            elif kind == "missing":
                orig, row[0] = row[0], ""
                rec = ("队伍编号", "missing_required", orig, "", QUARANTINE, "missing_required", None, {})
            elif kind == "uscc_lower" and uscc.lower() != uscc:
                row[8] = uscc.lower()
                rec = ("所属单位统一社会信用代码", "uscc_lowercase", uscc, row[8], REPAIR, None, uscc, {})
        n = self.wt.write(row)
        if e is not None:
            self.entity(TEAMS, n, e.uscc, "所属单位统一社会信用代码")
            if row[8] == e.uscc:
                legacy_flag(self, TEAMS, n, "所属单位统一社会信用代码", e)
        if rec:
            fld, code, orig, inj, exp, reason, ev, extra = rec
            d.defect(TEAMS, n, fld, code, orig, inj, exp, reason, ev, **extra)
        else:
            d.maybe_duplicate(self.wt, TEAMS, row, n, e.uscc if e else None, "所属单位统一社会信用代码" if e else None)

    def _teams(self, c) -> None:
        rng = self.rng
        station = "大队" if not c.is_district else "站"
        self._team_row(c, f"{c.city_name}消防救援支队{c.name}{station}", "综合性消防救援", rng.randint(25, 80))
        big = self.by_county.get(c.code, [])
        for e in big:
            if rng.random() < 0.3:
                typ = "危化品救援" if e.sector == "危险化学品" else "矿山救援"
                word = "专职消防队" if typ == "危化品救援" else "矿山救护队"
                self._team_row(c, e.name + word, typ, rng.randint(12, 40), e.uscc, e)
        chem = sum(1 for e in big if e.sector == "危险化学品")
        if chem >= 2 or rng.random() < 0.15:
            self._team_row(c, f"{c.full_name}危险化学品应急救援队", "危化品救援", rng.randint(20, 60))
        if "mountain" in c.tags and rng.random() < 0.6:
            self._team_row(c, f"{c.full_name}矿山救护队", "矿山救援", rng.randint(15, 50))
        if ("mountain" in c.tags or "bashang" in c.tags) and rng.random() < 0.8:
            self._team_row(c, f"{c.full_name}森林消防专业扑火队", "森林消防", rng.randint(20, 90))
        for _ in range(rng.choice((0, 1, 1, 2))):
            self._team_row(c, f"{c.stem}{rng.choice(('蓝天救援队', '应急救援志愿服务队', '红十字救援队'))}", "社会救援",
                           rng.randint(10, 120))

    # -- warehouses & supplies ---------------------------------------------------------------
    def _warehouses(self, c) -> None:
        rng, d = self.rng, self.dirt
        levels = ["县级"]
        if self.city_seat.get(c.city_code) == c.code:
            levels.append("市级")
        if c.code in ("130102", "130203", "130902"):
            levels.append("省级")
        for lv in levels:
            self.n_w += 1
            wid = f"CK{c.code}{self.n_w:04d}"
            owner = {"县级": c.full_name, "市级": c.city_name, "省级": "河北省"}[lv]
            lon, lat = jitter(rng, c.lon, c.lat, 0.02)
            name = f"{owner}{'应急物资储备库' if lv != '省级' else '省级应急物资储备' + c.city_name + '库'}"
            row = [wid, name, lv, c.code, f"{lon:.6f}", f"{lat:.6f}", str(rng.randint(500, 12000) * (3 if lv != "县级" else 1)),
                   owner + "应急管理局"]
            if d.hit():
                lo, la, how = d.bad_coords()
                orig = f"{row[4]},{row[5]}"
                row[4], row[5] = f"{lo:.6f}", f"{la:.6f}"
                n = self.ww.write(row)
                d.defect(WH, n, "经度,纬度", "out_of_range", orig, f"{row[4]},{row[5]}", FLAG, None, None, coord_kind=how)
            else:
                n = self.ww.write(row)
                d.maybe_duplicate(self.ww, WH, row, n)
            cats = ["生活救助", "通用", "防汛抗旱"]
            if "mountain" in c.tags or "bashang" in c.tags:
                cats.append("森林防灭火")
            if c.code in self.by_county:
                cats.append("危化品处置")
            if "mountain" in c.tags and rng.random() < 0.4:
                cats.append("矿山救援")
            for cat in cats:
                for item, unit in rng.sample(SUPPLIES[cat], min(len(SUPPLIES[cat]), rng.randint(2, 4))):
                    qty = rng.randint(5, 3000) * (5 if lv != "县级" else 1)
                    srow = [wid, item, cat, str(qty), unit]
                    kind = d.choose([("negative", 1), ("unparseable", 1), ("orphan", 1)]) if d.hit() else None
                    if kind == "negative":
                        orig, srow[3] = srow[3], "-" + srow[3]
                        n = self.ws.write(srow)
                        d.defect(SUP, n, "数量", "out_of_range", orig, srow[3], QUARANTINE, "out_of_range", None)
                    elif kind == "unparseable":
                        orig, srow[3] = srow[3], d.rng.choice(("若干", "一批", "约百余"))
                        n = self.ws.write(srow)
                        d.defect(SUP, n, "数量", "unparseable_number", orig, srow[3], QUARANTINE, "unparseable_number", None)
                    elif kind == "orphan":
                        orig, srow[0] = srow[0], f"CK{c.code}9{d.rng.randrange(1000):03d}"
                        n = self.ws.write(srow)
                        d.defect(SUP, n, "仓库编号", "orphan_reference", orig, srow[0], QUARANTINE, "orphan_reference", None)
                    else:
                        n = self.ws.write(srow)
                        d.maybe_duplicate(self.ws, SUP, srow, n)

    # -- shelters ----------------------------------------------------------------------------
    def _shelters(self, c) -> None:
        rng, d = self.rng, self.dirt
        for _ in range(rng.randint(3, 10)):
            self.n_h += 1
            cat = rng.choice(("公园", "广场", "学校", "体育场馆", "绿地"))
            typ = rng.choices(("Ⅰ类", "Ⅱ类", "Ⅲ类"), (15, 35, 50))[0]
            area = rng.randint(3000, 200000) if typ == "Ⅰ类" else rng.randint(2000, 50000) if typ == "Ⅱ类" else rng.randint(500, 10000)
            cap = int(area / rng.uniform(1.5, 3.0))
            lon, lat = jitter(rng, c.lon, c.lat, 0.03)
            name = c.stem + (road(rng)[:2] + cat if cat != "学校" else rng.choice(("第一中学", "第二中学", "实验小学", "职教中心")))
            row = [f"BN{c.code}{self.n_h:05d}", name + "应急避难场所", typ, cat, str(cap), str(area), c.code,
                   f"{lon:.6f}", f"{lat:.6f}"]
            kind = d.choose([("coords", 1), ("cap", 1)]) if d.hit() else None
            if kind == "coords":
                lo, la, how = d.bad_coords()
                orig = f"{row[7]},{row[8]}"
                row[7], row[8] = f"{lo:.6f}", f"{la:.6f}"
                n = self.wh.write(row)
                d.defect(SH, n, "经度,纬度", "out_of_range", orig, f"{row[7]},{row[8]}", FLAG, None, None, coord_kind=how)
            elif kind == "cap":
                orig, row[4] = row[4], str(-cap)
                n = self.wh.write(row)
                d.defect(SH, n, "容纳人数", "out_of_range", orig, row[4], FLAG, None, None)
            else:
                n = self.wh.write(row)
                d.maybe_duplicate(self.wh, SH, row, n)
