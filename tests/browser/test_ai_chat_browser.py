"""The chat-memory tab of ``/ai_cache`` in a real browser, on the embedded backend and the sandbox.

Types two messages in the chat input (``st.chat_input`` inside a tab renders inline, not pinned to the
bottom), checks that the simulated assistant answers and the context panel follows (LLEN 2 then 4, the
approximate tokens grow, TTL 86400 s), then clicks every "Run: …" button of the tab.

Screenshots: ``screenshots/<backend>-ai-chat.png``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.browser.test_browser import (  # noqa: E402
    RUN_BUTTON, SCREENSHOTS, assert_badge, assert_clean_log, assert_healthy, expect, full_screenshot, open_page,
    open_tab, rerun_after, wait_charts)

PATH = "/ai_cache"
TAB = "Chat memory"
RUNS = ("Load the context: primary DB or Redis", "Without LTRIM, the context grows every turn",
        "Without EXPIRE, abandoned chats stay in RAM", "RPUSH alone does not refresh a TTL")


def metric(panel, label: str) -> str:
    box = panel.locator('[data-testid="stMetric"]').filter(
        has=panel.page.locator('[data-testid="stMetricLabel"]', has_text=label))
    expect(box.first).to_be_visible(timeout=10_000)
    return box.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def say(page, panel, text: str, where: str) -> None:
    box = panel.locator('[data-testid="stChatInput"] textarea')
    expect(box).to_be_visible(timeout=10_000)
    box.fill(text)
    rerun_after(page, lambda: box.press("Enter"))
    assert_healthy(page, f"{where} after saying {text!r}")


@pytest.mark.browser
@pytest.mark.parametrize("backend", ["embedded", "sandbox"])
def test_chat_updates_the_context_and_the_experiments_run(apps, page, backend):
    app = apps(backend)
    where = f"{backend} {PATH} [{TAB}]"
    open_page(page, app.url(PATH))
    assert_badge(page, backend)
    panel = open_tab(page, TAB, f"{backend} {PATH}")

    say(page, panel, "How do I reset my password?", where)
    panel = open_tab(page, TAB, where)
    assert metric(panel, "LLEN") == "2"
    assert metric(panel, "TTL") in {"86400 s", "86399 s"}
    tokens_1 = int(metric(panel, "tokens").replace(",", ""))
    replies = panel.locator('[data-testid="stChatMessage"]')
    expect(replies).to_have_count(2)
    expect(replies.nth(1)).to_contain_text("simulated assistant")

    say(page, panel, "And how do I turn on two-factor login?", where)
    panel = open_tab(page, TAB, where)
    assert metric(panel, "LLEN") == "4"
    assert int(metric(panel, "tokens").replace(",", "")) > tokens_1
    expect(panel.locator('[data-testid="stChatMessage"]')).to_have_count(4)
    expect(panel.locator('[data-testid="stChatMessage"]').nth(3)).to_contain_text("reset my password")

    buttons = panel.get_by_role("button", name=RUN_BUTTON)
    titles = [t.strip().splitlines()[-1].removeprefix("Run:").strip() for t in buttons.all_inner_texts()]
    assert titles == list(RUNS), titles
    for i, title in enumerate(titles):
        button = open_tab(page, TAB, where).get_by_role("button", name=RUN_BUTTON).nth(i)
        button.scroll_into_view_if_needed()
        rerun_after(page, button.click)
        assert_healthy(page, f"{where} after 'Run: {title}'")
    panel = open_tab(page, TAB, where)
    assert metric(panel, "Same context from both") == "yes"
    assert metric(panel, "RPUSH renewed the lease") == "no"
    assert metric(panel, "RPUSH + LTRIM + EXPIRE renewed the lease") == "yes"
    with_ltrim, without = (int(metric(panel, f"Tokens sent on the last turn, {w}").split()[0].replace(",", ""))
                           for w in ("with LTRIM", "without"))
    assert without > 3 * with_ltrim  # 120 messages sent against 20
    expect(panel.locator('[data-testid="stPlotlyChart"]')).not_to_have_count(0)
    wait_charts(page)
    full_screenshot(page, SCREENSHOTS / f"{backend}-ai-chat.png")
    assert metric(panel, "LLEN") == "4"  # the experiments wrote to keys of their own, not to the chat
    assert_clean_log(app)
