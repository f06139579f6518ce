"""Messages in the user's language: gettext over the catalogs in `cli/locale/` (Babel .po files).

The catalogs are Babel/gettext `.po` files (`cli/locale/<lang>/LC_MESSAGES/riskgraph.po`), compiled
with Babel when first used (no binary .mo in the repository). English is the source language. The
language is `--lang`, else $RISKGRAPH_LANG, else the locale ($LANGUAGE, $LC_ALL, $LC_MESSAGES, $LANG):
a Chinese installation (zh_CN.UTF-8 …) speaks Chinese. argparse's own messages ("usage:",
"invalid choice …") go through the same catalog. Errors are written as English templates with
named values (`riskgraph.ontology.errors`: `raise CliError(N_("no enterprise {uscc}"), uscc=u)`) and
shown with `render`, which translates the template and then fills it in. The API picks the language of its error messages
from Accept-Language (`negotiate`).
"""
from __future__ import annotations

import argparse
import gettext
import io
import os
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from riskgraph.ontology.errors import N_ as N_  # re-exported: where the CLI marks its messages
from riskgraph.ontology.errors import Message, RiskGraphError, Term

DOMAIN = "riskgraph"
LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("en", "zh")
#: the catalog folder of each language other than the source language
CATALOGS = {"zh": "zh_CN"}
_ENV_VARS = ("RISKGRAPH_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_current = "en"


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / CATALOGS[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


def normalise(tag: str | None) -> str | None:
    """'zh_CN.UTF-8', 'zh-Hans', 'zh' → 'zh'; 'en_US', 'C', 'POSIX' → 'en'; '' → None."""
    if not tag:
        return None
    first = tag.split(":")[0].strip().lower()
    if not first:
        return None
    if first.startswith("zh"):
        return "zh"
    return "en"


def choose(explicit: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The language of this process: `explicit` (--lang), else the environment, else English."""
    if explicit:
        chosen = normalise(explicit)
        if chosen:
            return chosen
    env = os.environ if environ is None else environ
    for name in _ENV_VARS:
        chosen = normalise(env.get(name))
        if chosen:
            return chosen
    return "en"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of `lang`, compiled from its .po with Babel (English: the messages as written)."""
    if lang not in CATALOGS:
        return gettext.NullTranslations()
    with catalog_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=CATALOGS[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def activate(lang: str) -> None:
    """Use `lang` for this process's messages, argparse's included."""
    global _current
    _current = lang if lang in LANGUAGES else "en"
    # argparse looks `_` and `ngettext` up in its module at call time
    argparse._ = gettext_  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]


def current() -> str:
    return _current


def gettext_(message: str) -> str:
    """`message` in the active language (as written when the catalog has no translation)."""
    return translations(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current).ngettext(singular, plural, n)


def translate(message: str, lang: str) -> str:
    """`message` in `lang`, whatever the active language (the API answers each request in its own)."""
    return translations(lang if lang in LANGUAGES else "en").gettext(message)


def negotiate(accept_language: str | None) -> str:
    """The language for an Accept-Language header: the highest-weighted one we have, else English."""
    best, best_q = "en", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = None if tag.strip() in ("", "*") else normalise(tag)
        if lang and q > best_q and q > 0:
            best, best_q = lang, q
    return best


_ = gettext_


def render(message: object, lang: str | None = None) -> str:
    """An error or message in `lang` (default: the active language) — the one way both the CLI and the API
    show RiskGraph's messages.

    A `Message` (every `RiskGraphError` has one, `exc.text`) is shown as the catalog's translation of
    its template, formatted with its values; a value that is itself a Message or an error (a reason
    passed along) is shown in `lang` too, a `Term` (a concept's label) in its own form for `lang`.
    Plain text is looked up as it is. A translation that does not fit its values (a translator's
    typo) gives the English text rather than failing."""
    lang = _current if lang is None else lang
    if isinstance(message, RiskGraphError):
        message = message.text
    if not isinstance(message, Message):
        return translate(str(message), lang)
    template = translate(message.template, lang)
    if not message.values:
        return template
    values = {name: render(value, lang) if isinstance(value, Message | RiskGraphError)
              else value.in_language(lang) if isinstance(value, Term) else value
              for name, value in message.values.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return str(message)
