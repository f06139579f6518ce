"""The province's enterprises: the clean master data every source system derives from.

Why: all sources must agree on who exists, where, in which industry, and how
risky they are.  A latent ``risk`` in [0, 1] drives hidden dangers, alarms,
penalties, accidents and credit listings together, so downstream models have a
real signal to find.  Memory: one small slotted object per enterprise (100k ≈ 60 MB).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from . import uscc as uscc_mod
from .industries import BY_SECTOR, CHEM, MINE, SECTOR_SHARE, SECTORS, TRADE, Industry
from .names import NameFactory, person, road, town, village
from .parks import PARKS_BY_COUNTY, Park
from .regions import CITY_WEIGHT, MINING_HOT, County, Region, jitter

ACTIVE = "存续（在营、开业、在册）"
#: share of enterprises created as a look-alike of an earlier one: how real registries look, and what
#: entity resolution must not merge — another 字号 one character away in the same county (华润/华瑞),
#: the same 字号 in another trade (华通化工/华通化肥), the same 字号 + 行业 in another county
SIBLING_RATE = 0.08
SIBLING_KINDS = (("lookalike", 2), ("other_trade", 1), ("same_core", 1))
STATUSES = ((ACTIVE, 94), ("吊销，未注销", 2), ("注销", 3), ("迁出", 1))


@dataclass(slots=True)
class Enterprise:
    idx: int
    uscc: str               # the identifier as it really is (legacy codes included)
    legacy: bool            # pilot-era code whose check char fails GB 32100
    name: str
    place: str              # region prefix used in the name
    core: str               # 字号 + 行业词, unique province-wide
    org_form: str
    county: County
    industry: Industry
    legal_rep: str
    address: str
    established: date
    capital: float          # 注册资本, 万元
    status: str
    end: date | None        # for 吊销/注销/迁出: when activity stopped
    employees: int
    park: Park | None
    lon: float
    lat: float
    risk: float             # latent risk propensity, 0..1
    has_units: bool         # holds hazardous chemicals in production/storage units
    noisy_iot: bool         # one of the few enterprises whose sensors alarm a lot
    trade: str = ""         # 字号 (the core without its industry word)
    sibling_of: str | None = None    # the enterprise whose look-alike this one is (USCC)
    sibling_kind: str | None = None  # lookalike | other_trade | same_core (see SIBLING_KINDS)

    @property
    def sector(self) -> str:
        return self.industry.sector

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def active_until(self, today: date) -> date:
        return self.end or today - timedelta(days=1)


def _county_weights(region: Region) -> dict[str, list[float]]:
    """Per-sector weights over counties: chemicals near parks, mines in the mountains."""
    per_city: dict[str, int] = {}
    for c in region.counties:
        per_city[c.city_code] = per_city.get(c.city_code, 0) + 1
    out: dict[str, list[float]] = {}
    for sector in SECTORS:
        ws = []
        for c in region.counties:
            w = CITY_WEIGHT[c.city_code] / per_city[c.city_code]
            if sector == CHEM:
                w *= 5.0 if c.code in PARKS_BY_COUNTY else 1.0
                w *= 1.8 if c.city_code == "130900" else 1.0
            elif sector == MINE:
                if "mountain" in c.tags:
                    w *= 3.0 if c.code in MINING_HOT else 1.0
                elif "bashang" in c.tags:
                    w *= 0.3
                else:
                    w *= 0.02
            else:
                w *= 2.0 if c.code in {"130283", "130207", "130481", "130284", "130209"} else 1.0
            ws.append(w)
        out[sector] = ws
    return out


def _employees(rng: random.Random, ind: Industry) -> int:
    if ind.code == "5265":
        return rng.randint(6, 30)
    if ind.sector == TRADE and ind.subtype == "冶金":
        return int(rng.lognormvariate(6.0, 1.0)) + 50
    if ind.sector == MINE:
        return int(rng.lognormvariate(4.3, 0.8)) + 10
    return int(rng.lognormvariate(4.2, 1.0)) + 5


def _address(rng: random.Random, county: County, park: Park | None, ind: Industry) -> str:
    head = "河北省" + county.city_name + county.name
    if park:
        return head + park.name + road(rng) + f"{rng.randint(1, 199)}号"
    if ind.sector == MINE:
        return head + town(rng) + village(rng) + rng.choice(("北", "西", "东", "南")) + f"{rng.randint(1, 5)}公里"
    if rng.random() < 0.55:
        return head + road(rng) + f"{rng.randint(1, 999)}号"
    return head + town(rng) + village(rng) + rng.choice(("", "东", "西", "南", "北")) + rng.choice(("", "工业区"))


def _word(core: str, words: tuple[str, ...]) -> str:
    return max((w for w in words if core.endswith(w)), key=len, default="")


def _sibling(prev: Enterprise, names: NameFactory, region: Region, srng: random.Random, taken: set[str]):
    """(kind, county, industry, name, place, core, trade) of a look-alike of ``prev``, or None."""
    kind = srng.choices([k for k, _ in SIBLING_KINDS], [w for _, w in SIBLING_KINDS])[0]
    word = _word(prev.core, prev.industry.words)
    county, ind, place = prev.county, prev.industry, prev.county.stem
    if kind == "lookalike":
        trade = names.lookalike(prev.trade, word, srng)
        if trade is None:
            return None
        core = trade + word
    elif kind == "other_trade":
        options = [(i, w) for i in BY_SECTOR[prev.sector] for w in i.words
                   if w != word and not w.endswith(word) and prev.trade + w not in names.cores]
        if not options:
            return None
        ind, other = srng.choice(options)
        trade, core = prev.trade, prev.trade + other
        names.cores.add(core)
    else:
        counties = [c for c in region.counties if c.code != prev.county.code and not c.name.endswith("区")
                    and c.stem not in (prev.place, prev.county.stem)]
        if not counties:
            return None
        county = srng.choice(counties)
        trade, core, place = prev.trade, prev.core, county.stem
    name = place + core + prev.org_form
    if name in taken:
        return None
    return kind, county, ind, name, place, core, trade


def build(region: Region, n: int, rng: random.Random, drng: random.Random, dirt_rate: float,
          today: date, siblings: random.Random | None = None) -> tuple[list[Enterprise], NameFactory]:
    """Create ``n`` enterprises.  ``rng`` drives clean data; ``drng`` only decides legacy codes;
    ``siblings`` decides which enterprises are look-alikes of earlier ones (none without it)."""
    names = NameFactory(random.Random(rng.random()))
    weights = _county_weights(region)
    counties = region.counties
    sectors, shares = zip(*SECTOR_SHARE.items(), strict=False)
    status_names, status_w = [s for s, _ in STATUSES], [w for _, w in STATUSES]
    seen: set[str] = set()
    taken: set[str] = set()
    out: list[Enterprise] = []
    legacy_rate = min(1.0, dirt_rate * 0.1)
    for i in range(n):
        sector = rng.choices(sectors, shares)[0]
        inds = BY_SECTOR[sector]
        ind = rng.choices(inds, [x.weight for x in inds])[0]
        county = rng.choices(counties, weights[sector])[0]
        park = None
        parks = PARKS_BY_COUNTY.get(county.code)
        if parks and sector == CHEM and ind.subtype in ("生产", "使用") and rng.random() < 0.75:
            park = rng.choice(parks)
        name, place, core, form = names.company(county, ind.words)
        trade = core[: len(core) - len(_word(core, ind.words))]
        sibling = None
        if siblings is not None and out and siblings.random() < SIBLING_RATE:
            prev = siblings.choice(out)
            found = _sibling(prev, names, region, siblings, taken)
            if found is not None:
                kind, county, ind, name, place, core, trade = found
                form = prev.org_form
                sibling = (prev.uscc, kind)
                if park is not None and park.code not in {p.code for p in PARKS_BY_COUNTY.get(county.code, ())}:
                    park = None
        taken.add(name)
        code = uscc_mod.make(rng, county.code)
        while code in seen:
            code = uscc_mod.make(rng, county.code)
        seen.add(code)
        legacy = drng.random() < legacy_rate
        if legacy:
            code2 = uscc_mod.legacy_variant(code, drng)
            seen.add(code2)
            code = code2
        y = min(2024, max(1985, int(rng.gauss(2008, 8))))
        established = date(y, 1, 1) + timedelta(days=rng.randrange(365))
        emp = _employees(rng, ind)
        capital = round(max(10.0, emp * rng.lognormvariate(2.5, 0.8)), 1 if rng.random() < 0.2 else 0)
        status = rng.choices(status_names, status_w)[0]
        end = None
        if status != ACTIVE:
            end = date(2023, 1, 1) + timedelta(days=rng.randrange((today - date(2023, 1, 1)).days - 60))
        if park:
            lon, lat = jitter(rng, park.lon, park.lat, 0.015)
        else:
            lon, lat = jitter(rng, county.lon, county.lat, 0.07 if sector == MINE else 0.04)
        risk = rng.betavariate(2.0, 5.0)
        if park:
            risk *= 0.85
        if emp < 30:
            risk = min(1.0, risk * 1.15)
        has_units = sector == CHEM and rng.random() < ind.has_storage
        out.append(Enterprise(
            idx=i, uscc=code, legacy=legacy, name=name, place=place, core=core, org_form=form,
            county=county, industry=ind, legal_rep=person(rng), address=_address(rng, county, park, ind),
            established=established, capital=capital, status=status, end=end, employees=emp, park=park,
            lon=lon, lat=lat, risk=round(risk, 4), has_units=has_units, noisy_iot=rng.random() < 0.05,
            trade=trade, sibling_of=sibling[0] if sibling else None, sibling_kind=sibling[1] if sibling else None))
    return out, names


def enterprise_truth(e: Enterprise) -> dict:
    """The clean master record written to truth/enterprises.jsonl."""
    return {
        "uscc": e.uscc, "uscc_valid": not e.legacy, "name": e.name, "legal_rep": e.legal_rep,
        "address": e.address, "county_code": e.county.code, "county_name": e.county.name,
        "city_code": e.county.city_code, "city_name": e.county.city_name, "sector": e.sector,
        "subtype": e.industry.subtype, "industry_code": e.industry.code, "industry_name": e.industry.name,
        "established": e.established.isoformat(), "capital_wan": e.capital, "status": e.status,
        "status_end": e.end.isoformat() if e.end else None, "employees": e.employees,
        "park_code": e.park.code if e.park else None, "park_name": e.park.name if e.park else None,
        "lon": e.lon, "lat": e.lat, "latent_risk": e.risk,
        **({"sibling_of": e.sibling_of, "sibling_kind": e.sibling_kind} if e.sibling_of else {}),
    }
