"""The message catalog's source: every text the CLI and the API's errors show, for translators.

`python -m riskgraph.cli.catalog` refreshes `cli/locale/riskgraph.pot` and merges it into each
language's .po with Babel (translations kept, new messages added empty, gone ones dropped). The
messages are: the `_()` calls and the `N_()`-marked error templates in the code (Babel's Python extractor), every help text and
description of the parser (a walk over every command), and argparse's own messages.
tests/test_cli_usage.py and tests/test_i18n_errors.py fail while a message has no Chinese translation.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from riskgraph.cli.i18n import CATALOGS, DOMAIN, LOCALE_DIR, catalog_path

ROOT = Path(__file__).resolve().parents[1]
#: where `_()` and `N_()` (error templates, riskgraph.ontology.errors) are used
SOURCES = ("cli", "api", "graph", "loaders", "workflows", "notify", "reasoning/models/risk_point.py")
#: argparse's own messages the CLI can show (Python 3.12 / 3.13)
ARGPARSE = (
    "usage: ", "%(heading)s:", "positional arguments", "options", "show this help message and exit",
    "argument %(argument_name)s: %(message)s", "the following arguments are required: %s",
    "invalid choice: %(value)r (choose from %(choices)s)", "invalid %(type)s value: %(value)r",
    "unrecognized arguments: %s", "%(prog)s: error: %(message)s\n", "expected one argument",
    "expected at most one argument", "expected at least one argument", "ambiguous option: %(option)s could match %(matches)s",
    "not allowed with argument %s", "one of the arguments %s is required", "ignored explicit argument %r",
    " (default: %(default)s)", "unexpected option string: %s", "subcommands",
)


def parser_texts(parser: argparse.ArgumentParser) -> list[str]:
    """Every help text and description of the parser and its commands."""
    found: list[str] = []
    if parser.description:
        found.append(parser.description)
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            found.append(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                if choice.help:
                    found.append(choice.help)
            for sub in dict.fromkeys(action.choices.values()):
                found += parser_texts(sub)
    return found


def code_messages() -> list[str]:
    found: list[str] = []
    for source in SOURCES:
        path = ROOT / source
        if path.is_dir():
            entries = extract_from_dir(str(path), method_map=[("**.py", "python")], keywords={"_": None, "N_": None})
            found += [e[2] for e in entries if isinstance(e[2], str)]
        else:
            from babel.messages.extract import extract

            with path.open("rb") as fh:
                found += [m for _, m, _, _ in extract("python", fh, keywords={"_": None, "N_": None}) if isinstance(m, str)]
    return found


def messages() -> list[str]:
    """Every message, in a stable order, once."""
    from riskgraph.cli.main import build_parser

    return list(dict.fromkeys([*ARGPARSE, *code_messages(), *parser_texts(build_parser())]))


def refresh() -> dict[str, int]:
    """Write the template and merge it into each language's catalog; returns the untranslated count per language."""
    template = Catalog(domain=DOMAIN, project="riskgraph")
    for message in messages():
        template.add(message)
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as fh:
        write_po(fh, template, omit_header=False, sort_output=False, width=120)
    missing = {}
    for lang, folder in CATALOGS.items():
        path = catalog_path(lang)
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=folder, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with path.open("wb") as fh:
            write_po(fh, catalog, width=120, include_previous=False)
        missing[lang] = sum(1 for m in catalog if m.id and not m.string)
    return missing


if __name__ == "__main__":
    print(refresh())
