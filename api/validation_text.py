"""A request field's validation message in the caller's language.

FastAPI reports a malformed request with pydantic's own English messages ("Field required", "String
should have at most 200 characters"). English callers keep exactly those. For other languages the
common pydantic error types are written here as templates with pydantic's context values, so the
catalog translates them like every other message; a `value_error` raised by one of our validators
carries its own template and is shown in the caller's language too. A type not listed keeps
pydantic's text.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riskgraph.cli.i18n import render
from riskgraph.ontology.errors import N_, RiskGraphError, Term, as_message

#: pydantic error type → template over its `ctx` values (pydantic-core's error types)
TEMPLATES: dict[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be a valid dictionary or object"),
    "too_short": N_("Should have at least {min_length} items"),
    "too_long": N_("Should have at most {max_length} items"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD"),
    "date_from_datetime_parsing": N_("Input should be a valid date in the format YYYY-MM-DD"),
    "date_from_datetime_inexact": N_("Input should be a date without a time of day"),
    "datetime_parsing": N_("Input should be a valid date and time (ISO 8601)"),
    "datetime_from_date_parsing": N_("Input should be a valid date and time (ISO 8601)"),
    "json_invalid": N_("The body is not valid JSON"),
}


def field_message(error: Mapping[str, Any], lang: str) -> str:
    """One pydantic error's message: pydantic's own text in English, the catalog's elsewhere."""
    text = str(error.get("msg", ""))
    if lang == "en":
        return text
    ctx = error.get("ctx") or {}
    if error.get("type") == "value_error" and isinstance(ctx.get("error"), RiskGraphError):
        return render(ctx["error"], lang)
    template = TEMPLATES.get(str(error.get("type")))
    if template is None:
        return text
    values: dict[str, Any] = {k: v for k, v in ctx.items() if isinstance(v, (str, int, float))}
    expected = values.get("expected")
    if isinstance(expected, str):  # "'LEC' or 'LS'": the choices stay, the word between is the caller's
        values["expected"] = Term(expected, zh=expected.replace(" or ", " 或 "))
    try:
        return render(as_message(template, **values), lang)
    except (KeyError, IndexError, ValueError):  # a context value pydantic did not give: keep its own text
        return text
