"""A company name taken apart: place, 字号 + 行业 (the body), legal form, branch.

企业名称登记管理规定: a name is 行政区划 + 字号 + 行业 + 组织形式; the place may also follow the 字号
in brackets (华润化工（沧州）有限公司), a development zone may follow the place (沧州临港…), a branch
appends its own label (…有限公司黄骅分公司), and an individual business (个体工商户) ends in 店, 部,
厂 … instead of 公司. Sources drop or abbreviate each part, write traditional characters, mistype
the place (仓州) or the legal form (有限公可). Matching compares the parts, not the strings, so a
dropped 有限公司 is "not stated" rather than "different", and a different place is a contradiction.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources

from rapidfuzz.distance import Levenshtein

from riskgraph.loaders.normalise.characters import pinyin_key, simplified, typo_pair
from riskgraph.loaders.normalise.names import _places, clean_name

#: company legal forms, longest first, with the class they belong to
_COMPANY_FORMS = (("股份有限公司", "jsc"), ("有限责任公司", "llc"), ("股份公司", "jsc"), ("有限公司", "llc"), ("公司", "company"))
#: forms a fuzzy suffix is compared with (有限公可, 有线公司, 有限公)
_TYPO_FORMS = (("有限责任公司", "llc"), ("股份有限公司", "jsc"), ("有限公司", "llc"))
#: non-company forms: individual businesses (个体工商户) and unincorporated works
_OTHER_FORMS = ("经营部", "门市部", "加工厂", "商店", "超市", "工作室", "商行", "店", "厂", "部", "馆", "行", "坊", "社", "站", "场")
COMPANY_CLASSES = frozenset({"llc", "jsc", "company"})
_BRANCH = re.compile(r"^(?P<parent>.+?(?:公司|厂))(?P<label>[^公厂]*?)分(?:公司|厂)$")
_BRACKETS = re.compile(r"（([^（）]*)）")
_TOWN = re.compile(r"^[\u4e00-\u9fff]{2,3}?(?:镇|乡|街道)")
_ZONE_SUFFIXES = ("高新技术产业开发区", "经济技术开发区", "化学工业园区", "经济开发区", "化工园区", "工业园区", "产业园区",
                  "高新区", "开发区", "工业园", "产业园", "园区")
#: a mistyped place is only read as one when it still ends like a place (仓州, 沧县市 …)
_PLACE_ENDINGS = frozenset("州市县区省旗盟")
#: 字号 + 行业 must keep at least this many characters when a place is stripped (安顺化工: 安顺 stays)
MIN_BODY = 4


@dataclass(frozen=True)
class CompanyName:
    """One written name, parsed. `body` is 字号 + 行业 with no place, legal form or brackets."""

    written: str
    body: str
    trade: str                       # 字号 (the body without its industry word)
    industry: str                    # 行业 word, "" when none is recognised
    form: str                        # llc | jsc | company | other | none
    form_text: str = ""              # the form as written after repair (有限公司, 店 …)
    places: tuple[str, ...] = ()     # GB/T 2260 codes the name states, outermost first
    place_text: str = ""
    zone: str | None = None          # park code of a development zone named in the name
    group: bool = False              # 集团
    individual: bool = False         # marked 个体工商户 or written with a non-company form
    branch: str | None = None        # a branch's label (a place code or text), None for the parent itself
    repairs: tuple[str, ...] = field(default=(), compare=False)  # what was read generously, for the reasons

    @property
    def place(self) -> str | None:
        """The most precise place the name states (the zone's county when it names a known park)."""
        return self.places[-1] if self.places else None

    @property
    def full_key(self) -> str:
        """Place + body + branch: equal for two spellings of the same registered name."""
        return f"{self.place or ''}|{self.body}|{'集团' if self.group else ''}|{self.branch or ''}"

    @property
    def phonetic(self) -> str:
        return pinyin_key(self.body)

    def to_list(self) -> list:
        """Its fields in order, as JSON keeps them (`from_list` reads them back)."""
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def from_list(cls, values: list) -> CompanyName:
        """A parse kept by `to_list`; TypeError if it is not one (another layout, a broken file).
        Positional, with the tuples made again: ≈ 100,000 are read at the start of a load."""
        if type(values) is not list or len(values) != KEPT_FIELDS:
            raise TypeError(f"not a kept company name: {values!r:.80}")
        values = values.copy()
        for at in _TUPLE_FIELDS:
            values[at] = tuple(values[at])
        return cls(*values)


#: how many values a kept parse (`CompanyName.to_list`) holds
KEPT_FIELDS = len(fields(CompanyName))
#: the positions of its tuple fields, which JSON keeps as lists
_TUPLE_FIELDS = tuple(at for at, f in enumerate(fields(CompanyName)) if f.name in ("places", "repairs"))


def forms_compatible(a: str, b: str) -> bool:
    """Legal forms that may name the same company: equal, one not stated, or a dropped 股份/有限."""
    if a == "none" or b == "none" or a == b:
        return True
    return a in COMPANY_CLASSES and b in COMPANY_CLASSES


@lru_cache(maxsize=1)
def industry_words() -> tuple[str, ...]:
    """行业 words (loaders/data/industry_words.txt), longest first."""
    text = (resources.files("riskgraph.loaders") / "data" / "industry_words.txt").read_text(encoding="utf-8")
    words = {w.strip() for line in text.splitlines() if not line.startswith("#") for w in line.split() if w.strip()}
    return tuple(sorted(words, key=len, reverse=True))


@dataclass(frozen=True)
class Zone:
    code: str
    county: str
    cores: tuple[str, ...]   # how names write it: 临港, 沧州临港经济技术开发区 …


@lru_cache(maxsize=1)
def _zones() -> tuple[Zone, ...]:
    text = (resources.files("riskgraph.loaders") / "data" / "parks.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        name = row["name"]
        core = _strip_leading_places(name, min_rest=2)[0]
        for suffix in _ZONE_SUFFIXES:  # longest first: 化学工业园区 before 园区
            if core.endswith(suffix):
                core = core[: -len(suffix)]
                break
        cores = {name, core} if len(core) >= 2 else {name}  # 河北辛集化工园区: no core but the place
        out.append(Zone(row["code"], row["county_code"], tuple(sorted(cores, key=len, reverse=True))))
    return tuple(out)


@lru_cache(maxsize=1)
def _place_masks() -> dict[str, list[tuple[str, int]]]:
    """Place names with one character masked (沧州 → ?州, 沧?): finds 仓州 without a full scan."""
    _, codes = _places()
    masks: dict[str, list[tuple[str, int]]] = {}
    for name in codes:
        if len(name) < 2:
            continue
        for i in range(len(name)):
            masks.setdefault(name[:i] + "?" + name[i + 1:], []).append((name, i))
    return masks


def _area(code: str) -> str:
    return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code


def _strip_leading_places(name: str, min_rest: int = MIN_BODY, keep_trade: bool = False) -> tuple[str, list[str], str]:
    """Remove leading place names, each inside the one before (河北省沧州市运河区…), while at least
    `min_rest` characters remain; returns the rest, the codes (outermost first) and the place text.
    `keep_trade`: a place whose removal would leave only a 行业 word is the 字号 (石家庄新华建筑工程:
    新华, not 新华区 — read as a place it made the company one with 石家庄裕华建筑工程 of 新华区)."""
    pattern, codes = _places()
    within, text = "", ""
    found: list[str] = []
    while True:
        match = pattern.match(name)
        if not match or len(name) - match.end() < min_rest or keep_trade and name[match.end():] in _industry_set():
            return name, found, text
        nested = [c for c in codes[match.group(0)] if c.startswith(within) and _area(c) != within]
        if not nested:
            return name, found, text
        best = min(nested, key=lambda c: len(_area(c)))  # 河北: the province, not 天津's 河北区
        within = _area(best)
        found.append(best)
        text += match.group(0)
        name = name[match.end():]


def _typo_place(name: str, min_rest: int) -> tuple[str, str, str] | None:
    """A leading place typed by sound or shape (仓州 → 沧州): (place as read, its code, the rest), if unique."""
    _, codes = _places()
    masks = _place_masks()
    found: dict[str, tuple[str, str]] = {}  # code → the longest (prefix, place) read as it
    for n in range(2, 6):
        if len(name) - n < min_rest:
            break
        prefix = name[:n]
        if prefix[-1] not in _PLACE_ENDINGS:  # 华隆 is a 字号, not a mistyped 华龙(区)
            continue
        for i in range(n):
            for place, j in masks.get(prefix[:i] + "?" + prefix[i + 1:], ()):
                if j == i and typo_pair(prefix[i], place[i]) and len(codes[place]) == 1:
                    found[codes[place][0]] = (prefix, place)
    if len(found) != 1:
        return None
    code, (prefix, place) = found.popitem()
    return place, code, name[len(prefix):]


def _legal_form(name: str) -> tuple[str, str, str, list[str]]:
    """(name without its form, form class, form text, repairs)."""
    for written, cls in _COMPANY_FORMS[:-1]:
        if name.endswith(written) and len(name) > len(written):
            return name[: -len(written)], cls, written, []
    best: tuple[int, int, str, str] | None = None
    for written, cls in _TYPO_FORMS:
        for span in (len(written) - 1, len(written), len(written) + 1):
            tail = name[-span:]
            if len(name) <= span + 2 or not ("公" in tail or "限" in tail):
                continue
            distance = Levenshtein.distance(tail, written)
            if distance == 1 and (best is None or (span, distance) < (best[0], best[1])):
                best = (span, distance, written, cls)
    if best is not None:
        span, _, written, cls = best
        return name[:-span], cls, written, [f"legal form {name[-span:]!r} read as {written!r}"]
    if name.endswith("公司") and len(name) > 2:
        return name[:-2], "company", "公司", []
    for written in _OTHER_FORMS:
        if name.endswith(written) and len(name) > len(written) + 1:
            return name[: -len(written)], "other", written, []
    return name, "none", "", []


@lru_cache(maxsize=1)
def _industry_set() -> frozenset[str]:
    return frozenset(industry_words())


def _industry(body: str) -> tuple[str, str]:
    for word in industry_words():
        if body.endswith(word) and len(body) > len(word):
            return body[: -len(word)], word
    return body, ""


def _zone(rest: str, places: list[str]) -> tuple[str, str | None, str | None]:
    """A development zone at the start of `rest`: (rest without it, park code, the park's county)."""
    for zone in _zones():
        for core in zone.cores:
            if rest.startswith(core) and len(rest) - len(core) >= MIN_BODY:
                after = rest[len(core):]
                for suffix in _ZONE_SUFFIXES:
                    if after.startswith(suffix) and len(after) - len(suffix) >= MIN_BODY:
                        after = after[len(suffix):]
                        break
                if not places or zone.county.startswith(_area(places[-1])):
                    return after, zone.code, zone.county
    for suffix in _ZONE_SUFFIXES:  # a zone this project has no code for: 沧州经济技术开发区
        if places and rest.startswith(suffix) and len(rest) - len(suffix) >= MIN_BODY:
            return rest[len(suffix):], None, None
    return rest, None, None


@lru_cache(maxsize=65536)
def parse_company(text: str | None) -> CompanyName:
    """The parts of a written company name (empty body when there is no name)."""
    written = clean_name(text)
    name = simplified(written)
    repairs: list[str] = []
    if name != written:
        repairs.append("traditional characters read as simplified")
    individual = "个体工商户" in name
    name = name.replace("（个体工商户）", "").replace("个体工商户", "")
    group = "集团" in name
    branch_label: str | None = None
    branch = _BRANCH.match(name)
    if branch and len(branch.group("parent")) >= MIN_BODY:
        name, label = branch.group("parent"), branch.group("label")
        label_rest, label_places, _ = _strip_leading_places(label, min_rest=0)
        branch_label = label_places[-1] if label_places and not label_rest else (label or "分")
    places: list[str] = []
    place_text = ""
    for inner in _BRACKETS.findall(name):  # 华润化工（沧州）有限公司, （集团）
        rest, codes, _ = _strip_leading_places(inner, min_rest=0)
        if codes and not rest:
            places = codes
            place_text = inner
            name = name.replace(f"（{inner}）", "")
        elif inner == "集团":
            name = name.replace("（集团）", "集团")
    name = name.replace("（", "").replace("）", "")
    name, form, form_text, form_repairs = _legal_form(name)
    repairs += form_repairs
    if name.endswith("集团") and len(name) > 2 + MIN_BODY // 2:
        name = name[:-2]
    rest, leading, leading_text = _strip_leading_places(name, keep_trade=True)
    if leading:
        places = leading + [c for c in places if c not in leading and c.startswith(_area(leading[-1]))]
        place_text = leading_text + place_text
    elif not places:
        typo = _typo_place(name, MIN_BODY)
        if typo is not None:
            place, code, rest = typo
            places, place_text = [code], place
            repairs.append(f"place {name[: len(name) - len(rest)]!r} read as {place!r}")
            rest2, more, more_text = _strip_leading_places(rest)  # 仓州市运河区…
            if more and all(c.startswith(_area(code)) for c in more):
                rest, places, place_text = rest2, [code, *more], place + more_text
    town = _TOWN.match(rest)  # 沧县旧州镇李刚五金店: a town is finer than GB/T 2260, kept as text
    if town and len(rest) - town.end() >= 3:
        rest = rest[town.end():]
    rest, zone, zone_county = _zone(rest, places)
    if zone_county and zone_county not in places:
        places.append(zone_county)
    trade, industry = _industry(rest)
    return CompanyName(
        written=written, body=rest, trade=trade, industry=industry, form=form, form_text=form_text,
        places=tuple(places), place_text=place_text, zone=zone, group=group,
        individual=individual or form == "other", branch=branch_label, repairs=tuple(repairs),
    )
