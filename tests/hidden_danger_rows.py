"""A generated province whose hidden_dangers.csv gets extra rows for one hidden danger H
(YH9999999999) that name (or not) an inspection taken out of enforcement/inspections.csv (Y, which
can be put back) or one that never exists (X); the oracle is a fresh store loaded from the final files."""
from __future__ import annotations

import shutil
from pathlib import Path

from tests.load_support import fresh_store

H = "YH9999999999"
DANGERS = "dual_prevention/hidden_dangers.csv"
FLAG = "orphan_reference:来源检查编号"


class Export:
    def __init__(self, tmp_path: Path, generated) -> None:
        self.root = tmp_path / "export"
        shutil.copytree(generated(enterprises=30, seed=7), self.root)
        self.inspections = self.root / "enforcement" / "inspections.csv"
        self.ins_lines = self.inspections.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        self.dangers = self.root / DANGERS
        lines = self.dangers.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        self.header, self.base = lines[0], lines[1:]
        self.columns = self.header.rstrip("\r\n").split(",")
        named = {line.split(",")[self.columns.index("来源检查编号")] for line in self.base}
        # two inspections no other row names: Y (taken out, put back later), X (never there)
        spare = [line for line in self.ins_lines[1:] if line.split(",")[0] not in named]
        self.y_line = spare[0]
        self.Y = self.y_line.split(",")[0]
        self.X = "JC9999999999999999"
        self._template = self.base[0].rstrip("\r\n").split(",")

    def row(self, inspection: str = "", **cells: str) -> str:
        values = dict(zip(self.columns, self._template, strict=True))
        values.update({"隐患编号": H, "来源记录编号": "", "来源检查编号": inspection}, **cells)
        text = [f'"{v}"' if "\n" in v else v for v in (values[c] for c in self.columns)]
        return ",".join(text) + "\r\n"

    def write_dangers(self, *extra: str) -> None:
        self.dangers.write_text(self.header + "".join(self.base) + "".join(extra), encoding="utf-8")

    def without_y(self) -> None:
        self.inspections.write_text("".join(line for line in self.ins_lines if line != self.y_line), encoding="utf-8")

    def with_y(self) -> None:
        self.inspections.write_text("".join(self.ins_lines), encoding="utf-8")

    def fresh(self) -> tuple:
        """H as a fresh store loaded from the files as they now are has it, and that load's counts."""
        with fresh_store(self.root) as (s, report):
            return view(s), dangers_stats(report)


def view(store) -> tuple:
    """H as the graph holds it: its properties and the inspections that FOUND it."""
    props = store.read("MATCH (h:HiddenDanger {id: $h}) RETURN properties(h) AS p", {"h": H})[0]["p"]
    found = {r["i"] for r in store.read("MATCH (i:Inspection)-[:FOUND]->(h:HiddenDanger {id: $h}) RETURN i.id AS i",
                                         {"h": H})}
    return {k: v for k, v in props.items() if not k.endswith("Tokens")}, found


def dangers_stats(report):
    return next(f for f in report.files if f.file == DANGERS)


def balanced(stats) -> bool:
    return stats.read == stats.loaded + stats.unchanged + stats.quarantined_total
