"""Declarative source mappings: one YAML file per source system, columns → ontology.

A new source system is a new mapping file in `loaders/mappings/`, not new code. The format:

```yaml
source: enforcement            # source-system id (also the folder name in an export)
title: 执法系统
order: 30                      # load order: registries before what refers to them
files:
  - path: enforcement/inspections.csv
    format: csv                # csv | xlsx | jsonl
    encoding: auto             # auto | utf-8 | gb18030
    label: Inspection          # the node each row becomes
    fields:                    # ontology property: {column, type, required, …options}
      id: {column: 检查编号, required: true}
      inspectedOn: {column: 检查日期, type: date, required: true}
    enterprise:                # which enterprise the row is about (loaders/resolve.py: link, review or none)
      uscc: 统一社会信用代码
      name: 被检查单位
      region_column: 执法机关    # the authority's region: a county confirms, a city or province does not
      compare: {phone: 联系电话}  # further columns compared with the registry (address, legal_rep, phone, licence)
      relation: HAS_INSPECTION  # (Enterprise)-[HAS_INSPECTION]->(row node)
      required: true            # unresolved → quarantined as unresolved_entity
    links:                     # other relationships, to nodes that must already exist
      - {type: RESULTED_IN, from: Inspection, field: inspectionId, required: false}
```
Field types: text, name (company name), uscc, date, datetime, money, mass_t, integer, decimal,
boolean, vocab (values looked up in the property's SKOS scheme by label; `via: Scheme.dataKey` reads
another scheme's link, e.g. an industry class's supervision industry), region (a GB/T 2260 code or
an address), park, json, compose (several columns joined into an id; `optional` lists parts that
may be blank), sum (integer columns added).
Field options: `invalid: flag` keeps the row when this value is bad — the value is dropped and
`<reason>:<property>` joins the node's dataQuality flags (for secondary attributes of master
records); the default quarantines the row. Numbers take `min`/`max` or `within: lon|lat`
(the province's extent), and `signed_when: {column: …, in: [...]}` lifts `min` for rows whose column
holds one of those values (an alarm's value below zero is a temperature's, never a concentration's);
dates take `future_days` (deadlines and expiry lie ahead); fields
sharing a `group` (a coordinate pair) are kept or dropped together.
Links take `field` (a mapped property) or `column` (a raw column), `required` (a missing target
quarantines the row as orphan_reference; otherwise the link is dropped and flagged), `many`
('|'-separated keys) and `when: {column: …, equals: …}`. `nodes:` lists further nodes a row
implies (e.g. the Chemical an inventory row names): created if absent; an existing one only gains
the properties it lacks; written before the links.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from riskgraph.ontology.anchors import ENTERPRISE
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.ontology.model import Ontology

FIELD_TYPES = {"text", "name", "uscc", "date", "datetime", "money", "mass_t", "integer", "decimal", "boolean",
               "vocab", "region", "park", "json", "compose", "sum"}
FORMATS = {"csv", "xlsx", "jsonl"}
#: what an `enterprise: compare:` block may name (the legal representative and address are also
#: compared when they are mapped as enterprise `fields`)
COMPARE_FIELDS = {"address", "legal_rep", "phone", "licence"}


class MappingError(RiskGraphError, ValueError):
    """A mapping file that does not fit the ontology or the mapping format."""


@dataclass(frozen=True)
class FieldSpec:
    prop: str
    columns: tuple[str, ...]
    type: str = "text"
    required: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    #: the field without its lower bound, for the rows `signed_when` names (fields.signed_variant)
    signed: FieldSpec | None = None


@dataclass(frozen=True)
class LinkSpec:
    rel_type: str
    other: str            # the other node's label
    field: str | None     # the row field whose value is the other node's key …
    column: str | None    # … or the raw column that holds it
    outgoing: bool        # True: (row node)-[rel]->(other); False: (other)-[rel]->(row node)
    required: bool = False
    many: bool = False    # the value is a '|'-separated list of keys
    when: tuple[str, str] | None = None  # (column, value): only rows where column == value


@dataclass(frozen=True)
class NodeSpec:
    """A further node a row implies, keyed and filled from the row's columns."""

    label: str
    fields: tuple[FieldSpec, ...]
    key: str


