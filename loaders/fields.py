"""Turn one raw cell into one typed ontology value, by the field's declared type.

Each failure is a RowError whose reason code says what kind of problem it was; the engine
quarantines the row with it. Nothing here drops a value silently.
"""
from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from riskgraph.loaders.mapping import FieldSpec, MappingError
from riskgraph.loaders.normalise.dates import parse_date, parse_datetime
from riskgraph.loaders.normalise.errors import RowError
from riskgraph.loaders.normalise.names import clean_name
from riskgraph.loaders.normalise.numbers import parse_mass_t, parse_money, parse_number
from riskgraph.loaders.normalise.regions import region_from_address, region_table
from riskgraph.loaders.normalise.uscc import parse_uscc
from riskgraph.ontology.errors import N_
from riskgraph.ontology.model import Ontology

_TRUE = {"是", "true", "1", "yes", "y", "已处置", "已处理"}
_FALSE = {"否", "false", "0", "no", "n", "未处置", "未处理"}


@dataclass
class FieldContext:
    """What normalising needs beyond the cell: the date of the load, the province, parks, vocabularies."""

    ontology: Ontology
    today: dt.date
    province: str | None = None  # two-digit GB/T 2260 province prefix, e.g. "13"
    parks: dict[str, str] = field(default_factory=dict)  # park name → park code
    lon_range: tuple[float, float] = (73.0, 136.0)
    lat_range: tuple[float, float] = (3.0, 54.0)
    #: converted cells of this load, by (field, label, cell): see _remembered
    memo: dict[tuple[int, str, str], Any] = field(default_factory=dict, repr=False, compare=False)
    specs: dict[int, FieldSpec] = field(default_factory=dict, repr=False, compare=False)


def raw_value(spec: FieldSpec, values: Mapping[str, str | None]) -> str | None:
    """The cell a field reads: the first non-empty column among its alternatives; for compose and
    sum, all columns (None if any is empty, so that a missing id part is a missing id)."""
    if spec.type in ("compose", "sum"):
        optional = set(spec.options.get("optional", ()))
        parts = [(c, (values.get(c) or "").strip()) for c in spec.columns]
        if any(not text and c not in optional for c, text in parts) or not any(text for _, text in parts):
            return None
        return "\x1f".join(text for _, text in parts)
    for column in spec.columns:
        value = values.get(column)
        if value is not None and str(value).strip():
            return str(value)
    return None


def normalise(spec: FieldSpec, label: str, raw: str | None, ctx: FieldContext) -> Any:
    """The typed value of one field, or None when the cell is empty (RowError if required)."""
    if raw is None:
        value = None
    elif spec.type in _REPEATED:
        value = _remembered(spec, label, raw, ctx)
    else:
        value = _convert(spec, label, raw, ctx)
    if value is None and spec.required:
        raise RowError("missing_required", N_("{columns} is empty"), spec.columns[0], columns=spec.columns[0])
    return value


#: field types whose cells repeat across rows (dates, amounts, codes, vocabularies, regions): each
#: distinct cell is converted once per load; names, free text and ids are mostly distinct
_REPEATED = frozenset({"uscc", "date", "datetime", "money", "mass_t", "integer", "decimal", "boolean", "vocab",
                       "region", "park", "sum"})
#: distinct cells remembered at most; the memory is emptied when full
MEMO_LIMIT = 500_000


def _remembered(spec: FieldSpec, label: str, raw: str, ctx: FieldContext) -> Any:
    """_convert, once per distinct (field, cell) in this load: a failure is remembered as its
    reason and raised anew each time; a list comes back as a copy the caller may change."""
    key = (id(spec), label, raw)
    found = ctx.memo.get(key, _MISSING)
    if found is _MISSING:
        try:
            found = _convert(spec, label, raw, ctx)
        except RowError as exc:
            found = _Failed(exc.reason, exc.message, exc.field)
        if len(ctx.memo) >= MEMO_LIMIT:
            ctx.memo.clear()
        ctx.memo[key] = found
        ctx.specs[id(spec)] = spec  # keeps id(spec) from naming another spec meanwhile
    if type(found) is _Failed:
        raise RowError(found.reason, found.message, found.field)
    return list(found) if type(found) is list else found


_MISSING = object()
def signed_variant(spec: FieldSpec, row: Mapping[str, str | None]) -> FieldSpec | None:
    """The field without its lower bound, for a row whose `signed_when` column holds one of its values
    (`signed_when: {column: metric, in: [温度]}`: a temperature below zero is a value like any other,
    a concentration below zero is not); None for any other row or field. Asked only of a value out of range."""
    if spec.signed is None:
        return None
    when = spec.options["signed_when"]
    return spec.signed if str(row.get(when["column"]) or "").strip() in when["in"] else None


