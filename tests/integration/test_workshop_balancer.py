"""`make workshop` for real: two app replicas behind HAProxy on loopback, one class server, real browsers.

The launcher (``python -m ui.serve workshop --replicas 2``) starts a standalone class server, two
``streamlit run app.py`` replicas and HAProxy with a sticky cookie. Then:

* two learners land on different replicas, and each one's websocket session stays there: the Workshop
  page (drawn over the websocket) names the replica the sticky cookie points at, page after page;
* each passes a challenge on their replica; the instructor's dashboard (on whichever replica) lists both;
* a resume link opened through the balancer in a fresh browser finds the same learner (namespace, progress);
* one replica is killed (SIGKILL): its learner's browser reaches the other replica through the balancer, and
  the resume link brings back their keys and progress there;
* Ctrl-C (SIGINT) to the launcher stops every process it started.

Needs HAProxy and Chromium (CI installs both: ``.ci/run``).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from labs.workshop.challenges import CHALLENGES
from ui.serve import find_haproxy
from labs.core.search_module import find_search_module
from tests.browser.conftest import ROOT, browser, free_port, new_page  # noqa: F401  (fixture)
from tests.browser.test_browser import assert_healthy, expect, learner_prefix, open_page, open_tab, rerun_after
from tests.integration.test_replicas import resume_link_of
from tests.support import skip_or_fail

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASSCODE = "balancer-pass-7"
PRESET = "/eviction?recipe_lfu-counter_log_factor=30&hide=lfu-counter.log_factor"
REPLICA = re.compile(r"replica (r\d+): pid (\d+), port (\d+)")
CLASS_PORT = re.compile(r"class server: \S+ on 127\.0\.0\.1:(\d+)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.fixture
def workshop(tmp_path):
    if find_haproxy() is None:
        skip_or_fail("LAB_REQUIRE_BROWSER", "haproxy is not installed (Debian: apt-get install haproxy)")
    port = free_port()
    env = {**os.environ, "LAB_INSTRUCTOR_PASSCODE": PASSCODE, "LAB_DB_PATH": str(tmp_path / "primary.sqlite3"),
           "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)   # the launcher starts its own class server
    env.pop("LAB_BACKEND", None)
    log = open(tmp_path / "launcher.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "ui.serve", "workshop", "--replicas", "2",
                             "--port", str(port), "--workers", "1"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    text = ""
    while "Workshop ready" not in text or len(REPLICA.findall(text)) < 2 or not CLASS_PORT.search(text):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the workshop did not start:\n{(tmp_path / 'launcher.log').read_text()}")
        time.sleep(0.3)
        text = (tmp_path / "launcher.log").read_text()
    info = {"proc": proc, "base": f"http://127.0.0.1:{port}", "log": tmp_path / "launcher.log",
            "replicas": {name: int(pid) for name, pid, _ in REPLICA.findall(text)},
            "class_url": f"redis://127.0.0.1:{CLASS_PORT.search(text).group(1)}/0"}
    try:
        yield info
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def _cookie(context) -> str:
    return next((c["value"] for c in context.cookies() if c["name"] == "LAB_REPLICA"), "")


def _served_by(page) -> str:
    note = page.get_by_text(re.compile(r"Served by app replica"))
    expect(note).to_have_count(1, timeout=15_000)
    return re.search(r"replica (r\d+)", note.inner_text()).group(1)


def _nav(page, title: str) -> None:
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title)
    expect(link).to_have_count(1, timeout=10_000)
    rerun_after(page, link.click)


def _pass_lfu_challenge(page, base: str, name: str) -> None:
    """Open the instructor's preset, run it (a pass), then save a display name on the Workshop page."""
    open_page(page, base + PRESET)
    panel = open_tab(page, "LFU counter", name)
    rerun_after(page, panel.get_by_role("button", name="Run: The LFU counter playground").click)
    expect(page.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text="Count to 100,000 in eight bits")).to_have_count(1)
    _nav(page, "Workshop")
    page.get_by_role("textbox", name="Display name").fill(name)
    rerun_after(page, page.get_by_role("button", name="Save my name").click)
    expect(page.get_by_text(f"1 of {len(CHALLENGES)} challenges passed")).to_be_visible()


