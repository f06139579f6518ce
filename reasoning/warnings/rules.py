"""rules.toml as a read-only object: the rules' thresholds, CAP codes, push and approval policy.

The colour and level codes it names are checked against the ontology's vocabularies when it is
loaded, so a typo fails at start-up instead of silently never warning.
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from riskgraph.reasoning.models.vocab import rank, vocabulary

RULES_FILE = Path(__file__).resolve().parent / "rules.toml"
COLOURS = "RiskColour"
ALARM_LEVELS = "AlarmLevel"
HAZARD_LEVELS = "MajorHazardLevel"
REGION_LEVELS = ("COUNTY", "CITY", "PROVINCE")


@dataclass(frozen=True)
class Rules:
    version: str
    method: str
    data: Mapping[str, Any]

    def rule(self, rule_id: str) -> Mapping[str, Any]:
        return self.data["rules"][rule_id]

    @property
    def rule_ids(self) -> list[str]:
        return list(self.data["rules"])

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def stamp(self) -> str:
        """What a warning records as its rules' version: `riskgraph-warnings 1.0.0`."""
        return f"{self.method} {self.version}"


def colour_rank(colour: str | None) -> int:
    """BLUE 1 … RED 4 (the RiskColour vocabulary's ranks); 0 for none."""
    return 0 if colour is None else rank(COLOURS, colour)


def max_colour(*colours: str | None) -> str | None:
    present = [c for c in colours if c]
    return max(present, key=colour_rank) if present else None


def load_rules(path: Path | None = None) -> Rules:
    """The rules file (default: the one shipped here), parsed and checked once per process."""
    return _load(str(path or RULES_FILE))


@cache
def _load(path: str) -> Rules:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    for field in ("version", "method", "rules"):
        if field not in data:
            raise ValueError(f"{path} has no {field}")
    rules = Rules(str(data["version"]), str(data["method"]), data)
    _check(rules)
    return rules


def _check(rules: Rules) -> None:
    colours, alarms, hazards = vocabulary(COLOURS), vocabulary(ALARM_LEVELS), vocabulary(HAZARD_LEVELS)

    def colour(value: str, where: str) -> None:
        if value not in colours:
            raise ValueError(f"rules.toml {where}: {value!r} is not a RiskColour ({sorted(colours.concepts)})")

    for rid, rule in rules.data["rules"].items():
        if "type" not in rule:
            raise ValueError(f"rules.toml [rules.{rid}] has no type")
        for key in ("level", "major_level", "general_level", "min_colour"):
            if key in rule:
                colour(rule[key], f"rules.{rid}.{key}")
        for c in rule.get("colours", ()):
            colour(c, f"rules.{rid}.colours")
        for band in rule.get("bands", ()):
            colour(band["level"], f"rules.{rid}.bands")
        if "min_alarm_level" in rule and rule["min_alarm_level"] not in alarms:
            raise ValueError(f"rules.toml rules.{rid}.min_alarm_level {rule['min_alarm_level']!r} is not an AlarmLevel")
        for key, value in (rule.get("levels") or {}).items():
            colour(value, f"rules.{rid}.levels.{key}")
            if rule["type"] == "major_hazard_raised" and key not in hazards:
                raise ValueError(f"rules.toml rules.{rid}.levels: {key!r} is not a MajorHazardLevel")
    for level in colours.concepts:
        for section in (rules["push"]["bureaus"], rules["approval"]["levels"], rules["cap"]["levels"]):
            if level not in section:
                raise ValueError(f"rules.toml: level {level} is missing from a [push]/[approval]/[cap] table")
    for section in (rules["push"]["bureaus"], rules["approval"]["levels"]):
        for level, scopes in section.items():
            bad = [s for s in scopes if s not in REGION_LEVELS]
            if bad:
                raise ValueError(f"rules.toml: {bad} are not region levels {REGION_LEVELS} (level {level})")
