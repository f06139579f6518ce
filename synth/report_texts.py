"""Labelled 随手记 texts for the report triage (reasoning/text/): how residents actually write.

Why: no labelled corpus of public hazard reports exists, so the triage learns from the generator, as the
entity resolution does. Each text is a subject (a named or described place), an observation (what was
seen: its GB 6441 accident types, most likely first, its GB/T 13861 factor class and its kind), how long
or how badly it has been going on (which sets the urgency) and a colloquial tail (有股怪味, 没人管 …).

Every observation has several phrasings; `corpus(split="test")` uses only the last one of each and its own
subjects and tails, so a held-out evaluation measures unseen wording, not memorised sentences.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .names import ROADS, village

SAFETY, NATURAL = "安全生产", "自然灾害"
HUMAN, THING, ENVIRONMENT, MANAGEMENT = "1", "2", "3", "4"
HIGH, MEDIUM, LOW = "high", "medium", "low"


@dataclass(frozen=True)
class Observation:
    """What a reporter saw. `types` are GB 6441 accident types (Chinese labels), most likely first."""

    phrasings: tuple[str, ...]
    types: tuple[str, ...]
    factor: str
    kind: str
    base: str  # the urgency when nothing is said about how long or how badly


Obs = Observation
OBSERVATIONS: tuple[Observation, ...] = (
    # ---- chemicals, gases, fire
    Obs(("罐区那边有股刺鼻的怪味，熏得眼睛疼", "厂里飘出来一股臭鸡蛋味，闻着头晕", "储罐附近味道特别冲，嗓子难受",
       "一到晚上就有股怪味从厂里飘出来，呛得人直咳嗽"), ("中毒和窒息", "火灾"), THING, SAFETY, MEDIUM),
    Obs(("储罐老是冒白烟，也不知道是啥", "罐子顶上一直在冒烟冒气", "管道接口那儿滋滋往外喷气",
       "有个罐子阀门那块儿一直呲气，雾蒙蒙的"), ("容器爆炸", "中毒和窒息", "火灾"), THING, SAFETY, HIGH),
    Obs(("后门有液体往外流，地上黄乎乎的一片", "排水沟里流出来的水颜色不对还冒泡", "地上淌了一大片油，味道很大",
       "墙根底下渗出来一滩液体，有股酸味"), ("中毒和窒息", "灼烫"), THING, SAFETY, MEDIUM),
    Obs(("工人在罐区抽烟，烟头随手扔", "有人在仓库门口点火烧东西", "看见有人拿着打火机在油罐边上点烟",
       "几个工人蹲在危化品仓库门口抽烟"), ("火灾", "其他爆炸"), HUMAN, SAFETY, HIGH),
    Obs(("车间里堆满了纸箱和油桶，过道都堵死了", "消防通道被货物堵得严严实实", "安全出口被铁链锁上了",
       "楼梯口堆了一堆易燃的泡沫板"), ("火灾",), MANAGEMENT, SAFETY, MEDIUM),
    Obs(("灭火器都过期好几年了也没人换", "消防栓是坏的，一拧就掉", "消防器材锈得不成样子",
       "厂里的灭火器压力表都指到红区了"), ("火灾",), MANAGEMENT, SAFETY, LOW),
    Obs(("槽车在路边排队，占了半条道", "好几辆危化品罐车停在小区门口", "拉化工料的车天天停在学校旁边",
       "危险品运输车乱停乱放，堵在路口"), ("车辆伤害", "火灾"), MANAGEMENT, SAFETY, MEDIUM),
    Obs(("半夜偷偷往河里排废水", "晚上偷摸着排废气，白天就停了", "夜里烟囱冒黑烟，早上就不冒了",
       "一到半夜就往外排东西，味道大得睡不着"), ("中毒和窒息",), MANAGEMENT, SAFETY, MEDIUM),
    Obs(("小区楼道里有人给电瓶车充电，电线从窗户扯下来", "电动车推进电梯里上楼充电", "地下室一排电瓶车在充电，插排都烫手",
       "楼道里飞线充电，线都拖到地上了"), ("火灾", "触电"), HUMAN, SAFETY, MEDIUM),
    Obs(("饭店后厨煤气罐漏气，一股煤气味", "路边燃气管道有漏气的嘶嘶声", "楼下一股液化气的味道，好久都不散",
       "燃气表那儿一直有煤气味"), ("其他爆炸", "火灾", "中毒和窒息"), THING, SAFETY, HIGH),
    Obs(("锅炉房的压力表指针一直在抖，还有异响", "锅炉房天天砰砰响，管子在漏水汽", "烧锅炉的师傅说压力老是超",
       "锅炉冒气冒得厉害，旁边的管子都烫红了"), ("锅炉爆炸", "灼烫"), THING, SAFETY, HIGH),
    Obs(("厂房里粉尘大得看不清人，也没有除尘设备", "车间里全是面粉一样的灰，一点火星就完了", "打磨车间铝粉飘得到处都是",
       "车间里灰蒙蒙的，工人连口罩都不戴"), ("其他爆炸", "火灾"), ENVIRONMENT, SAFETY, MEDIUM),
    # ---- electricity, machines, lifting, heights
    Obs(("厂房里电线乱拉乱接，插线板一串一串的", "配电箱门都没了，电线裸露在外面", "电线杆上的线垂到地上了，下雨还冒火花",
       "工地上电线泡在水里，也没人收"), ("触电", "火灾"), THING, SAFETY, MEDIUM),
    Obs(("工人没系安全带就在房顶上干活", "脚手架上的人都不戴安全帽", "高处作业下面连个网都没有",
       "几个工人站在三楼外墙架子上干活，啥防护也没有"), ("高处坠落", "物体打击"), HUMAN, SAFETY, HIGH),
    Obs(("塔吊吊着东西从人头顶上过", "吊车吊钢筋的时候钢丝绳都起毛了", "起重机吊着货在马路上方转来转去",
       "工地塔吊旁边没有围挡，吊的东西晃来晃去"), ("起重伤害", "物体打击"), THING, SAFETY, HIGH),
    Obs(("机器的防护罩拆了，皮带轮就那么转着", "冲床没有防护，工人手直接往里送料", "车间里的绞龙盖子都没盖",
       "搅拌机开着的时候工人伸手进去掏"), ("机械伤害",), THING, SAFETY, MEDIUM),
    Obs(("广告牌松松垮垮的，风一吹就晃", "楼上的空调外机架子锈断了一半", "路边的招牌掉了一个角，悬在半空",
       "外墙的瓷砖老往下掉，差点砸到人"), ("物体打击",), THING, SAFETY, MEDIUM),
    Obs(("叉车在厂区里开得飞快，还拉着人", "拉矿的大车超载，石头一路往下掉", "厂区里货车倒车没人指挥",
       "渣土车闯红灯，车上的土撒一路"), ("车辆伤害", "物体打击"), HUMAN, SAFETY, MEDIUM),
    # ---- confined spaces, water, mines, construction
    Obs(("工人下到污水井里干活，上面也没人看着", "有人钻进罐子里清理，也不通风", "化粪池清掏的人直接就下去了",
       "地下管道里有人作业，井口连个通风机都没有"), ("中毒和窒息", "淹溺"), HUMAN, SAFETY, HIGH),
    Obs(("路上井盖没了，一个大黑窟窿", "井盖碎了，晚上看不见容易掉下去", "人行道上的井盖翘起来了",
       "小区门口的井盖丢了好几天"), ("高处坠落", "其他伤害"), THING, SAFETY, MEDIUM),
    Obs(("鱼塘边上连个护栏和警示牌都没有", "河边挖沙留下的深坑积满了水，小孩常去玩", "水库边上有人游泳也没人拦",
       "废弃的水坑没围起来，看着挺深"), ("淹溺",), ENVIRONMENT, SAFETY, MEDIUM),
    Obs(("基坑挖得很深，边上也没支护，土一直往下掉", "工地的土坡裂开了口子", "挖掘机在墙根底下挖，墙都歪了",
       "沟槽里有人干活，两边的土松松的"), ("坍塌",), ENVIRONMENT, SAFETY, HIGH),
    Obs(("矿上半夜放炮，震得房子都裂缝了", "采石场放炮不打招呼，石头飞到路上", "爆破的时候也不清场，人就在旁边",
       "山上天天崩山放炮，玻璃都震碎了"), ("放炮", "物体打击"), MANAGEMENT, SAFETY, HIGH),
    Obs(("私人小作坊偷偷做鞭炮，屋里全是火药", "村里有人在家里囤了好多烟花爆竹", "有人在民房里私自加工炸药",
       "仓库里堆着没有手续的雷管"), ("火药爆炸", "火灾"), MANAGEMENT, SAFETY, HIGH),
    Obs(("煤矿井下瓦斯超了还让下井", "小煤窑的通风机停了还在挖", "井下探头报警了也没人撤",
       "矿工说最近井下瓦斯浓度老是很高"), ("瓦斯爆炸", "中毒和窒息"), MANAGEMENT, SAFETY, HIGH),
    Obs(("矿井顶板老往下掉石头", "巷道顶上裂缝越来越大，支护都弯了", "井下顶板压得吱吱响",
       "采空区旁边的巷道片帮掉块"), ("冒顶片帮", "坍塌"), ENVIRONMENT, SAFETY, HIGH),
    Obs(("矿井里的水越来越多，抽都抽不完", "井下渗水变大了，还带着泥", "老窑那边透过来的水哗哗的",
       "巷道里积水到膝盖了还在干"), ("透水", "淹溺"), ENVIRONMENT, SAFETY, HIGH),
    Obs(("尾矿库坝体渗水，下游村子都担心", "尾矿坝上有裂缝，雨一下就往外冒泥", "尾矿库的水快满了，坝顶都湿了",
       "选矿厂的尾矿库看着要溢出来了"), ("坍塌", "淹溺"), THING, SAFETY, HIGH),
    Obs(("厂里的压力容器好多年没检验了", "空压机的储气罐锈得很厉害", "气瓶随便放在太阳底下晒，也没防倒链",
       "氧气瓶和乙炔瓶挨着放在一块"), ("容器爆炸", "火灾"), MANAGEMENT, SAFETY, MEDIUM),
    Obs(("电焊的火花溅到旁边的油漆桶上", "工人在车间里动火也没人看着", "烧电焊不办动火证，旁边就是易燃物",
       "切割的火星子掉到楼下的垃圾堆里了"), ("火灾", "灼烫"), HUMAN, SAFETY, HIGH),
    Obs(("工人没培训就上岗开叉车", "新来的工人没证就操作起重机", "厂里从来不搞安全培训",
       "特种作业的人都没有证"), ("其他伤害", "车辆伤害"), MANAGEMENT, SAFETY, LOW),
    Obs(("车间的地面全是油，走路老滑倒", "楼梯没有扶手，台阶还是坏的", "仓库照明坏了，里面黑乎乎的",
       "车间地上到处是积水和碎料"), ("其他伤害",), ENVIRONMENT, SAFETY, LOW),
    Obs(("烧水的大锅没盖，工人在旁边走来走去", "热水管道保温层都掉了，碰一下就烫", "沥青锅就在路边熬，小孩在旁边玩",
       "蒸汽管子漏气，旁边的人被烫过"), ("灼烫",), THING, SAFETY, MEDIUM),
    # ---- natural disasters
    Obs(("山坡上裂了好长一条缝，下雨往下掉土", "后山的石头松了，时不时滚下来", "山体有滑坡的样子，树都歪了",
       "村后边的坡一下雨就往下溜土"), ("坍塌", "物体打击"), ENVIRONMENT, NATURAL, HIGH),
    Obs(("沟里的泥石流冲下来过一回，沟口还住着人", "一下大雨山沟里就冲下来泥和石头", "河沟被泥沙堵死了，下雨肯定漫",
       "沟道里全是碎石，上游还在下雨"), ("淹溺", "坍塌"), ENVIRONMENT, NATURAL, HIGH),
    Obs(("河道里堆满了垃圾和树枝，水都流不动", "桥洞被杂物堵住了，上游水位涨了", "排洪渠被人填了盖房子",
       "河堤有个口子在渗水"), ("淹溺",), ENVIRONMENT, NATURAL, MEDIUM),
    Obs(("地下通道一下雨就积水，车都熄火", "小区地库进水了，水还在涨", "路口积水到膝盖，还有人蹚水过",
       "下大雨涵洞里灌满了水"), ("淹溺", "触电"), ENVIRONMENT, NATURAL, HIGH),
    Obs(("山上有人烧荒，烟很大", "林子边上有人上坟烧纸放鞭炮", "林区里有人野炊生火",
       "果园里烧秸秆，火苗离林子不远"), ("火灾",), HUMAN, NATURAL, HIGH),
    Obs(("村里的老房子墙裂了，还住着老人", "危房外墙鼓出来了，随时会塌", "学校旁边的旧围墙歪得厉害",
       "村口那排土坯房屋顶都塌了一半"), ("坍塌",), THING, NATURAL, MEDIUM),
    Obs(("大风把工棚的彩钢板刮得乱飞", "风一大楼顶的广告架子就哐哐响", "冰雹把大棚砸塌了，骨架歪着",
       "下大雪大棚压得变形了，里面还有人"), ("物体打击", "坍塌"), ENVIRONMENT, NATURAL, MEDIUM),
)

#: how long or how badly: each moves the urgency (None keeps the observation's own)
NOW = ("现在正冒着呢", "刚刚又开始了", "已经有人受伤了", "火越来越大了", "赶紧来人啊", "马上就要出事了", "就在刚才", "有人晕倒了")
CHRONIC = ("好几天了", "老是这样", "一直都这样", "都一个多月了", "天天都这样", "隔三岔五就来一回", "反映过好多次")
MINOR = ("不算太严重", "建议管一管", "也不知道算不算隐患", "顺便反映一下", "问题不大但是看着不舒服", "希望有空来看看")
TAILS_TRAIN = ("没人管", "有股怪味", "老是冒烟", "也没人来看看", "太吓人了", "希望领导重视", "投诉好几次了没用", "", "", "")
TAILS_TEST = ("物业也不管", "大家都很担心", "请尽快处理", "谁来管管啊", "", "")
SUBJECTS = ("{town}{road}上的一家化工厂", "{road}那边的工厂", "我们小区旁边的厂子", "{village}附近的采石场", "{road}口的工地",
            "{town}城东化工园区门口那家厂", "村东头那个加工厂", "{road}上的饭店", "{village}后山", "{village}的河边")
SUBJECTS_TEST = ("{town}开发区里的一家企业", "{road}边上的厂房", "{village}村委会旁边", "我家楼下", "{town}{road}北头")
TOWNS = ("城东", "城西", "城南", "开发区", "新区", "老城", "县城", "镇上")


@dataclass(frozen=True)
class Sample:
    text: str
    types: tuple[str, ...]   #: GB 6441 labels, most likely first
    factor: str              #: GB/T 13861 top class notation (1 人, 2 物, 3 环境, 4 管理)
    urgency: str
    kind: str


def _urgency(base: str, pace: str | None) -> str:
    if pace == "now":
        return HIGH
    if pace == "minor":
        return LOW if base != HIGH else MEDIUM
    if pace == "chronic":
        return MEDIUM if base == LOW else base
    return base


def sample(rng: random.Random, *, split: str = "train") -> Sample:
    obs = rng.choice(OBSERVATIONS)
    phrasings = obs.phrasings[:-1] if split == "train" else obs.phrasings[-1:]
    seen = rng.choice(phrasings)
    subjects = SUBJECTS if split == "train" else SUBJECTS_TEST
    tails = TAILS_TRAIN if split == "train" else TAILS_TEST
    subject = rng.choice(subjects).format(town=rng.choice(TOWNS), road=rng.choice(ROADS) + rng.choice(("路", "街", "大道")),
                                          village=village(rng))
    pace = rng.choice((None, None, "now", "chronic", "minor"))
    said = {"now": NOW, "chronic": CHRONIC, "minor": MINOR}.get(pace or "", ("",))
    parts = [subject if rng.random() < 0.8 else "", seen, rng.choice(said), rng.choice(tails)]
    sep = rng.choice(("，", "，", " ", "。", "！"))
    text = sep.join(p for p in parts if p)
    if rng.random() < 0.3:
        text += rng.choice(("！", "！！", "。", "？", "…"))
    return Sample(text=text, types=obs.types, factor=obs.factor, urgency=_urgency(obs.base, pace), kind=obs.kind)


def corpus(n: int, *, seed: int = 1, split: str = "train") -> list[Sample]:
    """`n` labelled texts; the same seed and split give the same texts."""
    if split not in ("train", "test"):
        raise ValueError("split is train or test")
    rng = random.Random(f"{seed}:{split}")
    return [sample(rng, split=split) for _ in range(n)]


__all__ = ["HIGH", "LOW", "MEDIUM", "NATURAL", "OBSERVATIONS", "SAFETY", "Sample", "corpus"]
