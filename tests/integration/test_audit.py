"""Audit: a browser walk through every page, tab, Run button and the console on a shared Redis, with
``MONITOR`` recording every command the server receives.

Afterwards: the sentinel keys (another application's data) are byte-for-byte unchanged (``DUMP``) with
the same TTL state; every key the lab wrote is inside a learner namespace ``lab:{<id>}:`` and carries a
TTL of at most 24 h; no command touched a sentinel key; and no FLUSHALL/FLUSHDB/KEYS/CONFIG SET/DEBUG/
SHUTDOWN reached the shared server. The private servers that eviction/memory experiments start are other
processes on other ports: they are not monitored here and may be reconfigured.

Redis does not show administrative commands (CONFIG, DEBUG, SHUTDOWN…) in MONITOR
(https://redis.io/docs/latest/commands/monitor/ — "no administrative commands are logged"; checked here:
Redis 7.0 shows ``KEYS`` but not ``CONFIG SET`` or ``DEBUG``), so the forbidden list is checked twice:
in the MONITOR stream and in ``INFO commandstats`` (calls, rejected and failed calls), before vs after.
The figures (commands by type, keys written, max TTL) are printed.
"""
from __future__ import annotations

import re
import threading
import time
from collections import Counter

import pytest

from labs.core.safety import _CREATES
from tests.browser.conftest import browser, page, redis_url, start_app  # noqa: F401  (fixtures)
from tests.browser.test_browser import (assert_badge, assert_clean_log, assert_healthy, check_console_live,
                                        click_run_buttons, open_page, pages)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LEARNER_KEY = re.compile(r"^lab:\{[a-z0-9]{4,32}\}:")
CLASS_KEY = re.compile(r"^lab:\{class:[a-z0-9][a-z0-9-]*\}:")  # a workshop class's progress (issue 9's workshop)
DAY_MS = 24 * 3600 * 1000
FORBIDDEN = {"FLUSHALL", "FLUSHDB", "KEYS", "CONFIG SET", "DEBUG", "SHUTDOWN"}
STATS = ("flushall", "flushdb", "keys", "config|set", "debug", "shutdown")
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')

SENTINELS = {
    "sentinel:app:user:1": ("string", "alice"),
    "sentinel:app:config": ("string", "v=1"),
    "sentinel:app:session": ("string", "token-123"),          # with a TTL
    "sentinel:app:product:7": ("hash", {"name": "widget", "price": "9.99"}),
    "sentinel:app:queue": ("list", ["job-1", "job-2"]),
    "sentinel:app:tags": ("set", {"a", "b"}),
    "sentinel:app:scores": ("zset", {"x": 1.0, "y": 2.0}),
}
SENTINEL_TTL_KEY = "sentinel:app:session"


def _unescape(arg: str) -> str:
    return re.sub(r"\\(x[0-9a-f]{2}|.)", lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x"
                  else {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), arg)


