"""Push plans: who receives a warning, on which channels — proposed by rule, editable until published.

A plan lists recipients by responsibility (the responsible enterprise and its answerable people), by
level and region (the county, city and provincial bureaus rules.toml names for the level) and by
subscription (webhook channels that want the warning's region and level). At publish time each
recipient × channel becomes deliveries: the web channel reaches the accounts bound to the enterprise
or to exactly that bureau's region; a webhook its channel; WeChat the recipient's bound openid; mobile
push its alias.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from riskgraph.api.access import Role, region_prefix
from riskgraph.api.users import UserStore
from riskgraph.graph.store import GraphStore, batched
from riskgraph.notify.channels import KINDS, WEB, ChannelRegistry
from riskgraph.notify.outbox import NewDelivery, idempotency_key
from riskgraph.ontology.errors import N_, RiskGraphError
from riskgraph.reasoning.warnings.rules import Rules, colour_rank

RECIPIENT_KINDS = ("enterprise", "person", "bureau", "webhook")
BUREAU_CODE = {"COUNTY": lambda c: c[:6], "CITY": lambda c: c[:4] + "00", "PROVINCE": lambda c: c[:2] + "0000"}
BUREAU_NAME = {"COUNTY": "县级应急管理局", "CITY": "市级应急管理局", "PROVINCE": "省应急管理厅"}
BUREAU_SUFFIX = {"COUNTY": "应急管理局", "CITY": "应急管理局", "PROVINCE": "应急管理厅"}


class PlanError(RiskGraphError, ValueError):
    """A plan that cannot be used; the message says which recipient and why."""


#: enterprises or regions looked up per statement when plans are proposed for many warnings at once
LOOKUP_BATCH = 2_000


@dataclass(frozen=True)
class Directory:
    """What plans name, read once for all the warnings of a run: each enterprise's name and
    answerable people (by role, in the rules' order) and the bureaus' regions' names. A whole pass
    proposes tens of thousands of plans (17,839 drafts at 100,000 enterprises): three statements a
    plan were ≈ 30 s of round trips; read for the run, they are three per 2,000 enterprises."""

    enterprises: Mapping[str, str]
    people: Mapping[str, list[dict[str, Any]]]
    regions: Mapping[str, str]

    @classmethod
    def read(cls, store: GraphStore, warnings: Iterable[Mapping[str, Any]], rules: Rules) -> Directory:
        push = rules["push"]
        usccs: set[str] = set()
        codes: set[str] = set()
        for warning in warnings:
            if warning.get("responsibleEnterprise"):
                usccs.add(str(warning["responsibleEnterprise"]))
            codes.update(_bureau_codes(warning, push).values())
        names: dict[str, str] = {}
        people: dict[str, list[dict[str, Any]]] = {}
        regions: dict[str, str] = {}
        for chunk in batched(sorted(usccs), LOOKUP_BATCH):
            for row in store.read("UNWIND $us AS u MATCH (e:Enterprise {uscc: u}) RETURN u, e.name AS name", {"us": chunk}):
                names[row["u"]] = row["name"]
            for row in store.read("UNWIND $us AS u MATCH (e:Enterprise {uscc: u})-[:HAS_PERSON]->(p:Person) "
                                  "WHERE p.role IN $roles RETURN u, p.id AS id, p.name AS name, p.role AS role",
                                  {"us": chunk, "roles": list(push["person_roles"])}):
                people.setdefault(row["u"], []).append({"id": row["id"], "name": row["name"], "role": row["role"]})
        for chunk in batched(sorted(codes), LOOKUP_BATCH):
            for row in store.read("UNWIND $codes AS c MATCH (r:Region {code: c}) RETURN c, r.name AS name", {"codes": chunk}):
                regions[row["c"]] = row["name"]
        order = {role: i for i, role in enumerate(push["person_roles"])}
        for found in people.values():
            found.sort(key=lambda p: (order.get(p["role"], 99), p["id"]))
        return cls(names, people, regions)


def _bureau_codes(warning: Mapping[str, Any], push: Mapping[str, Any]) -> dict[str, str]:
    """The bureaus the warning's level reaches, by level: their region codes (none without a county)."""
    region = warning.get("regionCode")
    if not region or len(str(region)) < 6:
        return {}
    return {level: BUREAU_CODE[level](str(region)) for level in push["bureaus"][warning["warningLevel"]]}


def propose(directory: Directory, warning: Mapping[str, Any], rules: Rules, registry: ChannelRegistry | None) -> dict[str, Any]:
    """The rule's plan for one warning (its stored properties), naming whom `directory` holds."""
    push = rules["push"]
    configured = {c.kind for c in registry.list()} if registry else set()
    recipients: list[dict[str, Any]] = []
    uscc = warning.get("responsibleEnterprise")
    if uscc:
        recipients.append({"id": f"enterprise:{uscc}", "kind": "enterprise", "name": directory.enterprises.get(uscc, uscc),
                           "uscc": uscc,
                           "channels": [c for c in push["enterprise_channels"] if c == WEB or c in configured]})
        person_channels = [c for c in push["person_channels"] if c in configured]
        people = directory.people.get(uscc, [])
        if people:
            for p in people:
                recipients.append({"id": f"person:{p['id']}", "kind": "person", "name": p["name"], "role": p["role"],
                                   "uscc": uscc, "channels": person_channels})
        elif warning.get("responsiblePerson"):
            recipients.append({"id": f"person:{uscc}:principal", "kind": "person", "name": warning["responsiblePerson"],
                               "role": push["person_roles"][0], "uscc": uscc, "channels": person_channels})
    names = directory.regions
    for level, code in _bureau_codes(warning, push).items():
        recipients.append({"id": f"bureau:{code}", "kind": "bureau", "region": code, "regionLevel": level,
                           "name": f"{names[code]}{BUREAU_SUFFIX[level]}" if code in names else f"{code} {BUREAU_NAME[level]}",
                           "channels": list(push["bureau_channels"])})
    recipients += webhook_recipients(warning, registry)
    return {"recipients": recipients, "rules": rules.stamp,
            "proposedAt": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}


def webhook_recipients(warning: Mapping[str, Any], registry: ChannelRegistry | None) -> list[dict[str, Any]]:
    if registry is None:
        return []
    level_rank = colour_rank(warning.get("warningLevel"))
    return [{"id": f"webhook:{c.id}", "kind": "webhook", "name": c.name, "channelId": c.id, "channels": ["webhook"]}
            for c in registry.list("webhook") if c.accepts(warning.get("regionCode"), level_rank, colour_rank)]


def refresh_webhooks(plan: Mapping[str, Any], warning: Mapping[str, Any], registry: ChannelRegistry | None) -> dict[str, Any]:
    """The plan with its webhook recipients replaced by the channels configured now (an unedited plan at publish)."""
    kept = [r for r in plan.get("recipients", []) if r.get("kind") != "webhook"]
    return {**plan, "recipients": kept + webhook_recipients(warning, registry)}


def check(plan: Mapping[str, Any], registry: ChannelRegistry | None) -> dict[str, Any]:
    """An edited plan, validated: known kinds and channels, unique ids, webhooks that exist."""
    recipients = plan.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        raise PlanError(N_("a plan needs at least one recipient"))
    seen: set[str] = set()
    out = []
    for r in recipients:
        rid, kind = str(r.get("id") or ""), r.get("kind")
        if kind not in RECIPIENT_KINDS:
            raise PlanError(N_("recipient {rid}: kind must be one of {RECIPIENT_KINDS}"),
                            rid=rid or '?', RECIPIENT_KINDS=', '.join(RECIPIENT_KINDS))
        if not rid or rid in seen:
            raise PlanError(N_("recipient ids must be present and unique ({rid!r})"), rid=rid)
        seen.add(rid)
        channels = list(r.get("channels") or [])
        bad = [c for c in channels if c not in (WEB, *KINDS)]
        if bad:
            raise PlanError(N_("recipient {rid}: unknown channels {bad}"), rid=rid, bad=bad)
        if kind == "bureau":
            try:
                region_prefix(str(r.get("region") or ""))
            except ValueError as exc:
                raise PlanError(N_("recipient {rid}: {exc}"), rid=rid, exc=exc) from None
        if kind == "webhook":
            channel = registry.get(str(r.get("channelId") or "")) if registry else None
            if channel is None or channel.kind != "webhook" or not channel.active:
                raise PlanError(N_("recipient {rid}: no active webhook channel {value!r}"),
                                rid=rid, value=r.get('channelId'))
            channels = ["webhook"]
        if kind == "enterprise" and not r.get("uscc"):
            raise PlanError(N_("recipient {rid}: an enterprise recipient needs its uscc"), rid=rid)
        out.append({**r, "id": rid, "channels": channels})
    return {**plan, "recipients": out}


@dataclass
class Resolved:
    deliveries: list[NewDelivery]
    skipped: list[dict[str, str]]


def _accounts(users: UserStore, recipient: Mapping[str, Any]) -> list[str]:
    kind = recipient.get("kind")
    out = []
    for user in users.list():
        if not user.active:
            continue
        if kind == "enterprise" and user.role is Role.ENTERPRISE and user.uscc == recipient.get("uscc"):
            out.append(user.username)
        elif kind == "bureau" and user.role is Role.INSPECTOR:
            wanted = region_prefix(str(recipient["region"]))
            if any(region_prefix(r) == wanted for r in user.regions):
                out.append(user.username)
    return out


def resolve(plan: Mapping[str, Any], warning_id: str, payload_of, *, users: UserStore,
            registry: ChannelRegistry | None) -> Resolved:
    """Recipients × channels → deliveries, each with its idempotency key; what could not be reached, and why."""
    out = Resolved([], [])
    configured = {c.kind: c for c in reversed(registry.list())} if registry else {}
    for r in plan.get("recipients", []):
        for channel in r.get("channels", []):
            if channel == WEB:
                accounts = _accounts(users, r)
                if not accounts:
                    out.skipped.append({"recipient": r["id"], "channel": WEB, "reason": "no account for this recipient"})
                for username in accounts:
                    key = idempotency_key(warning_id, r["id"], WEB, username)
                    out.deliveries.append(NewDelivery(key, WEB, r["id"], payload_of(r, key), address=username,
                                                      recipient_name=r.get("name")))
            elif channel == "webhook":
                key = idempotency_key(warning_id, r["id"], "webhook", str(r.get("channelId")))
                out.deliveries.append(NewDelivery(key, "webhook", r["id"], payload_of(r, key), address=r.get("channelId"),
                                                  channel_id=r.get("channelId"), recipient_name=r.get("name")))
            else:
                ch = configured.get(channel)
                if ch is None:
                    out.skipped.append({"recipient": r["id"], "channel": channel, "reason": f"no {channel} channel configured"})
                    continue
                address = registry.address(channel, r["id"]) if registry else None
                if channel == "mobile":
                    address = address or r["id"]
                if not address:
                    out.skipped.append({"recipient": r["id"], "channel": channel,
                                        "reason": f"no {channel} address bound (riskgraph channel-bind {channel} {r['id']} …)"})
                    continue
                key = idempotency_key(warning_id, r["id"], channel, ch.id)
                out.deliveries.append(NewDelivery(key, channel, r["id"], payload_of(r, key), address=address,
                                                  channel_id=ch.id, recipient_name=r.get("name")))
    return out
