"""Private servers: started fast, tied to the app's life (no orphans, even after a crash), with clear failures."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from labs.core import servers
from labs.core.backends import open_default
from labs.core.servers import PrivateServer, ServerUnavailable

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except OSError:
        return True


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _crashing_app(start_in_thread: bool) -> subprocess.Popen:
    """A Python process that starts a private server (optionally from a short-lived thread, like a
    Streamlit script run), reports its pid, then dies by SIGKILL — no atexit, no cleanup."""
    script = textwrap.dedent(f"""
        import os, signal, sys, threading, time
        sys.path.insert(0, {str(ROOT)!r})
        from labs.core.servers import PrivateServer
        holder = {{}}
        def start():
            holder["s"] = PrivateServer(maxmemory="16mb").start()
        if {start_in_thread!r}:
            t = threading.Thread(target=start); t.start(); t.join()
            time.sleep(0.5)  # the starting thread is gone; the server must still be up
        else:
            start()
        s = holder["s"]
        alive = s.client().ping()
        print(s.pid, alive, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
@pytest.mark.parametrize("start_in_thread", [False, True])
def test_no_orphan_server_after_the_app_is_killed(start_in_thread):
    proc = _crashing_app(start_in_thread)
    line = proc.stdout.readline().split()
    proc.wait(timeout=10)
    assert line and line[1] == "True", "the server was not up while its app was alive"
    assert proc.returncode == -signal.SIGKILL
    assert _wait_gone(int(line[0])), "the private server outlived its crashed app"


def test_records_of_dead_owners_are_reaped(tmp_path):
    binary = servers.find_server_binary()
    server = subprocess.Popen([binary.path, "--port", "0", "--save", "", "--unixsocket", str(tmp_path / "s.sock")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dead_owner = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_owner.wait()
    servers._RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    record = servers._RUNTIME_DIR / f"server-{server.pid}.json"
    record.write_text(json.dumps({"owner_pid": dead_owner.pid, "server_pid": server.pid, "binary": binary.path}))
    try:
        assert servers.reap_orphans() >= 1
        server.wait(timeout=5)
        assert not record.exists()
    finally:
        if server.poll() is None:
            server.kill()


def test_start_stop_and_reconfigure_an_owned_server():
    with PrivateServer(maxmemory="8mb") as server:
        client = server.client()
        assert client.config_get("maxmemory")["maxmemory"] == str(8 * 1024 * 1024)
        client.config_set("maxmemory-policy", "allkeys-lru")  # allowed: the lab started this server
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
        assert client.config_get("save")["save"] == ""  # no persistence
        assert server.rss_bytes() > 0
        pid, folder = server.pid, server.dir
    assert _wait_gone(pid) and not Path(folder).exists()
    server.stop()  # idempotent


def test_missing_binary_falls_back_to_the_sandbox_and_says_why(monkeypatch):
    monkeypatch.setenv("LAB_SERVER_BINARY", "/nonexistent/valkey-server")
    backend = open_default()
    assert backend.kind == "sandbox"
    assert "/nonexistent/valkey-server is not an executable file" in backend.fallback_reason


def test_a_binary_that_fails_to_start_is_reported(monkeypatch):
    monkeypatch.setenv("LAB_SERVER_BINARY", "/bin/false")
    with pytest.raises(ServerUnavailable, match="did not start: it exited with code 1"):
        PrivateServer().start()
    assert "sandbox" in open_default().fallback_reason


def test_a_bad_setting_shows_the_servers_own_words():
    with pytest.raises(ServerUnavailable) as err:
        PrivateServer(maxmemory="lots").start()
    assert "did not start" in str(err.value)


def test_restart_after_a_crash_comes_back_empty_without_persistence_and_whole_with_aof():
    with PrivateServer(maxmemory="16mb") as plain, \
            PrivateServer(maxmemory="16mb", extra={"appendonly": "yes", "appendfsync": "always"}) as durable:
        for server in (plain, durable):
            server.client().set("k", "acknowledged")
            server.crash()
            assert not server.running
            server.restart()
        assert plain.client().get("k") is None
        assert durable.client().get("k") == b"acknowledged"
