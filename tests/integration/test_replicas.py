"""Two app replicas, one Redis: a learner's work on one replica is there on the other.

Two real ``streamlit run app.py`` servers on different ports share ``REDIS_URL`` (the live backend), as
two replicas behind a load balancer would. A learner works on replica A (a recipe, a console write),
copies the resume link from A's sidebar, and opens it on replica B: same namespace, same keys. A second
learner on B sees none of them. Nothing the app needs lives only in one process: the key namespace is
derived from the resume token (labs/workshop/resume.py), the keys live in Redis.
"""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import browser, new_page, redis_url, start_app  # noqa: F401  (fixtures)
from tests.browser.test_browser import (assert_badge, assert_clean_log, assert_healthy, console_send, last_reply,
                                        learner_prefix, open_page, open_tab, rerun_after)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails) with the reason
    expect = None


def resume_link_of(page) -> str:
    """The resume link the sidebar shows (in its "Continue on another device" expander)."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Continue on another device", exact=True).click()
    code = sidebar.locator("code").filter(has_text="learner=")
    expect(code).to_have_count(1, timeout=10_000)
    link = code.inner_text().strip()
    assert re.search(r"\?learner=[0-9a-f]{32}$", link), f"not a resume link: {link!r}"
    return link


def test_a_learner_continues_on_another_replica(redis_url, start_app, browser):  # noqa: F811 (fixtures)
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5)
    a, b = start_app("live", redis_url), start_app("live", redis_url)
    assert a.port != b.port
    ctx_a, page_a = new_page(browser)
    ctx_b, page_b = new_page(browser)
    ctx_c, page_c = new_page(browser)
    try:
        # --- replica A: a recipe and a console write
        open_page(page_a, a.url("/structures"))
        assert_badge(page_a, "live")
        mine = learner_prefix(page_a, "replica A")
        panel = open_tab(page_a, "Strings", "replica A")
        run = panel.get_by_role("button", name=re.compile(r"^Run\b")).first
        rerun_after(page_a, run.click)
        assert_healthy(page_a, "replica A after a recipe")
        open_tab(page_a, "Console", "replica A")
        console_send(page_a, 'SET replica-note "written on A" EX 300', "replica A")
        written = sorted(client.scan_iter(match=mine + "*", count=1000))
        assert mine + "structures:replica-note" in written and len(written) >= 2, written
        link = resume_link_of(page_a)
        assert link.startswith(a.base_url), link

        # --- replica B, same learner (the resume link, pointed at B)
        open_page(page_b, link.replace(a.base_url, b.base_url))
        assert learner_prefix(page_b, "replica B") == mine
        assert "learner=" not in page_b.url, "the token stayed in the address bar"
        open_tab(page_b, "Console", "replica B")
        transcript = console_send(page_b, "GET replica-note", "replica B")
        assert last_reply(transcript, "GET replica-note").strip() == '"written on A"', transcript
        console_send(page_b, "SET from-b 1 EX 300", "replica B")
        assert client.get(mine + "structures:from-b") == "1"
        panel = open_tab(page_b, "Key inspector", "replica B")
        assert "You have no keys" not in panel.inner_text(), "B's inspector does not see A's keys"

        # --- replica B, another learner: none of it
        open_page(page_c, b.url("/structures"))
        other = learner_prefix(page_c, "replica B, learner 2")
        assert other != mine
        open_tab(page_c, "Console", "replica B, learner 2")
        transcript = console_send(page_c, "GET replica-note", "replica B, learner 2")
        assert last_reply(transcript, "GET replica-note").strip() == "(nil)", transcript
        transcript = console_send(page_c, "SCAN 0 COUNT 1000", "replica B, learner 2")
        assert "replica-note" not in last_reply(transcript, "SCAN") and "from-b" not in transcript

        # --- back on A (the same session), the write made on B is there
        open_tab(page_a, "Console", "replica A again")
        transcript = console_send(page_a, "GET from-b", "replica A again")
        assert last_reply(transcript, "GET from-b").strip() == '"1"', transcript
        assert learner_prefix(page_a, "replica A again") == mine
    finally:
        for ctx in (ctx_a, ctx_b, ctx_c):
            ctx.close()
        for prefix in {p for p in (locals().get("mine"), locals().get("other")) if p}:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.unlink(*keys)
        client.close()
    assert_clean_log(a)
    assert_clean_log(b)
