"""AppTest of the data-structures page: recipes run from their forms, the console and the quiz work,
and nothing raises — on the sandbox and on the embedded server."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ui.catalog import ROOT

PAGE = "app_pages/structures.py"


@pytest.fixture(params=["sandbox", "embedded"])
def at(request, monkeypatch) -> AppTest:
    monkeypatch.setenv("LAB_BACKEND", request.param)
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def _click(at: AppTest, label: str) -> AppTest:
    [b for b in at.button if b.label == label][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_recipes_run_from_the_page(at):
    _click(at, "Run: Cache an API response as JSON")
    m = _metrics(at)
    assert m["TTL of a key that does not exist"] == "-2"
    assert m["TTL right after the SET"].endswith(" s") and 0 < int(m["TTL right after the SET"].split()[0]) <= 60
    _click(at, "Run: What a plain SET does to a TTL")
    assert _metrics(at)["TTL after a plain SET"] == "-1"
    _click(at, "Run: Chat history: keep the last N")
    assert _metrics(at)["Messages kept"] == "20 messages"
    _click(at, "Run: A sliding-window rate limiter")
    assert _metrics(at)["First rejected request"] == "11"
    _click(at, "Run: JSON string or hash?")
    assert _metrics(at)["Lost updates, JSON"] == "1 update" and _metrics(at)["Lost updates, hash"] == "0 updates"


def test_leaderboard_can_be_played(at):
    _click(at, "Run: A leaderboard")
    [s for s in at.selectbox if s.label == "Player"][0].set_value("alan")
    [n for n in at.number_input if n.label == "Points"][0].set_value(999)
    _click(at, "Add points (ZINCRBY)")
    charts = at.get("plotly_chart")
    assert any("alan" in str(c.proto.spec) for c in charts)


def test_console_namespaces_and_refuses(at):
    def send(line: str) -> str:
        at.text_input(key="console_line").set_value(line)
        _click(at, "Send")
        return at.code[-1].value

    assert 'OK' in send('SET greeting "hello world" EX 60')
    assert send("GET greeting").endswith('"hello world"')
    assert "refused" in send("FLUSHALL").splitlines()[-1]
    assert "refused" in send("KEYS *").splitlines()[-1]
    assert "ERR wrong number of arguments" in send("GET")


def test_quiz_gives_feedback_and_keeps_score(at):
    radio = at.radio(key="quiz_top-10-players")
    radio.set_value("Sorted set").run()
    assert not at.exception
    assert any("1 right of 1 answered" in str(p.proto) for p in at.get("progress"))
    assert at.success


def test_key_inspector_lists_the_learners_keys(at):
    _click(at, "Run: Chat history: keep the last N")
    at.run()
    inspector = [s for s in at.selectbox if s.label == "Your key"][0]
    assert "chat:history" in inspector.options
    inspector.set_value("chat:history").run()
    assert _metrics(at)["TYPE"] == "list" and _metrics(at)["Length"] == "20"


def test_the_inspector_can_show_the_session_key_the_recipe_watches(at):
    """Found by bench/bench_load.py: with the session recipe's key the only key, the inspector selected it
    and both countdown toggles had the key ``countdown_session:<token>`` (StreamlitDuplicateElementKey)."""
    _click(at, "Run: A session token that expires")
    names = [s for s in at.selectbox if s.label == "Your key"]
    assert names and any(str(o).startswith("session:") for o in names[0].options)
    names[0].set_value(next(o for o in names[0].options if str(o).startswith("session:"))).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len([t for t in at.toggle if t.label.startswith("Watch")]) == 2


def test_the_inspector_shows_a_console_key_with_a_space(at):
    """``SET "a b" 1`` is a valid key for redis-cli (and the console); the inspector and its countdown
    must show it, not raise the Namespace's key-name check."""
    at.text_input(key="console_line").set_value('SET "a b" 1 EX 60')
    _click(at, "Send")
    at.run()  # the inspector tab is drawn before the console's: it lists the new key from the next run
    names = [s for s in at.selectbox if s.label == "Your key"][0]
    names.set_value("a b").run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["TYPE"] == "string"
    [t for t in at.toggle if t.label == "Watch 'a b' count down"][0].set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
