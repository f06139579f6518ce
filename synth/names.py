"""Chinese names: people, companies, addresses, villages — and the spelling variants
inspectors and citizens produce.

Why: entity resolution is only meaningful against realistic names.  Company names
follow 行政区划 + 字号 + 行业 + 组织形式 (企业名称登记管理规定).  The *core*
(字号 + 行业词) is kept unique province-wide by :class:`NameFactory`, so any
variant produced here still resolves to exactly one enterprise.
"""
from __future__ import annotations

import random
import unicodedata

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
    "余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
    "庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂丛焦向柳邢路岳齐闫梅莫庄辛管祝左涂谷祁时舒耿牟卜"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华国庆志强海燕春梅振华立新红梅永生建国文博"
    "晓东晓峰子豪浩然宇航欣怡雨桐梓涵一鸣俊杰志刚建军长青玉兰凤英宝山金生福来德胜学军卫东红旗亚楠"
)
TRADE_CHARS = (
    "华鑫盛源泰恒昌利达丰旭阳诚信宏远兴隆金正元德瑞永安新天海中冀燕晨光明和润通博凯宇龙鹏振祥福富康荣嘉鼎"
    "峰坤辉宝聚益合广东北沃科创力顺成亿万群茂腾跃汇君乐蓝青钢石立骏星冠乾坤泽众联开拓翔昊晟锦豪"
)
#: Homophone / look-alike substitutions citizens and inspectors make (only used for variants).
TYPO = {"鑫": "新", "盛": "胜", "源": "原", "恒": "衡", "华": "化", "达": "大", "丰": "风", "泰": "太",
        "宏": "红", "利": "力", "兴": "星", "隆": "龙", "瑞": "锐", "祥": "翔", "昌": "长", "德": "得",
        "晟": "盛", "辉": "晖", "锦": "金", "豪": "浩", "润": "顺", "冀": "翼", "博": "搏", "嘉": "佳"}
ORG_FORMS = (("有限公司", 74), ("有限责任公司", 13), ("股份有限公司", 9), ("集团有限公司", 4))
ROADS = ("建设", "人民", "解放", "胜利", "和平", "中华", "新华", "友谊", "北环", "南环", "东风", "长江",
         "黄河", "渤海", "燕山", "太行", "光明", "迎宾", "工业", "开发", "滨海", "港城", "石化", "化工",
         "创业", "兴业", "富强", "民主", "育才", "文化", "幸福", "朝阳", "青年", "团结")
TOWN_CHARS = "东西南北大小前后王李张刘杨赵马高石柳杜孟白沙河桥庄营屯堡店集寨坊"
VILLAGE_SUFFIX = ("村", "庄村", "家庄村", "峪村", "沟村", "营村", "屯村", "堡村", "店村", "寨村")