class Monitor:
    """MONITOR on its own connection, in a thread: every command the server receives, as argument lists."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=10)
        self.commands: list[list[str]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with self.client.monitor() as mon:
                self._ready.set()
                conn = mon.connection
                while not self._stop.is_set() or conn.can_read(timeout=0):
                    if not conn.can_read(timeout=0.2):
                        continue
                    raw = conn.read_response()
                    line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                    if "] " not in line:
                        continue  # "OK"
                    self.commands.append([_unescape(a) for a in _ARG.findall(line.split("] ", 1)[1])])
        except BaseException as exc:  # reported by stop()
            self.error = exc
            self._ready.set()

    def start(self) -> "Monitor":
        self._thread.start()
        assert self._ready.wait(10), "MONITOR did not start"
        time.sleep(0.2)
        return self

    def stop(self) -> list[list[str]]:
        time.sleep(0.5)  # the last replies' commands are already on the wire
        self._stop.set()
        self._thread.join(15)
        self.client.close()
        if self.error is not None:
            raise self.error
        return self.commands


def _name(cmd: list[str]) -> str:
    if not cmd:
        return ""
    head = cmd[0].upper()
    if head in ("CONFIG", "OBJECT", "MEMORY", "CLIENT", "CLUSTER", "SCRIPT", "XGROUP", "XINFO") and len(cmd) > 1:
        return f"{head} {cmd[1].upper()}"
    return head


def _written_keys(cmd: list[str]) -> list[str]:
    name = cmd[0].upper() if cmd else ""
    if name in ("MSET", "MSETNX"):
        return cmd[1::2]
    position = _CREATES.get(name)
    return [cmd[position]] if position is not None and position < len(cmd) else []


class _NewKeysOnly:
    """``client`` whose SCAN lists only keys that did not exist before the walk (a shared CI Redis may
    still hold an earlier test's lab keys, with their lease, under the same short names)."""

    def __init__(self, client, before: set[str]) -> None:
        self._client, self._before = client, before

    def scan_iter(self, *args, **kwargs):
        return (k for k in self._client.scan_iter(*args, **kwargs) if k not in self._before)

    def __getattr__(self, name):
        return getattr(self._client, name)


def _seed(client) -> dict[str, tuple[bytes, int]]:
    for key, (kind, value) in SENTINELS.items():
        client.delete(key)
        if kind == "string":
            client.set(key, value, ex=3600 if key == SENTINEL_TTL_KEY else None)
        elif kind == "hash":
            client.hset(key, mapping=value)
        elif kind == "list":
            client.rpush(key, *value)
        elif kind == "set":
            client.sadd(key, *value)
        else:
            client.zadd(key, value)
    return {key: (client.dump(key), client.pttl(key)) for key in SENTINELS}


def _stats(client) -> dict[str, int]:
    stats = client.info("commandstats")
    split = any("|" in k for k in stats)
    out = {}
    for name in STATS:
        entry = stats.get(f"cmdstat_{name if split else name.split('|')[0]}") or {}
        out[name] = sum(int(entry.get(f, 0)) for f in ("calls", "rejected_calls", "failed_calls")) \
            if isinstance(entry, dict) else 0
    return out


def test_audit_walk_on_a_shared_redis(redis_url, start_app, page, capsys):  # noqa: F811 (fixtures)
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    started = time.monotonic()
    try:
        before = _seed(client)
        keys_before = set(client.scan_iter(count=1000))
        stats_before = _stats(client)
        reader = _NewKeysOnly(redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=10),
                              {k.decode() for k in keys_before})
        app = start_app("live", redis_url)
        monitor = Monitor(redis_url).start()
        clicked, consoles = 0, 0
        try:
            for stem, path in pages():
                where = f"audit {path}"

                def on_tab(name: str, panel, where=where) -> None:
                    nonlocal consoles
                    if panel.get_by_label("redis>", exact=True).count():
                        check_console_live(page, reader, f"{where} [{name}]")
                        consoles += 1

                open_page(page, app.url(path))
                assert_badge(page, "live")
                assert_healthy(page, where)
                clicked += click_run_buttons(page, where, on_tab=on_tab)
        finally:
            commands = monitor.stop()
            reader.close()
        walk_s = time.monotonic() - started

        # 1. the sentinels: same bytes, same TTL state
        for key, (dump, pttl) in before.items():
            assert client.dump(key) == dump, f"sentinel {key} changed"
            now = client.pttl(key)
            assert (now == -1) if pttl == -1 else (0 < now <= pttl), f"sentinel {key}: PTTL {pttl} -> {now}"
        touched = [c for c in commands if any(a in SENTINELS for a in c[1:])]
        assert not touched, f"commands named a sentinel key: {touched[:5]}"

        # 2. every key the lab wrote: a learner's, with a TTL of at most a day (if it still exists)
        written = {k for c in commands for k in _written_keys(c)}
        outside = sorted(k for k in written if not (LEARNER_KEY.match(k) or CLASS_KEY.match(k)))
        assert not outside, f"keys written outside a learner (or workshop class) namespace: {outside[:20]}"
        pttls = {k: client.pttl(k) for k in written}
        alive = {k: t for k, t in pttls.items() if t != -2}
        bad = {k: t for k, t in alive.items() if not 0 < t <= DAY_MS}
        assert not bad, f"lab keys without a TTL of at most 24 h (PTTL ms): {dict(list(bad.items())[:20])}"
        stray = [k.decode() for k in set(client.scan_iter(count=1000)) - keys_before
                 if not (LEARNER_KEY.match(k.decode()) or CLASS_KEY.match(k.decode()))]
        assert not stray, f"keys outside the lab namespace on the server: {stray[:20]}"

        # 3. no forbidden command: in MONITOR, and in the server's own counters (admin commands skip MONITOR)
        names = Counter(_name(c) for c in commands)
        seen = {n for n in names if n in FORBIDDEN or n.split()[0] in FORBIDDEN}
        assert not seen, f"forbidden commands in MONITOR: {seen}"
        grew = {k: v - stats_before[k] for k, v in _stats(client).items() if v > stats_before[k]}
        assert not grew, f"forbidden commands counted by the server during the walk: {grew}"

        assert clicked >= 10 and consoles >= 1 and len(commands) > 100, (clicked, consoles, len(commands))
        assert_clean_log(app)
        learners = {m.group(0) for k in written if (m := LEARNER_KEY.match(k))}
        class_keys = sum(1 for k in written if CLASS_KEY.match(k))
        max_ttl_s = max(alive.values(), default=0) / 1000
        with capsys.disabled():
            print(f"\naudit: {len(pages())} pages, {clicked} Run buttons, {consoles} console(s) in {walk_s:.0f} s; "
                  f"{len(commands):,} commands on the shared server")
            print("audit: commands by type: " + ", ".join(f"{n} {c:,}" for n, c in names.most_common()))
            print(f"audit: {len(written):,} keys written in {len(learners)} learner namespace(s) "
                  f"(+{class_keys} workshop class keys); "
                  f"{len(alive):,} still alive, max TTL {max_ttl_s:,.0f} s (cap 86,400 s); "
                  f"sentinels unchanged: {len(before)}; forbidden commands: 0 (MONITOR and INFO commandstats)")
    finally:
        client.delete(*SENTINELS)
        leftovers = [k for k in locals().get("written", ()) if LEARNER_KEY.match(k)]  # never a class's keys
        for i in range(0, len(leftovers), 500):  # the walk's own keys (they would expire anyway)
            client.unlink(*leftovers[i:i + 500])
        client.close()
