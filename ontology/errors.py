"""The one root of every exception RiskGraph raises on purpose, and the message it carries.

`except RiskGraphError` catches any of them (the CLI turns them into a one-line error and an exit
code: 2 for usage, 1 for runtime errors); each family keeps its own class and its built-in base (`StoreError` is still a
`RuntimeError`, `RowError` a `ValueError`), so existing handlers keep working.

A message is written once, in English, as a template marked for the catalog with `N_` and its values
by name: `raise LoadError(N_("{path} is not a folder"), path=path)`. `str(exc)` is the English text
(logs and tests read it); `exc.text` is a `Message` — that same text, remembering its template and
values — so the CLI and the API show it in the user's language (`riskgraph.cli.i18n.render`:
the catalog's translation of the template, formatted with the values; a value that is a Message
is translated too, a `Term` — a concept's label — brings its own words).

It lives here because `ontology/` is the lowest layer: it imports no other RiskGraph package,
and every other package (graph, loaders, reasoning, api, cli) already imports it, so any module
can import this one without an import cycle.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def N_(template: str) -> str:
    """Marks a message template for the catalog (`python -m riskgraph.cli.catalog`); translated where shown."""
    return template


class Message(str):
    """English text that remembers its template and values, so it can be shown in another language.

    It is a `str` (the formatted English), so code that passes messages along as text keeps working,
    and the template travels with it (a workflow refusal → the API's error body)."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, /, **values: Any) -> Message:
        self = super().__new__(cls, template.format(**values) if values else template)
        self.template = template
        self.values = values
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return _message, (self.template, self.values)


class Term(str):
    """A value that already has its words in other languages — a vocabulary concept's skos:prefLabel@zh,
    a list of them — shown in English as it is and in another language by its own form there.

    `Term("RECTIFYING", zh="整改中")`: a message about a hidden danger's state reads "整改中" in Chinese
    without the catalog having to know every concept of the ontology."""

    forms: dict[str, str]

    def __new__(cls, text: str, /, **forms: str) -> Term:
        self = super().__new__(cls, text)
        self.forms = forms
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return _term, (str(self), self.forms)

    def in_language(self, lang: str) -> str:
        return self.forms.get(lang) or str(self)

    @classmethod
    def joined(cls, terms: Iterable[Term | str], sep: str = ", ", **seps: str) -> Term:
        """Terms listed: "REPORTED, ASSIGNED" / "已上报、已交办"."""
        items = list(terms)
        langs = {lang for t in items if isinstance(t, Term) for lang in t.forms}
        return cls(sep.join(map(str, items)), **{
            lang: seps.get(lang, sep).join(t.in_language(lang) if isinstance(t, Term) else str(t) for t in items)
            for lang in langs})


def _term(text: str, forms: dict[str, str]) -> Term:
    return Term(text, **forms)


def _message(template: str, values: dict[str, Any]) -> Message:
    return Message(template, **values)


def as_message(message: object, /, **values: Any) -> Message:
    """`message` as a Message: a template with `values`, a Message or an error passed along as it is."""
    if isinstance(message, RiskGraphError) and not values:
        return message.text
    if isinstance(message, Message) and not values:
        return message
    return Message(str(message), **values)


class RiskGraphError(Exception):
    """Something RiskGraph refuses or cannot do, with a message meant for the person who asked.

    `RiskGraphError(N_("template {name}"), name=value)`: `str(exc)` is the formatted English text,
    `exc.text` the Message that can be translated."""

    text: Message

    def __init__(self, message: object = "", /, *args: object, **values: Any) -> None:
        text = as_message(message, **values)
        super().__init__(text, *args)
        self.text = text


class SettingError(RiskGraphError, ValueError):
    """A setting (an environment variable, a key or secret file) holds a value the service cannot use;
    `riskgraph serve` prints it to the operator, in the installation's language."""