def test_two_replicas_behind_haproxy(workshop, browser):  # noqa: F811 (fixture)
    import redis

    base = workshop["base"]
    contexts, learners = [], {}
    try:
        # --- learners arrive: round robin puts them on different replicas, a cookie keeps them there
        for _ in range(4):
            context, page = new_page(browser)
            contexts.append(context)
            open_page(page, base + "/")
            replica = _cookie(context)
            assert replica in workshop["replicas"], f"no sticky cookie: {context.cookies()}"
            learners.setdefault(replica, page)
            if len(learners) == 2:
                break
        assert set(learners) == {"r1", "r2"}, f"every learner landed on {set(learners)}"
        names = {"r1": "Ada One", "r2": "Bob Two"}
        for replica, page in learners.items():
            _nav(page, "Workshop")
            assert _served_by(page) == replica                     # the websocket session is on that replica
            _pass_lfu_challenge(page, base, names[replica])
            assert _served_by(page) == replica == _cookie(page.context)   # and it stayed there
            assert_healthy(page, f"learner on {replica}")

        # --- the instructor sees both learners, whichever replica serves the dashboard
        context, teacher = new_page(browser)
        contexts.append(context)
        open_page(teacher, base + "/workshop")
        panel = open_tab(teacher, "Instructor", "instructor")
        panel.get_by_role("textbox", name="Instructor passcode").fill(PASSCODE)
        rerun_after(teacher, panel.get_by_role("button", name="Open the dashboard").click)
        panel = open_tab(teacher, "Instructor", "dashboard")
        expect(panel.get_by_text("Leaderboard", exact=True)).to_be_visible()
        for label in ("Learners", "Challenges passed (all learners)"):   # both learners, from both replicas
            metric = panel.locator('[data-testid="stMetric"]').filter(has=teacher.get_by_text(label, exact=True))
            expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text("2")

        # --- a resume link through the balancer, in a fresh browser: the same learner
        victim = "r1"
        page = learners[victim]
        prefix = learner_prefix(page, "learner on r1")
        link = resume_link_of(page)
        assert link.startswith(base), link
        context, again = new_page(browser)
        contexts.append(context)
        open_page(again, link)
        assert learner_prefix(again, "resumed") == prefix
        _nav(again, "Workshop")
        expect(again.get_by_text(f"1 of {len(CHALLENGES)} challenges passed")).to_be_visible()

        # --- kill r1: its learner reaches r2 through the balancer; the resume link brings their keys back
        client = redis.Redis.from_url(workshop["class_url"], decode_responses=True)
        client.set(prefix + "structures:note", "kept", ex=300)   # a key of this learner on the class server
        if find_search_module().path:   # the class server has a vector index where the module exists
            assert "search" in {str(m.get("name")) for m in client.module_list()}
        os.kill(workshop["replicas"][victim], signal.SIGKILL)
        time.sleep(3)                                              # health checks: fall 2 × inter 1 s
        open_page(page, link)
        _nav(page, "Workshop")
        assert _served_by(page) == "r2"
        assert learner_prefix(page, "moved to r2") == prefix
        expect(page.get_by_text(f"1 of {len(CHALLENGES)} challenges passed")).to_be_visible()
        assert client.get(prefix + "structures:note") == "kept"
        assert_healthy(page, "after the move")
        assert "r1 exited" in workshop["log"].read_text()
    finally:
        for context in contexts:
            context.close()

    # --- Ctrl-C stops everything the launcher started
    proc = workshop["proc"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    assert not _pid_alive(workshop["replicas"]["r2"])
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(workshop["class_url"], socket_connect_timeout=1).ping()
