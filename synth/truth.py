"""Ground-truth writers: which enterprise each row is about, and every injected defect.

Why: loaders and entity resolution are scored against these files, so they are
written *while* rows are written (same row numbers, no second pass).  Lines are
formatted by hand for speed; key order is fixed so output is byte-stable.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from .writers import FileInfo, JsonlWriter

REPAIR, QUARANTINE, FLAG = "repair", "quarantine", "flag"

DEFECT_CODES = (
    "name_variant", "uscc_legacy_check", "uscc_malformed", "uscc_lowercase", "missing_required",
    "out_of_range", "unparseable_date", "unparseable_number", "wrong_encoding", "orphan_reference",
    "conflicting_value", "duplicate_row", "date_format", "money_unit", "quantity_unit",
)
QUARANTINE_REASONS = ("missing_required", "out_of_range", "unparseable_date", "unparseable_number",
                      "orphan_reference", "unresolved_entity", "encoding_error", "duplicate_row")


def _j(x: Any) -> str:
    return json.dumps(x, ensure_ascii=False, separators=(",", ":"))


class Truth:
    """Owns truth/entities.jsonl, truth/defects.jsonl and the other truth files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entities_info = FileInfo("truth", "truth/entities.jsonl", "jsonl", "utf-8")
        self.defects_info = FileInfo("truth", "truth/defects.jsonl", "jsonl", "utf-8")
        self.enterprises_info = FileInfo("truth", "truth/enterprises.jsonl", "jsonl", "utf-8")
        self.units_info = FileInfo("truth", "truth/hazard_units.jsonl", "jsonl", "utf-8")
        self.entities = JsonlWriter(root, self.entities_info)
        self.defects = JsonlWriter(root, self.defects_info)
        self.enterprises = JsonlWriter(root, self.enterprises_info)
        self.units = JsonlWriter(root, self.units_info)
        self.counts: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    def entity(self, source: str, file: str, row: int, true_uscc: str | None, via: str,
               pattern: str | None = None, expect: str | None = None) -> None:
        """Row ``row`` of ``file`` refers to enterprise ``true_uscc`` (None = not in the registry).

        ``pattern``: how the row writes the name (exact, org_form, no_place, typo …); ``expect``: what
        a correct resolver does with it — link, or review where the issue's rules say a person must
        decide (a one-edit name alone, 字号 + 行业 with only a city, province or no region)."""
        u = "null" if true_uscc is None else '"' + true_uscc + '"'
        extra = (f',"pattern":"{pattern}"' if pattern else "") + (f',"expect":"{expect}"' if expect else "")
        self.entities.write_line(
            f'{{"source":"{source}","file":"{file}","row":{row},"true_uscc":{u},"via":"{via}"{extra}}}')

    def defect(self, source: str, file: str, row: int | None, field: str | None, defect: str,
               original: Any, injected: Any, expected: str, reason: str | None = None,
               expected_value: Any = None, **extra: Any) -> None:
        """Record one injected defect (see FORMATS.md for the meaning of every key)."""
        assert defect in DEFECT_CODES, defect
        assert expected in (REPAIR, QUARANTINE, FLAG), expected
        assert (expected == QUARANTINE) == (reason is not None), (defect, expected, reason)
        assert reason is None or reason in QUARANTINE_REASONS, reason
        rec = {"source": source, "file": file, "row": row, "field": field, "defect": defect,
               "original_value": original, "injected_value": injected, "expected": expected,
               "expected_reason": reason, "expected_value": expected_value}
        rec.update(extra)
        self.defects.write_line(_j(rec))
        self.counts[defect] += 1
        self.outcomes[expected] += 1

    def files(self) -> list[FileInfo]:
        return [self.entities_info, self.defects_info, self.enterprises_info, self.units_info]

    def close(self) -> None:
        for w in (self.entities, self.defects, self.enterprises, self.units):
            w.close()
