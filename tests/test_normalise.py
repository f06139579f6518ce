"""The normalisers on the spellings the source systems really use."""
from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from stdnum.cn import uscc as stdnum_uscc

from riskgraph.loaders.normalise.company import parse_company
from riskgraph.loaders.normalise.dates import parse_date
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.loaders.normalise.names import clean_name, legal_key, match_key
from riskgraph.loaders.normalise.numbers import parse_mass_t, parse_money, parse_number
from riskgraph.loaders.normalise.regions import county_near, region_from_address, region_table
from riskgraph.loaders.normalise.uscc import parse_uscc
from riskgraph.loaders.resolve import EnterpriseIndex

TODAY = dt.date(2026, 11, 1)
VALID = "91130100MA0CEFGH1" + stdnum_uscc.calc_check_digit("91130100MA0CEFGH1")


@pytest.mark.parametrize("written, key", [
    ("沧州华鑫化工有限公司", "华鑫化工公司"),
    ("沧州市华鑫化工有限责任公司", "华鑫化工公司"),
    ("河北省沧州市华鑫化工有限公司", "华鑫化工公司"),
    ("华鑫化工有限公司", "华鑫化工公司"),
    ("沧州华鑫 化工有限公司", "华鑫化工公司"),
    ("沧州ＨＸ化工（集团）有限公司", "HX化工集团公司"),
    ("孟村明盛顺纺织有限公司", "明盛顺纺织公司"),          # 孟村回族自治县 is written 孟村
    ("石家庄市长安区中山化工有限公司", "中山化工公司"),   # 中山 is not inside 长安区: a 字号
    ("安顺化工有限公司", "安顺化工公司"),                # too short a remainder: 安顺 stays
])
def test_match_key_keeps_only_trade_name_and_industry(written, key):
    assert match_key(written) == key


def test_clean_name_folds_widths_spaces_and_brackets():
    assert clean_name(" 唐山ＺＨ化工(集团)有限公司　") == "唐山ZH化工（集团）有限公司"
    assert legal_key("唐山ZH化工（集团）有限责任公司") == "唐山ZH化工集团公司"


def test_uscc_quality():
    assert parse_uscc(VALID).quality == "valid"
    assert parse_uscc(VALID.lower()).code == VALID
    wrong_check = VALID[:-1] + ("0" if VALID[-1] != "0" else "1")
    legacy = parse_uscc(wrong_check)
    assert legacy.quality == "legacy" and legacy.code == wrong_check and legacy.region_code == "130100"
    assert parse_uscc(VALID[:-1]) is None                 # 17 characters
    assert parse_uscc(VALID[:10] + "I" + VALID[11:]) is None  # I is not in the charset
    assert parse_uscc("") is None and parse_uscc(None) is None


@pytest.mark.parametrize("text, expected", [
    ("2024-03-05", dt.date(2024, 3, 5)), ("2024年3月5日", dt.date(2024, 3, 5)), ("2024/3/5", dt.date(2024, 3, 5)),
    ("2024.03.05", dt.date(2024, 3, 5)), ("20240305", dt.date(2024, 3, 5)), ("2024-03-05 08:30:00", dt.date(2024, 3, 5)),
    ("", None),
])
def test_dates(text, expected):
    assert parse_date(text, "d", today=TODAY) == expected


@pytest.mark.parametrize("text, reason", [
    ("2024年13月40日", "unparseable_date"), ("2025-02-30", "unparseable_date"), ("待定", "unparseable_date"),
    ("二〇二四年三月", "unparseable_date"), ("1900-01-01", "out_of_range"), ("2027-01-01", "out_of_range"),
])
def test_bad_dates_say_why(text, reason):
    with pytest.raises(RowError) as err:
        parse_date(text, "d", today=TODAY)
    assert err.value.reason == reason


def test_deadlines_may_lie_ahead():
    assert parse_date("2027-01-01", "d", today=TODAY, allow_future_days=400) == dt.date(2027, 1, 1)


def test_money_and_mass():
    assert parse_money("50000", "m") == parse_money("50000元", "m") == parse_money("5万元", "m") == 50000.0
    assert parse_money("5.5万", "m") == 55000.0
    assert parse_money("12.5", "m", default_unit="万元") == 125000.0
    assert parse_mass_t("12.5t", "q") == parse_mass_t("12500kg", "q") == parse_mass_t("12.5吨", "q") == 12.5
    assert parse_mass_t("12500 公斤", "q") == 12.5
    for bad, reason in (("约五万", "unparseable_number"), ("-3", "out_of_range"), ("5 磅", "unparseable_number")):
        with pytest.raises(RowError) as err:
            parse_money(bad, "m") if "磅" not in bad else parse_mass_t(bad, "q")
        assert err.value.reason == reason
    with pytest.raises(RowError):
        parse_number("-5", "n", minimum=0)