@dataclass(frozen=True)
class EnterpriseSpec:
    uscc: str | None
    name: str | None
    relation: str | None
    required: bool = True
    #: a column naming the enterprise's area (e.g. 执法机关): only a hint for name matching
    region_column: str | None = None
    #: True: (Enterprise)-[relation]->(row node); False: (row node)-[relation]->(Enterprise)
    outgoing: bool = True
    #: enterprise facts this source also asserts: kept per fact, never overriding the registry
    fields: tuple[FieldSpec, ...] = ()
    #: columns entity resolution compares with the registry (address, legal_rep, phone, licence)
    compare: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FileSpec:
    path: str
    format: str
    encoding: str
    label: str
    fields: tuple[FieldSpec, ...]
    enterprise: EnterpriseSpec | None
    links: tuple[LinkSpec, ...]
    #: the ontology key of `label`, which one of the fields must give
    key: str
    nodes: tuple[NodeSpec, ...] = ()

    def field(self, prop: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.prop == prop), None)


@dataclass(frozen=True)
class SourceMapping:
    source: str
    title: str
    order: int
    files: tuple[FileSpec, ...]


def _fields(raw: dict[str, Any] | None, label: str, onto: Ontology, where: str) -> tuple[FieldSpec, ...]:
    declared = onto.properties_of(label)
    specs = []
    for prop, spec in (raw or {}).items():
        if prop not in declared:
            raise MappingError(N_("{where}: {label} has no property {prop!r} in the ontology"),
                               where=where, label=label, prop=prop)
        spec = {"column": spec} if isinstance(spec, str) else dict(spec)
        column = spec.pop("column", None)
        if column is None:
            raise MappingError(N_("{where}: field {prop} names no column"), where=where, prop=prop)
        kind = spec.pop("type", "text")
        if kind not in FIELD_TYPES:
            raise MappingError(N_("{where}: field {prop} has unknown type {kind!r}"),
                               where=where, prop=prop, kind=kind)
        if kind == "vocab" and declared[prop].vocabulary is None:
            raise MappingError(N_("{where}: {prop} has no vocabulary in the ontology"), where=where, prop=prop)
        required = bool(spec.pop("required", False))
        columns = tuple(column) if isinstance(column, list) else (column,)
        signed = FieldSpec(prop, columns, kind, required, {k: v for k, v in spec.items() if k not in ("min", "signed_when")}) \
            if "signed_when" in spec else None
        specs.append(FieldSpec(prop, columns, kind, required, spec, signed))
    return tuple(specs)


def _enterprise(ent: dict[str, Any] | None, label: str, onto: Ontology, where: str) -> EnterpriseSpec | None:
    if ent is None:
        return None
    relation = ent.get("relation")
    outgoing = ent.get("direction", "out") == "out"
    if relation:
        rel = onto.relation(relation)
        src, dst = (ENTERPRISE, label) if outgoing else (label, ENTERPRISE)
        if not (onto.is_a(src, rel.domain) and onto.is_a(dst, rel.range)):
            raise MappingError(N_("{where}: {relation} cannot go from {src} to {dst}"),
                               where=where, relation=relation, src=src, dst=dst)
    return EnterpriseSpec(
        uscc=ent.get("uscc"), name=ent.get("name"), relation=relation, required=bool(ent.get("required", True)),
        region_column=ent.get("region_column"), outgoing=outgoing,
        fields=_fields(ent.get("fields"), ENTERPRISE, onto, where + " enterprise"),
        compare=_compare(ent.get("compare"), where),
    )


def _compare(raw: dict[str, Any] | None, where: str) -> tuple[tuple[str, str], ...]:
    unknown = set(raw or {}) - COMPARE_FIELDS
    if unknown:
        raise MappingError(N_("{where}: enterprise compare has unknown fields {unknown}; known: {COMPARE_FIELDS}"),
                           where=where, unknown=sorted(unknown), COMPARE_FIELDS=sorted(COMPARE_FIELDS))
    return tuple(sorted((raw or {}).items()))


