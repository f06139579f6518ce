"""Industries in scope (GB/T 4754-2017 codes) and what each implies.

Why: the industry drives everything downstream — which licences a company
needs, which chemicals it stores, which risk points and accident types it has.
Codes and names are GB/T 4754-2017 小类.
"""
from __future__ import annotations

from dataclasses import dataclass

CHEM = "危险化学品"
MINE = "非煤矿山"
TRADE = "工贸"
SECTORS = (CHEM, MINE, TRADE)
#: Province-wide sector shares (Hebei: heavy industry, chemicals along the coast, mines in the north-west).
SECTOR_SHARE = {CHEM: 0.32, MINE: 0.13, TRADE: 0.55}


@dataclass(frozen=True, slots=True)
class Industry:
    code: str          # GB/T 4754-2017 4-digit class
    name: str          # GB/T 4754-2017 class name
    sector: str        # CHEM | MINE | TRADE
    subtype: str       # 生产/经营/使用 (chem), 地下矿山/露天矿山 (mine), 冶金/有色/建材/机械/轻工/纺织 (trade)
    words: tuple[str, ...]  # 行业词 used in company names
    weight: float      # relative frequency within the sector
    chemicals: tuple[str, ...] = ()  # typical GB 18218 substances held (chem only)
    has_storage: float = 1.0         # probability the firm has a storage/production unit (chem)
    tailings: float = 0.0            # probability the mine runs a tailings pond


