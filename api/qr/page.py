"""The minimal mobile page a phone's browser gets for `Accept: text/html`: the same filtered data."""
from __future__ import annotations

import json
from html import escape
from typing import Any

from riskgraph.api.qr.entities import COLOUR_ZH, LABEL_ZH
from riskgraph.api.qr.render import COLOUR_RGB
from riskgraph.ontology.model import Ontology

_STYLE = """
body{font-family:'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;margin:0;background:#f5f5f5;color:#222}
header{padding:16px;color:#fff;background:#444}header h1{font-size:1.3em;margin:0 0 4px}
main{padding:12px}section{background:#fff;border-radius:8px;padding:12px;margin-bottom:12px}
table{width:100%;border-collapse:collapse}td{padding:6px 4px;border-bottom:1px solid #eee;vertical-align:top}
td:first-child{color:#666;width:40%}.warn{background:#fff4e5;border-left:4px solid #f5a623}
small{color:#666}ul{padding-left:20px;margin:4px 0}
"""


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(escape(str(v)) for v in value)
    if isinstance(value, dict):
        return escape(json.dumps(value, ensure_ascii=False))
    return escape(str(value))


def render_page(body: dict[str, Any], onto: Ontology) -> str:
    code, dossier = body["code"], body["dossier"]
    label = dossier.get("label", code["label"])
    props = dossier.get("properties", {})
    colour = props.get("riskColour") or props.get("reportedColour")
    band = "rgb({},{},{})".format(*COLOUR_RGB[colour]) if colour in COLOUR_RGB else "#444"
    defs = onto.properties_of(label)
    rows = "".join(
        f"<tr><td>{escape(defs[name].label_zh if name in defs and defs[name].label_zh else name)}</td><td>{_value(v)}</td></tr>"
        for name, v in props.items())
    lists = []
    for name, items in (dossier.get("relations") or {}).items():
        if not items:
            continue
        shown = [escape(str((i.get("properties") or {}).get("name") or i.get("key"))) for i in items[:10]]
        more = f"<li><small>… {len(items) - 10} more</small></li>" if len(items) > 10 else ""
        lists.append(f"<section><b>{escape(name)}</b> ({len(items)})<ul>"
                     + "".join(f"<li>{s}</li>" for s in shown) + more + "</ul></section>")
    stale = ""
    if code.get("stale"):
        newer = code.get("reissued") or {}
        stale = ('<section class="warn">此码信息已过时，请更换新码。'
                 + (f'<br><small>新码号 {escape(newer.get("tokenId", ""))}</small>' if newer else "") + "</section>")
    title = escape(str(props.get("name") or code["key"]))
    kind = escape(LABEL_ZH.get(label, label))
    risk = f" · {escape(COLOUR_ZH[colour])}色风险" if colour in COLOUR_ZH else ""
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>'
            f"<style>{_STYLE}</style></head><body><header style=\"background:{band}\"><h1>{title}</h1>"
            f"<div>{kind} {escape(code['key'])}{risk}</div></header><main>{stale}"
            f"<section><table>{rows}</table></section>{''.join(lists)}"
            f"<section><small>码号 {escape(code['tokenId'])} · 有效期至 {escape(code['expiresAt'][:10])} · "
            f"查看级别 {escape(str(body.get('level', 'public')))}</small></section></main></body></html>")