_FW = {ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def person(rng: random.Random) -> str:
    """A plausible Chinese personal name (2–3 characters)."""
    s = rng.choice(SURNAMES)
    if rng.random() < 0.35:
        return s + rng.choice(GIVEN)
    return s + rng.choice(GIVEN) + rng.choice(GIVEN)


def masked_phone(rng: random.Random) -> str:
    """A mobile number masked the way public-report platforms show it: 138****5678."""
    return f"1{rng.choice('3456789')}{rng.randrange(10)}****{rng.randrange(10000):04d}"


def road(rng: random.Random) -> str:
    return rng.choice(ROADS) + rng.choice(("路", "街", "大街", "大道"))


def town(rng: random.Random) -> str:
    return rng.choice(TOWN_CHARS) + rng.choice(TOWN_CHARS) + rng.choice(("镇", "乡", "镇"))


def village(rng: random.Random) -> str:
    return rng.choice(SURNAMES[:60]) + rng.choice(VILLAGE_SUFFIX)


def normalise(name: str) -> str:
    """Normalisation used *by the generator* to check variants stay unambiguous."""
    s = unicodedata.normalize("NFKC", name).replace(" ", "").replace("(", "（").replace(")", "）")
    return s.replace("有限责任公司", "有限公司")


class NameFactory:
    """Unique company names for one province; remembers every core it handed out."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.cores: set[str] = set()

    def trade_name(self) -> str:
        r = self.rng
        x = r.random()
        if x < 0.025:  # a latin brand, as some registered names carry (e.g. "HG")
            return "".join(r.choice("ABCDEFGHJKLMNPRSTWXYZ") for _ in range(2))
        if x < 0.88:
            return r.choice(TRADE_CHARS) + r.choice(TRADE_CHARS)
        return r.choice(TRADE_CHARS) + r.choice(TRADE_CHARS) + r.choice(TRADE_CHARS)

    def company(self, county, industry_words: tuple[str, ...]) -> tuple[str, str, str, str]:
        """(full name, place prefix, core, org form) for a new enterprise in ``county``."""
        r = self.rng
        for _ in range(200):
            tn = self.trade_name()
            a, b = tn[0], tn[-1]
            if a == b:
                continue
            core = tn + r.choice(industry_words)
            if core in self.cores:
                continue
            break
        else:  # pragma: no cover - pools are large
            raise RuntimeError("name space exhausted")
        self.cores.add(core)
        x = r.random()
        if x < 0.07:
            place = "河北"
        elif x < 0.09:
            place = "河北省"
        elif x < 0.35:
            place = county.city_stem
        elif x < 0.50:
            place = county.city_name
        else:
            place = county.stem
        forms, weights = [f for f, _ in ORG_FORMS], [w for _, w in ORG_FORMS]
        form = r.choices(forms, weights)[0]
        if form == "集团有限公司" and r.random() < 0.5:
            form = "（集团）有限公司"
        elif r.random() < 0.02:
            form = "（" + county.stem + "）" + form  # e.g. 华鑫化工（黄骅）有限公司
        return place + core + form, place, core, form

    def lookalike(self, trade: str, word: str, rng: random.Random) -> str | None:
        """A 字号 one character from ``trade`` (华润 → 华瑞, 恒信 → 衡信) whose core is still free."""
        for _ in range(30):
            i = rng.randrange(len(trade))
            c = trade[i]
            new = TYPO.get(c) if c in TYPO and rng.random() < 0.6 else rng.choice(TRADE_CHARS)
            candidate = trade[:i] + (new or rng.choice(TRADE_CHARS)) + trade[i + 1:]
            if candidate != trade and candidate + word not in self.cores and len(set(candidate)) == len(candidate):
                self.cores.add(candidate + word)
                return candidate
        return None

    def unregistered(self, county, industry_words: tuple[str, ...]) -> str:
        """A name guaranteed *not* to belong to any registered enterprise (for orphans)."""
        name, _, core, _ = self.company(county, industry_words)
        return name


def fullwidth(s: str) -> str:
    """Digits and latin letters → full-width forms (ＡＢＣ１２３)."""
    return s.translate(_FW)


def variants(name: str, place: str, core: str, rng: random.Random, typo: bool,
             cores: set[str] | None = None) -> list[tuple[str, str]]:
    """All spelling variants applicable to ``name``: list of (kind, variant).

    Kinds: org_form (有限公司↔有限责任公司), bracket_width (（）↔()), spaces, fullwidth
    (digits/latin), drop_prefix (河北省→河北, 沧州市→沧州, or the place dropped entirely),
    no_place (any place dropped: only the authority's region is left), no_form (no 有限公司 at all,
    as enforcement records write it), typo (homophone, public reports and inspectors only).
    """
    out: list[tuple[str, str]] = []
    if "股份有限公司" in name:  # 股份 dropped, as enforcement records often write it
        out.append(("org_form", name.replace("股份有限公司", "有限公司")))
    elif "有限责任公司" in name:
        out.append(("org_form", name.replace("有限责任公司", "有限公司")))
    elif name.endswith("有限公司") and "股份" not in name:
        out.append(("org_form", name[: -len("有限公司")] + "有限责任公司"))
    if "（" in name:
        out.append(("bracket_width", name.replace("（", "(").replace("）", ")")))
    if any(c.isascii() and c.isalnum() for c in name):
        out.append(("fullwidth", fullwidth(name)))
    if len(name) > 6:
        i = rng.randrange(2, len(name) - 2)
        out.append(("spaces", name[:i] + rng.choice((" ", " ", "  ", "\u3000")) + name[i:]))
    if place:
        rest = name[len(place):]
        if place.endswith(("省", "市")):
            out.append(("drop_prefix", place[:-1] + rest))
            out.append(("no_place", rest))
        else:
            out.append(("drop_prefix", rest))
    for form in ("股份有限公司", "有限责任公司", "有限公司"):  # 集团 and a bracketed place stay
        if name.endswith(form):
            out.append(("no_form", name[: -len(form)]))
            break
    if typo:
        cands = [i for i, c in enumerate(core) if c in TYPO]
        if cands:
            i = rng.choice(cands)
            new_core = core[:i] + TYPO[core[i]] + core[i + 1:]
            if not cores or new_core not in cores:  # never turn one enterprise into another
                pos = len(place) + i
                out.append(("typo", name[:pos] + TYPO[name[pos]] + name[pos + 1:]))
    return [(k, v) for k, v in out if v != name]
