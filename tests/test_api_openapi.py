"""The OpenAPI document the running service serves: valid OpenAPI, and every route says what it returns.

A route without a response model shows up as an empty or "object of anything" schema; a model field
that is open by design (a node's ontology-derived properties) must say so in its description. The
models are also enforced: an answer with a key its model does not declare is a 500, not a silent drop.
"""
from __future__ import annotations

from typing import Any

import httpx
from openapi_spec_validator import validate

from riskgraph.api.routes.health import Health

CONTRACT_PROBE = "/_test/contract-probe"
def configure_app(app) -> None:
    """Add one hidden route that breaks its own contract."""
    app.add_api_route(CONTRACT_PROBE, lambda: {"status": "ok", "undeclared": 1}, response_model=Health,
                      include_in_schema=False)


def document(api) -> dict[str, Any]:
    r = httpx.get(api.base_url + "/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = doc["components"]["schemas"][name]
    return schema


def is_any(schema: dict[str, Any]) -> bool:
    """No shape at all: `{}`, only a title/description, or an object of anything without named properties."""
    shaped = ("$ref", "anyOf", "oneOf", "allOf", "items", "prefixItems", "properties", "enum", "const")
    if any(k in schema for k in shaped):
        return False
    kind = schema.get("type")
    if kind is None:
        return True
    if kind == "object":
        extra = schema.get("additionalProperties", True)
        return extra is True or extra == {}
    return False


def has_open_part(schema: dict[str, Any]) -> bool:
    """Anywhere inside (not following references): a value of any shape."""
    if is_any(schema):
        return True
    parts = [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", []), *schema.get("prefixItems", [])]
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            parts.append(schema[key])
    return any(has_open_part(p) for p in parts)


def test_the_checks_catch_an_undescribed_answer():
    """What FastAPI writes for a route without a model, and for `-> dict`, counts as no description."""
    assert is_any({"title": "Response Health Health Get"})
    assert is_any({"type": "object", "additionalProperties": True, "title": "Response Get Layer"})
    assert not is_any({"$ref": "#/components/schemas/Health"})
    assert not is_any({"type": "string", "format": "binary"})
    assert has_open_part({"type": "array", "items": {"type": "array", "items": {}}})
    assert not has_open_part({"type": "object", "properties": {"a": {"type": "integer"}}})


def test_the_document_is_valid_openapi(api):
    doc = document(api)
    assert doc["openapi"].startswith("3.")
    validate(doc)  # raises with the offending path if not


def test_every_route_declares_what_it_returns(api):
    doc = document(api)
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    assert len(documented) > 30 and ("GET", "/enterprises/{uscc}") in documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = {status: r for status, r in op["responses"].items() if status.startswith("2")}
            if set(ok) == {"204"}:
                continue  # no content, by definition
            assert ok, (method, path, "no 2xx response")
            for status, response in ok.items():
                content = response.get("content")
                assert content, (method, path, status, "no content")
                for media_type, body in content.items():
                    schema = body.get("schema")
                    assert schema is not None, (method, path, media_type, "no schema")
                    assert not is_any(resolve(doc, schema)), (method, path, media_type, schema)


def test_open_fields_are_described(api):
    """Where a value is open by design, the document says what it holds."""
    doc = document(api)
    undescribed = []
    for name, schema in doc["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if has_open_part(prop) and not prop.get("description"):
                undescribed.append(f"{name}.{field}")
    assert not undescribed, undescribed


def test_answers_are_checked_against_their_model(api):
    r = httpx.get(api.base_url + CONTRACT_PROBE, timeout=30)
    assert r.status_code == 500, r.text
    assert r.json()["error"]["code"] == "internal_error"
    ref = r.json()["error"]["details"]["ref"]
    logged = "\n".join(api.logs.lines)
    assert f"unhandled error (ref {ref})" in logged and "ResponseValidationError" in logged
