"""What the public sees when it scans a code: a policy the bureau configures.

`RISKGRAPH_PUBLIC_SCAN` lists the sections shown to a scanner who reads the entity at the public
level (anonymous, another enterprise, an inspector from elsewhere), comma-separated:

| section | shows |
|---|---|
| `registry` | the entity's public registry facts (name, code, address, legal representative, industry, region, licences' public fields …) |
| `colour` | the official risk colour |
| `commitment` | the enterprise's safety commitment (安全承诺) |
| `report` | the reporting entry (举报) |
| `riskPoints` | its risk points and their colours (风险告知) |
| `hiddenDangers` | its hidden dangers (what the public fields of each say) |
| `licences`, `penalties`, `inspections` | those records' public fields |

Default (sober): `registry,colour,commitment,report` — not the open hidden dangers, which a scan
used to show anyone. Within a section the ontology's disclosure levels still decide every field.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskgraph.ontology.anchors import HIDDEN_DANGER, INDUSTRY, INSPECTION, LICENCE, REGION, RISK_POINT
from riskgraph.ontology.errors import N_, SettingError
from riskgraph.ontology.model import Ontology

ENV = "RISKGRAPH_PUBLIC_SCAN"
SECTIONS = ("registry", "colour", "commitment", "report", "riskPoints", "hiddenDangers", "licences", "penalties",
            "inspections")
DEFAULT = ("registry", "colour", "commitment", "report")
#: properties each section governs on the scanned entity itself (the rest of its public fields are `registry`)
COLOUR_FIELDS = ("riskColour", "reportedColour")
COMMITMENT_FIELDS = ("safetyCommitment", "commitmentOn")
#: the classes of related records each section lets through (their public fields only)
SECTION_CLASSES = {"registry": (REGION, INDUSTRY), "riskPoints": (RISK_POINT,), "hiddenDangers": (HIDDEN_DANGER,),
                   "licences": (LICENCE,), "penalties": ("Penalty",), "inspections": (INSPECTION,)}


@dataclass(frozen=True)
class PublicPolicy:
    sections: frozenset[str]

    @classmethod
    def parse(cls, text: str | Iterable[str] | None) -> PublicPolicy:
        if text is None:
            return cls(frozenset(DEFAULT))
        items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
        unknown = [t for t in items if t not in SECTIONS]
        if unknown:
            raise SettingError(N_("{name}: unknown section(s) {unknown}; choose from {sections}"), name=ENV,
                               unknown=", ".join(unknown), sections=", ".join(SECTIONS))
        return cls(frozenset(items))

    @classmethod
    def from_env(cls) -> PublicPolicy:
        text = os.environ.get(ENV)
        return cls.parse(text if text and text.strip() else None)

    def shows(self, section: str) -> bool:
        return section in self.sections

    def classes(self, onto: Ontology) -> set[str]:
        out: set[str] = set()
        for section, names in SECTION_CLASSES.items():
            if section in self.sections:
                for name in names:
                    out.update(n for n in onto.labels if onto.is_a(n, name))
        return out

    def apply(self, dossier: dict[str, Any], onto: Ontology) -> dict[str, Any]:
        """The dossier as the public sees it under this policy (the dossier is already at the public level)."""
        out = dict(dossier)
        props = dict(dossier.get("properties") or {})
        key_prop = onto.key_of(dossier["label"])
        kept: dict[str, Any] = {}
        for name, value in props.items():
            if name in COLOUR_FIELDS:
                if self.shows("colour"):
                    kept[name] = value
            elif name in COMMITMENT_FIELDS:
                if self.shows("commitment"):
                    kept[name] = value
            elif self.shows("registry") or name in ("name", key_prop):
                kept[name] = value
        out["properties"] = kept
        allowed = self.classes(onto)
        relations = {}
        for name, items in (dossier.get("relations") or {}).items():
            shown = [i for i in items if i.get("label") in allowed]
            if shown:
                relations[name] = shown
        if "relations" in dossier:
            out["relations"] = relations
        out.pop("truncated", None)
        out.pop("derived", None)
        for name in ("recentAlarms", "assessments", "recommendations", "naturalDisasterPoints"):
            if name in out:
                out[name] = []
        if "summary" in out:
            summary = dict(out["summary"])
            summary["counts"] = {k: len(v) for k, v in relations.items()}
            if not self.shows("hiddenDangers"):
                summary.pop("hiddenDangers", None)
            summary.pop("checks", None)
            out["summary"] = summary
        return out


__all__ = ["DEFAULT", "ENV", "PublicPolicy", "SECTIONS"]
