"""Accounts of the HTTP service: a SQLite file in the data directory, passwords hashed with argon2id.

From Python (the CLI calls these):

    from riskgraph.api.users import create_user
    create_user("zhang.san", password, "inspector", regions=["130100"])       # 石家庄市 and its counties
    create_user("qiye01", password, "enterprise", uscc="91130100MA0CEFGH1X")
    create_user("ops", password, "admin")

`add_user_commands(subparsers)` registers `user-add`, `user-list`, `user-passwd`, `user-disable`,
`user-enable` on an argparse parser; passwords are read from the terminal (or one line of standard
input with --password-stdin), never from the command line.
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import getpass
import json
import re
import sqlite3
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from riskgraph.api.access import ACCOUNT_ROLES, Caller, Role, check_uscc, region_prefix
from riskgraph.api.sqlite import connection, initialise
from riskgraph.cli.i18n import N_
from riskgraph.graph.connect import default_data_dir
from riskgraph.ontology.errors import RiskGraphError, as_message

USERS_FILE = "users.sqlite3"
MIN_PASSWORD_LENGTH = 10
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    uscc TEXT,
    regions TEXT NOT NULL DEFAULT '[]',
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    token_generation INTEGER NOT NULL DEFAULT 0
);
"""

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """Verified against for a login with an unknown name, so it takes as long as a known one's
    (made on first use: an argon2 hash at import slowed every start of the service)."""
    return _hasher.hash("riskgraph: equalises the time of a login with an unknown name")


class UserError(RiskGraphError, ValueError):
    """A request about accounts that cannot be done; the message says why."""


@dataclass(frozen=True)
class User:
    username: str
    role: Role
    uscc: str | None = None
    regions: tuple[str, ...] = ()
    active: bool = True
    created_at: str = ""
    updated_at: str = ""
    token_generation: int = 0  # tokens carry it; bumping it revokes them
    password_hash: str = field(default="", repr=False)

    def caller(self) -> Caller:
        return Caller(role=self.role, username=self.username, uscc=self.uscc, regions=self.regions)

    def public(self) -> dict:
        """What an API or a CLI may show: never the hash."""
        return {"username": self.username, "role": self.role.value, "uscc": self.uscc,
                "regions": list(self.regions), "active": self.active,
                "createdAt": self.created_at, "updatedAt": self.updated_at}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _validate(username: str, role: str | Role, uscc: str | None, regions: Iterable[str]) -> tuple[Role, str | None, tuple[str, ...]]:
    if not _USERNAME.match(username or ""):
        raise UserError(N_("a username is 2–64 characters: letters, digits and _ . @ -, starting with a letter or digit"))
    try:
        role = Role(role)
    except ValueError:
        raise UserError(N_("unknown role {role!r}; one of {ACCOUNT_ROLES}"),
                        role=role, ACCOUNT_ROLES=', '.join(r.value for r in ACCOUNT_ROLES)) from None
    if role not in ACCOUNT_ROLES:
        raise UserError(N_("the public role is the anonymous caller; it has no accounts"))
    regions = tuple(str(r).strip() for r in regions if str(r).strip())
    if role is Role.ENTERPRISE:
        if not uscc:
            raise UserError(N_("an enterprise account needs the enterprise's uscc"))
        try:
            uscc = check_uscc(uscc)
        except ValueError as exc:
            raise UserError(as_message(exc)) from None
    elif uscc:
        raise UserError(N_("only enterprise accounts are bound to a uscc, not {value}"), value=role.value)
    if role is Role.INSPECTOR:
        if not regions:
            raise UserError(N_("an inspector account needs at least one region code (GB/T 2260)"))
        for code in regions:
            try:
                region_prefix(code)
            except ValueError as exc:
                raise UserError(as_message(exc)) from None
    elif regions:
        raise UserError(N_("only inspector accounts are bound to regions, not {value}"), value=role.value)
    return role, uscc, tuple(sorted(set(regions)))


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(N_("a password has at least {MIN_PASSWORD_LENGTH} characters"),
                        MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH)


