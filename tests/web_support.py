"""What a person reads on a page, and the internal names it must never contain (no test functions):
shared by the server-rendered page tests (test_web_pages.py) and the browser walk-through
(test_web_browser.py), which checks the page as the browser shows it after its scripts ran."""
from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from riskgraph.ontology.model import load_ontology

ONTO = load_ontology()
#: Debian's Chromium, never a downloaded browser, started as on this machine's closed network
CHROMIUM = os.environ.get("RISKGRAPH_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: how long a browser test waits for a page, a selector or a script: generous, because the browser, the
#: service and its store share two busy cores in CI (20 s was not always enough)
TIMEOUT_MS = 60_000
#: where browser tests save their screenshots (gitignored)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def fresh_folder(path: Path) -> Path:
    """An empty screenshot folder for this run (the last run's pictures removed)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def internal_names() -> set[str]:
    """Every name the code uses for the ontology's things: a page must show none of them."""
    names = set(ONTO.classes) | set(ONTO.properties) | set(ONTO.relationship_types)
    names |= {r.name for r in ONTO.relations.values()} | {"^" + r.name for r in ONTO.relations.values()}
    labels: list[str] = [c.label_zh for c in ONTO.classes.values()] + [p.label_zh for p in ONTO.properties.values()]
    for vocab in ONTO.vocabularies.values():
        names |= {c.notation for c in vocab.concepts.values() if re.fullmatch(r"[A-Za-z_]{2,}", c.notation)}
        labels += [c.pref_zh for c in vocab.concepts.values()]
    # a word the ontology's own Chinese labels use (风险矩阵分析法（LS）, 可能性 L) is the label, not a code
    in_labels = {w for text in labels for w in re.findall(r"[A-Za-z_]+", text or "")}
    return names - in_labels


INTERNAL = internal_names()


class Text(HTMLParser):
    """What a person reads on a page: text nodes and the visible attributes, no script or style."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "alt", "aria-label") and value:
                self.parts.append(value)
        if tag == "option":
            pass  # an option's value is sent, not read: its text is what shows

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = Text()
    parser.feed(html)
    return " ".join(p.strip() for p in parser.parts if p.strip())


def leaks(html: str) -> list[str]:
    return leaks_in(visible(html))


def leaks_in(text: str) -> list[str]:
    """The internal names in a text a person reads (a class, property, relation or notation; ^relation)."""
    words = re.findall(r"[\^A-Za-z_][\w^.-]*", text)
    return sorted({w for w in words if w in INTERNAL or w.startswith("^") or MACHINE_ID.fullmatch(w)})


#: a machine identifier (a model's, a rule's: mem-2018-19, enterprise-residual-risk, overdue_rectification)
MACHINE_ID = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)+")
