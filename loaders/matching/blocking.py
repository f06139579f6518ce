"""Which registry entries a record is compared with: a few cheap keys instead of every pair.

Keys: the USCC (and the licence numbers and phones an enterprise is known by); the exact full
name (place + body); the body (字号 + 行业) with the place stripped; the 字号 alone (the same 字号
in another trade); the body's pinyin (homophones); and the body with one character deleted,
SymSpell-style, which finds every one-edit neighbour — a substituted, dropped, added or
transposed character (华瑞/华润, 源鑫/鑫源) — without comparing all names.
"""
from __future__ import annotations

from collections import defaultdict

from riskgraph.loaders.matching.name_keys import NameKeys
from riskgraph.loaders.matching.records import Entry, Query, clean_phone, clean_text
from riskgraph.loaders.normalise.company import CompanyName, parse_company

#: a key shared by more entries than this says little (a one-character 字号): it is not used
MAX_BLOCK = 200


def _deletions(body: str) -> set[str]:
    if len(body) < 3:
        return set()
    return {body[:i] + body[i + 1:] for i in range(len(body))}


def name_keys(text: str) -> frozenset[str]:
    """The block keys of one company name as written."""
    return frozenset(Blocker.keys(parse_company(text)))


class Blocker:
    """Block keys → USCCs, kept current as entries are added or change. `names` gives a name's
    keys (from a NameKeys cache kept between runs, or computed here)."""

    def __init__(self, names: NameKeys | None = None) -> None:
        self.names = names or NameKeys(name_keys, None)
        self.entries: dict[str, Entry] = {}
        self._keys: dict[str, set[str]] = defaultdict(set)
        self._of: dict[str, set[str]] = {}
        #: counts the changes: what was found before another is not what would be found now
        self.version = 0

    @staticmethod
    def keys(name: CompanyName) -> set[str]:
        out = {f"full:{name.full_key}"}
        if name.body:
            out.add(f"body:{name.body}")
            out.add(f"sound:{name.phonetic}")
            out.update(f"del:{d}" for d in _deletions(name.body))
            out.add(f"del:{name.body}")
        if len(name.trade) >= 2:
            out.add(f"trade:{name.trade}")
        return out

    def _entry_keys(self, entry: Entry) -> set[str]:
        out = set(self.names(entry.name)) | {f"uscc:{entry.uscc}"}
        out.update(f"licence:{lic}" for lic in entry.licences)
        out.update(f"phone:{p}" for p in entry.phones)
        return out

    def add(self, entry: Entry) -> None:
        self.remove(entry.uscc)
        self.entries[entry.uscc] = entry
        keys = self._entry_keys(entry)
        self._of[entry.uscc] = keys
        for key in keys:
            self._keys[key].add(entry.uscc)

    def remove(self, uscc: str) -> None:
        self.version += 1
        for key in self._of.pop(uscc, set()):
            self._keys[key].discard(uscc)
        self.entries.pop(uscc, None)

    def candidates(self, query: Query) -> list[Entry]:
        """Entries sharing at least one key with the query (each at most once)."""
        keys: set[str] = set()
        if query.code is not None:
            keys.add(f"uscc:{query.code.code}")
        licence = clean_text(query.licence)
        if licence:
            keys.add(f"licence:{licence}")
        phone = clean_phone(query.phone)
        if phone:
            keys.add(f"phone:{phone}")
        if query.name and query.name.strip():  # as Query.parsed has a name
            keys |= self.names(query.name)
        found: set[str] = set()
        for key in keys:
            codes = self._keys.get(key)
            if codes and (len(codes) <= MAX_BLOCK or key.startswith(("uscc:", "full:", "body:"))):
                found |= codes
        return [self.entries[u] for u in sorted(found)]
