"""The report triage's parts without the service: the generator's splits, a deterministic model, and the
triage's enterprise, region and accident-type rules on a hand-made index."""
from __future__ import annotations

from riskgraph.reasoning.text.model import train
from riskgraph.reasoning.text.pipeline import Recogniser, tokens
from riskgraph.reasoning.text.places import Enterprise, Index
from riskgraph.reasoning.text.triage import triage
from riskgraph.synth.report_texts import OBSERVATIONS, corpus

E1 = "91130100MA0CEFGH1X"


def test_the_held_out_split_uses_phrasings_training_never_sees() -> None:
    train_texts = " ".join(s.text for s in corpus(1500, seed=3))
    held_out = {o.phrasings[-1] for o in OBSERVATIONS}
    assert not any(p in train_texts for p in held_out)
    assert corpus(50, seed=3) == corpus(50, seed=3)
    assert corpus(50, seed=3) != corpus(50, seed=4)


def test_training_is_deterministic() -> None:
    texts = [s.text for s in corpus(40, seed=9, split="test")]
    a, b = train(400), train(400)
    assert a.predict(texts) == b.predict(texts)


def test_the_pipeline_segments_with_jieba_and_the_ruler_finds_graph_names() -> None:
    assert tokens("城东化工园区门口老是冒烟")[:2] == ["城东", "化工"]
    found = Recogniser([("PLACE", "城东化工园区", "130102")]).mentions("城东化工园区门口有人触电了")
    assert ("城东化工园区", "PLACE", "130102") in {(m.text, m.label, m.id) for m in found}
    assert ("触电", "ACCIDENT", "05") in {(m.text, m.label, m.id) for m in found}


def _index() -> Index:
    return Index(enterprises={E1: Enterprise(E1, "石家庄冀中化工有限公司", "130102", 114.55, 38.05)},
                 bodies={E1: "冀中化工"}, places={"城东化工园区": "130102"},
                 counties=[("130102", 114.54, 38.04), ("130209", 118.46, 39.27)],
                 region_names={"130102": "长安区", "130209": "曹妃甸区", "130100": "石家庄市"})


def test_triage_links_names_places_and_coordinates() -> None:
    index = _index()
    typo = triage(index, "翼中化工厂里电线乱拉乱接，有人触电了")
    assert typo.enterprise is not None and typo.enterprise.uscc == E1 and typo.enterprise.via == "near_name"
    assert typo.enterprise.score <= 0.85 and typo.accident_types[0] == "05"
    assert typo.region == "130102" and typo.region_basis == "enterprise"
    place = triage(index, "城东化工园区门口老是冒烟，有股怪味，没人管")
    assert (place.region, place.region_basis, place.place) == ("130102", "place", "城东化工园区")
    assert place.enterprise is None
    near = triage(index, "厂子后门有液体往外流", lon=114.5505, lat=38.0502)
    assert near.enterprise is not None and near.enterprise.via == "location" and 0.4 <= near.enterprise.score <= 0.7
    assert (near.region, near.region_basis) == ("130102", "coordinates")
    far = triage(index, "路口的井盖丢了", lon=100.0, lat=30.0)
    assert far.region is None and far.enterprise is None
    flood = triage(index, "小区地库进水了，内涝越来越严重")
    assert flood.kind == "自然灾害"