def _row_to_user(row: sqlite3.Row) -> User:
    return User(
        username=row["username"], role=Role(row["role"]), uscc=row["uscc"],
        regions=tuple(json.loads(row["regions"] or "[]")), active=bool(row["active"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
        token_generation=int(row["token_generation"]), password_hash=row["password_hash"],
    )


class UserStore:
    """The accounts file. Safe to use from many threads: one connection per call."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        initialise(self.path, _SCHEMA)

    def create(self, username: str, password: str, role: str | Role, uscc: str | None = None,
               regions: Iterable[str] = ()) -> User:
        role, uscc, regions = _validate(username, role, uscc, regions)
        _check_password(password)
        now = _now()
        try:
            with connection(self.path) as conn:
                conn.execute(
                    "INSERT INTO users (username, password_hash, role, uscc, regions, active, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
                    (username, _hasher.hash(password), role.value, uscc, json.dumps(list(regions)), now, now),
                )
        except sqlite3.IntegrityError:
            raise UserError(N_("user {username!r} already exists"), username=username) from None
        return self.get(username)  # type: ignore[return-value]

    def get(self, username: str) -> User | None:
        with connection(self.path) as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return _row_to_user(row) if row else None

    def list(self) -> list[User]:
        with connection(self.path) as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY username").fetchall()
        return [_row_to_user(r) for r in rows]

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user with this password, else None (in about the same time either way)."""
        user = self.get(username) if _USERNAME.match(username or "") else None
        try:
            _hasher.verify(user.password_hash if user else _dummy_hash(), password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            with connection(self.path) as conn:
                conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", (_hasher.hash(password), username))
        return user

    def set_password(self, username: str, password: str) -> None:
        """New password; tokens issued before now stop working."""
        _check_password(password)
        self._update(username, "password_hash = ?", (_hasher.hash(password),), revoke=True)

    def set_active(self, username: str, active: bool) -> None:
        """Disable (tokens stop working at once) or enable an account."""
        self._update(username, "active = ?", (1 if active else 0,), revoke=True)

    def set_scope(self, username: str, role: str | Role, uscc: str | None = None, regions: Iterable[str] = ()) -> None:
        """Change role and scope; tokens issued before now stop working."""
        role, uscc, regions = _validate(username, role, uscc, regions)
        self._update(username, "role = ?, uscc = ?, regions = ?",
                     (role.value, uscc, json.dumps(list(regions))), revoke=True)

    def delete(self, username: str) -> None:
        with connection(self.path) as conn:
            if conn.execute("DELETE FROM users WHERE username = ?", (username,)).rowcount == 0:
                raise UserError(N_("no user {username!r}"), username=username)

    def _update(self, username: str, assignments: str, values: tuple, *, revoke: bool = False) -> None:
        if revoke:
            assignments += ", token_generation = token_generation + 1"
        with connection(self.path) as conn:
            cur = conn.execute(f"UPDATE users SET {assignments}, updated_at = ? WHERE username = ?",
                               (*values, _now(), username))
            if cur.rowcount == 0:
                raise UserError(N_("no user {username!r}"), username=username)


# ---------------------------------------------------------------------- module-level API
def user_store(data_dir: Path | None = None) -> UserStore:
    """The accounts file in `data_dir` (default: RISKGRAPH_DATA_DIR, else the user's data directory)."""
    return UserStore(Path(data_dir or default_data_dir()) / USERS_FILE)


def create_user(username: str, password: str, role: str, uscc: str | None = None,
                regions: Iterable[str] = (), *, data_dir: Path | None = None) -> User:
    """Create an account; raises UserError with a readable reason when it cannot."""
    return user_store(data_dir).create(username, password, role, uscc=uscc, regions=regions)


# ---------------------------------------------------------------------- command line
def _read_password(args: argparse.Namespace, prompt: str = "password: ") -> str:
    if getattr(args, "password_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise UserError(N_("--password-stdin: standard input is empty; send the password as one line"))
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UserError(N_("no terminal to ask for the password: pass --password-stdin and send it as one line "
                           "of standard input"))
    try:
        first = getpass.getpass(prompt)
        again = getpass.getpass("again: ")
    except EOFError:
        raise UserError(N_("no password was typed (end of input)")) from None
    if again != first:
        raise UserError(N_("the passwords differ"))
    return first


def _enterprise_exists(args: argparse.Namespace, uscc: str) -> None:
    """An enterprise account must name an enterprise the graph holds (a typo would lock its user out)."""
    from riskgraph import graph
    from riskgraph.ontology.anchors import ENTERPRISE

    url = getattr(args, "graph", None) or graph.default_url()
    path = graph.embedded_path(url)
    if path is not None and not graph.embedded_store_exists(path):
        raise UserError(N_("no graph store at {path} to check --uscc {uscc} against (riskgraph init / load first)"),
                        path=path, uscc=uscc)
    with graph.connect(url) as store:
        key = store.ontology.key_of(ENTERPRISE)
        found = store.read(f"MATCH (e:{ENTERPRISE}) WHERE e.{key} = $k RETURN count(e) AS c", {"k": uscc})
    if not found or not found[0]["c"]:
        raise UserError(N_("no enterprise with 统一社会信用代码 {uscc} in the graph"), uscc=uscc)


def _data_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else None


def cmd_user_add(args: argparse.Namespace) -> int:
    # every argument is checked before the password is asked for
    _, uscc, _ = _validate(args.username, args.role, args.uscc, args.region or ())
    if uscc:
        _enterprise_exists(args, uscc)
    if user_store(_data_dir(args)).get(args.username) is not None:
        raise UserError(N_("user {username!r} already exists"), username=args.username)
    user = create_user(args.username, _read_password(args), args.role, uscc=args.uscc,
                       regions=args.region or (), data_dir=_data_dir(args))
    print(json.dumps(user.public(), ensure_ascii=False))
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    for user in user_store(_data_dir(args)).list():
        print(json.dumps(user.public(), ensure_ascii=False))
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    if user_store(_data_dir(args)).get(args.username) is None:
        raise UserError(N_("no user {username!r}"), username=args.username)
    user_store(_data_dir(args)).set_password(args.username, _read_password(args, "new password: "))
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    user_store(_data_dir(args)).set_active(args.username, False)
    return 0


def cmd_user_enable(args: argparse.Namespace) -> int:
    user_store(_data_dir(args)).set_active(args.username, True)
    return 0


def add_user_commands(sub: argparse._SubParsersAction) -> None:
    """Register the account commands on the CLI's subparsers (each sets `func`, returns an exit code).

    Errors are UserError (a ValueError): the CLI's usual `except ValueError` prints them.
    """
    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        p.add_argument("--data-dir", help="where users.sqlite3 lives (default: $RISKGRAPH_DATA_DIR)")
        return p

    p = add("user-add", cmd_user_add, "create an account of the HTTP service (asks for the password)")
    p.add_argument("username", help="the login name: 2–64 letters, digits and _ . @ -")
    p.add_argument("--role", required=True, choices=[r.value for r in ACCOUNT_ROLES], help="the account's role")
    p.add_argument("--uscc", help="enterprise accounts: the enterprise's 统一社会信用代码")
    p.add_argument("--region", action="append", help="inspector accounts: a GB/T 2260 code (repeat for more)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of standard input")
    add("user-list", cmd_user_list, "list the HTTP service's accounts (JSON lines)")
    p = add("user-passwd", cmd_user_passwd, "set an account's password (its tokens stop working)")
    p.add_argument("username", help="the account")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of standard input")
    p = add("user-disable", cmd_user_disable, "disable an account (its tokens stop working)")
    p.add_argument("username", help="the account")
    p = add("user-enable", cmd_user_enable, "enable a disabled account")
    p.add_argument("username", help="the account")