INDUSTRIES: tuple[Industry, ...] = (
    # ---- 危险化学品 -------------------------------------------------------------------------
    Industry("2511", "原油加工及石油制品制造", CHEM, "生产", ("石化", "石油化工", "炼化"), 4,
             ("汽油", "液化石油气", "苯", "氢", "硫化氢", "甲苯", "二甲苯")),
    Industry("2521", "炼焦", CHEM, "生产", ("焦化", "煤化工", "能源"), 5, ("苯", "氨", "硫化氢", "甲烷/天然气", "甲醇")),
    Industry("2611", "无机酸制造", CHEM, "生产", ("化工", "化学"), 3, ("氯化氢(无水)", "液氯")),
    Industry("2612", "无机碱制造", CHEM, "生产", ("碱业", "化工", "氯碱"), 3, ("液氯", "氢", "氯化氢(无水)")),
    Industry("2613", "无机盐制造", CHEM, "生产", ("化工", "盐化"), 3, ("液氯", "氨")),
    Industry("2614", "有机化学原料制造", CHEM, "生产", ("化工", "化学", "精细化工", "新材料"), 10,
             ("甲醇", "苯", "环氧乙烷", "甲醛", "乙炔", "液氯", "甲苯", "光气", "甲醛溶液")),
    Industry("2619", "其他基础化学原料制造", CHEM, "生产", ("化工", "化学"), 4, ("乙炔", "氢", "甲醇", "氨")),
    Industry("2621", "氮肥制造", CHEM, "生产", ("化肥", "化工", "肥业"), 3, ("氨", "氢", "甲醇", "甲烷/天然气")),
    Industry("2631", "化学农药制造", CHEM, "生产", ("农药", "农化", "生物化工"), 3, ("液氯", "甲醇", "甲苯", "氨", "光气")),
    Industry("2641", "涂料制造", CHEM, "生产", ("涂料", "化工", "新材料"), 5, ("甲苯", "二甲苯", "乙酸乙酯", "丙酮")),
    Industry("2651", "初级形态塑料及合成树脂制造", CHEM, "生产", ("树脂", "化工", "新材料"), 4,
             ("甲醇", "甲醛", "苯", "环氧乙烷", "甲醛溶液")),
    Industry("2661", "化学试剂和助剂制造", CHEM, "生产", ("化学试剂", "化工", "助剂"), 4, ("甲醇", "丙酮", "乙酸乙酯", "苯")),
    Industry("2710", "化学药品原料药制造", CHEM, "使用", ("制药", "药业", "生物科技"), 4,
             ("甲醇", "丙酮", "甲苯", "氨", "乙酸乙酯")),
    Industry("4511", "天然气生产和供应业", CHEM, "经营", ("燃气", "天然气", "能源"), 5, ("甲烷/天然气", "液化石油气")),
    Industry("5162", "石油及制品批发", CHEM, "经营", ("石油", "石化", "能源", "油品"), 8, ("汽油", "液化石油气")),
    Industry("5169", "其他化工产品批发", CHEM, "经营", ("化工", "商贸", "化工贸易"), 14,
             ("甲醇", "甲苯", "苯", "液氯", "丙酮", "乙酸乙酯"), has_storage=0.45),
    Industry("5265", "机动车燃油零售", CHEM, "经营", ("加油站", "石油", "油品"), 14, ("汽油",)),
    # ---- 非煤矿山 ---------------------------------------------------------------------------
    Industry("0810", "铁矿采选", MINE, "地下矿山", ("矿业", "铁矿", "矿产"), 35, tailings=0.55),
    Industry("0921", "金矿采选", MINE, "地下矿山", ("金矿", "矿业", "黄金"), 10, tailings=0.6),
    Industry("0931", "钨钼矿采选", MINE, "地下矿山", ("钼业", "矿业"), 4, tailings=0.6),
    Industry("0912", "铅锌矿采选", MINE, "地下矿山", ("矿业", "有色"), 4, tailings=0.5),
    Industry("1011", "石灰石、石膏开采", MINE, "露天矿山", ("石料", "矿业", "石灰石"), 20),
    Industry("1012", "建筑装饰用石开采", MINE, "露天矿山", ("石材", "石业"), 10),
    Industry("1019", "粘土及其他土砂石开采", MINE, "露天矿山", ("砂石", "建材", "矿业"), 17),
    # ---- 工贸 ---------------------------------------------------------------------------
    Industry("3110", "炼铁", TRADE, "冶金", ("钢铁", "冶金", "铁业"), 5),
    Industry("3120", "炼钢", TRADE, "冶金", ("钢铁", "特钢", "冶金"), 5),
    Industry("3130", "钢压延加工", TRADE, "冶金", ("钢铁", "钢材", "轧钢", "型钢"), 14),
    Industry("3140", "铁合金冶炼", TRADE, "冶金", ("铁合金", "冶金"), 3),
    Industry("3216", "铝冶炼", TRADE, "有色", ("铝业", "有色金属"), 2),
    Industry("3252", "铝压延加工", TRADE, "有色", ("铝业", "铝材"), 4),
    Industry("3011", "水泥制造", TRADE, "建材", ("水泥", "建材"), 6),
    Industry("3041", "平板玻璃制造", TRADE, "建材", ("玻璃", "建材"), 4),
    Industry("3031", "粘土砖瓦及建筑砌块制造", TRADE, "建材", ("建材", "新型建材"), 5),
    Industry("3391", "黑色金属铸造", TRADE, "机械", ("铸造", "机械", "铸业"), 9),
    Industry("3311", "金属结构制造", TRADE, "机械", ("钢结构", "机械", "金属制品"), 10),
    Industry("3360", "金属表面处理及热处理加工", TRADE, "机械", ("热处理", "金属表面", "镀锌"), 6),
    Industry("1312", "小麦加工", TRADE, "轻工", ("面业", "粮油", "食品"), 6),
    Industry("1512", "白酒制造", TRADE, "轻工", ("酒业", "酿酒"), 3),
    Industry("2221", "机制纸及纸板制造", TRADE, "轻工", ("纸业", "造纸"), 5),
    Industry("1713", "棉印染精加工", TRADE, "纺织", ("印染", "纺织"), 4),
)

BY_SECTOR: dict[str, tuple[Industry, ...]] = {s: tuple(i for i in INDUSTRIES if i.sector == s) for s in SECTORS}
BY_CODE: dict[str, Industry] = {i.code: i for i in INDUSTRIES}