def _link(link: dict[str, Any], label: str, fields: tuple[FieldSpec, ...], onto: Ontology, where: str) -> LinkSpec:
    rel = onto.relation(link["type"])
    outgoing = "to" in link
    other = onto.check_label(link["to"] if outgoing else link["from"]).name
    src, dst = (label, other) if outgoing else (other, label)
    if not (onto.is_a(src, rel.domain) and onto.is_a(dst, rel.range)):
        raise MappingError(N_("{where}: {type} cannot go from {src} to {dst}"),
                           where=where, type=rel.type, src=src, dst=dst)
    field_name, column = link.get("field"), link.get("column")
    if (field_name is None) == (column is None):
        raise MappingError(N_("{where}: link {type} needs exactly one of field or column"),
                           where=where, type=rel.type)
    if field_name is not None and not any(f.prop == field_name for f in fields):
        raise MappingError(N_("{where}: link {type} uses unmapped field {field_name!r}"),
                           where=where, type=rel.type, field_name=field_name)
    when = link.get("when")
    return LinkSpec(rel.type, other, field_name, column, outgoing, bool(link.get("required", False)),
                    bool(link.get("many", False)), (when["column"], str(when["equals"])) if when else None)


def parse_mapping(data: dict[str, Any], onto: Ontology, where: str = "mapping") -> SourceMapping:
    """Check a mapping against the ontology and build it; errors name the file and the field."""
    try:
        files = []
        for n, raw in enumerate(data["files"]):
            here = f"{where} file {n + 1}"
            label = onto.check_label(raw["label"]).name
            fmt = raw.get("format", Path(raw["path"]).suffix.lstrip("."))
            if fmt not in FORMATS:
                raise MappingError(N_("{here}: unknown format {fmt!r}"), here=here, fmt=fmt)
            fields = _fields(raw.get("fields"), label, onto, here)
            key = onto.key_of(label)
            if not any(f.prop == key for f in fields):
                raise MappingError(N_("{here}: no field gives the key {key!r} of {label}"),
                                   here=here, key=key, label=label)
            enterprise = _enterprise(raw.get("enterprise"), label, onto, here)
            links = tuple(_link(link, label, fields, onto, here) for link in raw.get("links", []))
            nodes = []
            for extra in raw.get("nodes", []):
                extra_label = onto.check_label(extra["label"]).name
                extra_fields = _fields(extra.get("fields"), extra_label, onto, here + f" node {extra_label}")
                extra_key = onto.key_of(extra_label)
                if not any(f.prop == extra_key for f in extra_fields):
                    raise MappingError(N_("{here}: node {extra_label} has no field for its key {extra_key!r}"),
                                       here=here, extra_label=extra_label, extra_key=extra_key)
                nodes.append(NodeSpec(extra_label, extra_fields, extra_key))
            files.append(FileSpec(raw["path"], fmt, raw.get("encoding", "auto"), label, fields, enterprise,
                                  links, key, tuple(nodes)))
        return SourceMapping(data["source"], data.get("title", data["source"]), int(data.get("order", 100)), tuple(files))
    except KeyError as exc:
        raise MappingError(N_("{where}: missing or unknown {args_!r}"), where=where, args_=exc.args[0]) from None


def load_mappings(onto: Ontology, directory: Path | None = None) -> dict[str, SourceMapping]:
    """Every mapping in `directory` (default: the shipped ones), by source id, in load order."""
    if directory is None:
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in resources.files("riskgraph.loaders").joinpath("mappings").iterdir()
                   if p.name.endswith((".yaml", ".yml"))]
    else:
        entries = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.y*ml"))]
    mappings = [parse_mapping(yaml.safe_load(text), onto, name) for name, text in entries]
    return {m.source: m for m in sorted(mappings, key=lambda m: (m.order, m.source))}