@dataclass(frozen=True)
class _Failed:
    reason: str
    message: str
    field: str | None


def _convert(spec: FieldSpec, label: str, raw: str, ctx: FieldContext) -> Any:
    kind, opts, name = spec.type, spec.options, spec.columns[0]
    if kind == "text":
        text = unicodedata.normalize("NFKC", raw).strip()
        return text or None
    if kind == "name":
        return clean_name(raw) or None
    if kind == "uscc":
        parsed = parse_uscc(raw)
        if parsed is None:
            raise RowError("invalid_value", N_("{name}: {raw_!r} is not a 统一社会信用代码"), name, name=name, raw_=raw)
        return parsed
    if kind == "date":
        return parse_date(raw, name, today=ctx.today, allow_future_days=int(opts.get("future_days", 0)))
    if kind == "datetime":
        return parse_datetime(raw, name, today=ctx.today)
    if kind == "money":
        return parse_money(raw, name, default_unit=opts.get("unit", "元"))
    if kind == "mass_t":
        return parse_mass_t(raw, name, default_unit=opts.get("unit", "t"))
    if kind in ("integer", "decimal"):
        lo, hi = opts.get("min"), opts.get("max")
        if opts.get("within") == "lon":
            lo, hi = ctx.lon_range
        elif opts.get("within") == "lat":
            lo, hi = ctx.lat_range
        return parse_number(raw, name, minimum=lo, maximum=hi, integer=kind == "integer")
    if kind == "boolean":
        folded = unicodedata.normalize("NFKC", raw).strip().lower()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise RowError("invalid_value", N_("{name}: {raw_!r} is not yes/no"), name, name=name, raw_=raw)
    if kind == "vocab":
        return _vocab(spec, label, raw, ctx, name)
    if kind == "region":
        return _region(raw, ctx, name)
    if kind == "park":
        code = ctx.parks.get(clean_name(raw))
        if code is None:
            raise RowError("invalid_value", N_("{name}: {raw_!r} is not a known chemical park"), name,
                                            name=name, raw_=raw)
        return code
    if kind == "compose":
        return ":".join(unicodedata.normalize("NFKC", part) for part in raw.split("\x1f"))
    if kind == "sum":
        total = 0
        for column, part in zip(spec.columns, raw.split("\x1f"), strict=False):
            total += int(parse_number(part, column, minimum=0, integer=True) or 0)
        return total
    if kind == "json":
        try:
            return json.dumps(json.loads(raw), ensure_ascii=False, sort_keys=True)
        except json.JSONDecodeError:
            raise RowError("invalid_value", N_("{name}: not JSON"), name, name=name) from None
    raise MappingError(N_("{name}: field type {kind!r} has no conversion"), name=name, kind=kind)


def _vocab(spec: FieldSpec, label: str, raw: str, ctx: FieldContext, name: str) -> Any:
    prop = ctx.ontology.properties_of(label)[spec.prop]
    if "via" in spec.options:  # e.g. IndustryClass.supervisionIndustry: read another scheme's link
        scheme, key = spec.options["via"].split(".")
        concept = ctx.ontology.vocabulary(scheme).lookup(raw)
        if concept is None or key not in concept.data:
            raise RowError("invalid_value", N_("{name}: {raw_!r} has no {key} in {scheme}"), name,
                                            name=name, raw_=raw, key=key, scheme=scheme)
        return concept.data[key]
    vocab = ctx.ontology.vocabulary(prop.vocabulary or "")
    parts = [p for p in raw.replace("｜", "|").split(spec.options.get("separator", "|"))] if prop.multi_valued else [raw]
    notations = []
    for part in parts:
        concept = vocab.lookup(part)
        if concept is None:
            raise RowError("invalid_value", N_("{name}: {part!r} is not in {name2} ({label_zh})"), name,
                                            name=name, part=part, name2=vocab.name, label_zh=vocab.label_zh)
        notations.append(concept.notation)
    return notations if prop.multi_valued else notations[0]


def _region(raw: str, ctx: FieldContext, name: str) -> str:
    """A GB/T 2260 code given as a code or named in an address; outside the province is out of range."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if text.isdigit() and len(text) == 6:
        if text not in region_table():
            raise RowError("orphan_reference", N_("{name}: {text} is not a GB/T 2260 code"), name, name=name, text=text)
        code = text
    else:
        found = region_from_address(text)
        if found is None:
            raise RowError("invalid_value", N_("{name}: {raw_!r} names no GB/T 2260 region"), name, name=name, raw_=raw)
        code = found
    if ctx.province and not code.startswith(ctx.province):
        raise RowError("out_of_range", N_("{name}: region {code_} is outside the province {province}0000"), name,
                                       name=name, code_=code, province=ctx.province)
    return code