def test_region_from_address():
    assert region_from_address("河北省石家庄市长安区中山东路1号") == "130102"
    assert region_from_address("唐山曹妃甸区") == "130209"
    assert region_from_address("无地址") is None


def test_the_nearest_county_is_the_one_a_scan_of_every_centroid_finds():
    """The ball tree against the plain haversine scan it replaced, on points across the country."""
    counties = [e for e in region_table().values() if e.level == "COUNTY" and (e.lon or e.lat)]

    def scanned(lon: float, lat: float, within: str | None = None) -> tuple[float, str]:
        def km(e) -> float:
            p1, p2 = math.radians(lat), math.radians(e.lat)
            a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(e.lon - lon) / 2) ** 2
            return 6371.0 * 2 * math.asin(math.sqrt(a))
        return min((km(e), e.code) for e in counties if not within or e.code.startswith(within))

    rng = random.Random(5)
    for _ in range(200):
        lon, lat = rng.uniform(75, 134), rng.uniform(18, 53)
        km, code = scanned(lon, lat)
        assert county_near(lon, lat, max_km=10_000) == code
        assert county_near(lon, lat) == (code if km <= 60 else None)
    assert county_near(114.5, 38.0, within="1301") == scanned(114.5, 38.0, "1301")[1]
    assert county_near(114.5, 38.0, within="99") is None


def test_resolution_is_explained_and_refuses_ambiguity():
    index = EnterpriseIndex()
    index.add("A", "沧州华鑫化工有限公司", "130902")
    index.add("B", "廊坊华鑫化工有限公司", "131002")
    index.add("C", "唐山聚嘉万轧钢有限公司", "130224")
    # a city authority does not confirm a county: 廊坊 is ruled out, 沧州's enterprise goes to review
    city = index.resolve(None, "华鑫化工有限责任公司", "130900")
    assert city.outcome == "review" and [c.uscc for c in city.candidates] == ["A"]
    assert index.resolve(None, "华鑫化工有限责任公司", "130902").uscc == "A"   # the county agrees
    assert index.resolve(None, "沧州华鑫化工有限公司", None).uscc == "A"        # the registered full name
    nowhere = index.resolve(None, "华鑫化工有限公司", None)
    assert nowhere.ambiguous and not nowhere.resolved and {c.uscc for c in nowhere.candidates} == {"A", "B"}
    typo = index.resolve(None, "唐山聚佳万轧钢有限公司", "130224")           # one edit alone: review
    assert typo.outcome == "review" and typo.candidates[0].uscc == "C" and "edit" in " ".join(typo.candidates[0].reasons)
    assert index.resolve("91130100MA0CEFGH1X", None, None).reasons[0].startswith("USCC")


@pytest.mark.parametrize("written, body, form, place", [
    ("滄州華潤化工有限公司", "华润化工", "llc", "130900"),              # traditional characters
    ("仓州华润化工有限公可", "华润化工", "llc", "130900"),              # mistyped place and legal form
    ("华润化工（沧州）有限公司", "华润化工", "llc", "130900"),          # the place after the 字号
    ("沧州华润化工股份有限公司", "华润化工", "jsc", "130900"),
    ("献县华通化工", "华通化工", "none", "130929"),                    # no legal form
    ("沧州临港华润化工有限公司", "华润化工", "llc", "130983"),          # a development zone: its county
    ("沧州经济技术开发区鑫源化工有限公司", "鑫源化工", "llc", "130900"),
    ("沧县李刚五金店", "李刚五金", "other", "130921"),                  # 个体工商户
    ("华隆精细化工有限公司", "华隆精细化工", "llc", None),              # 华隆 is a 字号, not a mistyped 华龙区
])
def test_company_names_are_taken_apart(written, body, form, place):
    parsed = parse_company(written)
    assert (parsed.body, parsed.form, parsed.place) == (body, form, place)


def test_branches_keep_their_label():
    branch = parse_company("华润化工有限公司黄骅分公司")
    assert branch.body == "华润化工" and branch.branch == "130983"
    assert parse_company("沧州华润化工有限公司黄骅分公司").branch == "130983"
    assert parse_company("沧州华润化工有限公司").branch is None
