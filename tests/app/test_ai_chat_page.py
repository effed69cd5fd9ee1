"""AppTest of the chat-memory tab (app_pages/ai_cache.py): messages typed in st.chat_input go through
add_message into the learner's list — LLEN grows, capped at N, with a TTL — on the sandbox and the
embedded server; the experiments run from their forms."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.catalog import ROOT

PAGE = "app_pages/ai_cache.py"


@pytest.fixture(params=["sandbox", "embedded"])
def at(request, monkeypatch) -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", request.param)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    app.switch_page(PAGE).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _say(at: AppTest, text: str) -> AppTest:
    at.chat_input(key="chat_prompt").set_value(text).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _conversation(at: AppTest):
    """(client, key) of the learner's list on the embedded server the page used; None on the sandbox, whose
    FakeServer is private to the AppTest session (the page's LLEN/TTL metrics are read from it instead)."""
    if at.session_state["backend_kind"] != "embedded":
        return None
    from ui import resources

    return resources.embedded()[0].client, f"lab:{{{at.session_state['lab_session_id']}}}:chat:conversation"


def test_chat_messages_grow_the_list_with_a_ttl(at):
    _say(at, "How do I reset my password?")
    assert _metrics(at)["LLEN"] == "2"  # the message and the simulated reply
    _say(at, "And how do I enable two-factor login?")
    m = _metrics(at)
    assert m["LLEN"] == "4" and m["TTL"] == "86400 s" and int(m["≈ tokens"]) > 40
    replies = [c for c in at.get("chat_message") if c.name == "assistant"]
    assert len(replies) == 2 and "simulated assistant" in replies[-1].markdown[0].value
    if conversation := _conversation(at):
        client, key = conversation
        assert client.llen(key) == 4 and 86_390 <= client.ttl(key) <= 86_400


def test_n_caps_the_list_and_the_assistant_forgets(at):
    at.number_input(key="chat_n").set_value(4).run()
    for i in range(1, 5):
        _say(at, f"message number {i}")
    m = _metrics(at)
    assert m["LLEN"] == "4" and m["Forgotten"] == "4"
    conversation = _conversation(at)
    if conversation:
        assert conversation[0].llen(conversation[1]) == 4
    [b for b in at.button if b.label == "New conversation"][0].click().run()
    assert _metrics(at)["LLEN"] == "0" and _metrics(at)["TTL"] == "no key"
    if conversation:
        assert not conversation[0].exists(conversation[1])


def test_experiments_run_from_the_tab(at):
    for label in ("Run: Load the context: primary DB or Redis", "Run: RPUSH alone does not refresh a TTL"):
        [b for b in at.button if b.label == label][0].click().run()
        assert not at.exception, [e.value for e in at.exception]
    m = _metrics(at)
    assert m["Same context from both"] == "yes"
    assert m["RPUSH renewed the lease"] == "no" and m["RPUSH + LTRIM + EXPIRE renewed the lease"] == "yes"
