"""What every command's arguments share: checked types (a bad value is a usage error, exit 2, before any
work or prompt) and help that is shown in the user's language.

The help texts are written in English in the code; `TranslatedHelp` looks each up in the catalog
(cli/locale) when the help is printed, so the command modules need not wrap them.
"""
from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from riskgraph.cli.i18n import _


class TranslatedHelp(argparse.HelpFormatter):
    """argparse's formatter, with each help text and description looked up in the active catalog."""

    def _expand_help(self, action: argparse.Action) -> str:
        if action.help:
            action = _copy_with_help(action, _(action.help))
        return super()._expand_help(action)

    def add_text(self, text: str | None) -> None:
        super().add_text(_(text) if text and text is not argparse.SUPPRESS else text)


def _copy_with_help(action: argparse.Action, help_text: str) -> argparse.Action:
    clone = argparse.Action.__new__(type(action))
    clone.__dict__.update(action.__dict__)
    clone.help = help_text
    return clone


class TranslatedParser(argparse.ArgumentParser):
    """Subcommand parsers: the translated formatter, and their help lines in the command list translated too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", TranslatedHelp)
        super().__init__(*args, **kwargs)


def port(text: str) -> int:
    """A TCP port: 1 to 65535 (uvicorn would silently take 99999 modulo 65536)."""
    value = _whole(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(_("a port is from 1 to 65535, not {value}").format(value=value))
    return value


def counted(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high`."""
    def parse(text: str) -> int:
        value = _whole(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(_("must be from {low} to {high}, not {value}").format(
                low=f"{low:,}", high=f"{high:,}", value=value))
        return value
    parse.__name__ = "number"
    return parse


def share(text: str) -> float:
    """A share from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a number").format(text=text)) from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(_("must be from 0 to 1, not {value}").format(value=value))
    return value


def seconds(text: str) -> float:
    """A duration in seconds, not negative."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a number of seconds").format(text=text)) from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(_("must not be negative, not {value}").format(value=value))
    return value


def iso_date(text: str) -> str:
    """An ISO date (2026-06-01), kept as text for the command."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a date like 2026-06-01").format(text=text)) from None
    return text


def region_code(text: str) -> str:
    """A GB/T 2260 region code (2 to 12 digits, in pairs)."""
    from riskgraph.api.access import region_prefix

    try:
        region_prefix(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a GB/T 2260 region code (2 to 12 digits, in pairs)").format(
            text=text)) from None
    return text.strip()


def uscc(text: str) -> str:
    """An 18-character 统一社会信用代码, upper-cased."""
    from riskgraph.api.access import check_uscc

    try:
        return check_uscc(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a 统一社会信用代码 (18 characters)").format(text=text)) from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text!r} is not a whole number").format(text=text)) from None
