"""Workshop progress on real servers: the embedded server, $REDIS_URL (live) and a 3-master cluster.

The same store the app uses on a live server, through the same guarded client: learners isolated, the
instructor sees the class, every key inside the class hash tag with a TTL ≤ 24 h, "end workshop" leaves
every other key alone. Then two AppTest sessions on a live server: A's pass is on the instructor's board
and not in B's progress.
"""
from __future__ import annotations

import pytest

from labs.core.backends import Backend, open_embedded, open_live
from labs.core.namespace import MAX_TTL_S, new_session_id
from labs.workshop.progress import RedisProgress

pytestmark = pytest.mark.integration


@pytest.fixture(params=["embedded", "live", "cluster"])
def shared(request) -> Backend:
    if request.param == "embedded":
        b = open_embedded(maxmemory="64mb")
    else:
        b = open_live(request.getfixturevalue("live_url" if request.param == "live" else "cluster_url"))
    yield b
    b.close()


def _class() -> str:
    return "t-" + new_session_id()


def test_learners_are_isolated_and_the_instructor_sees_the_class(shared):
    cid = _class()
    a, b = RedisProgress(shared.client, cid, new_session_id()), RedisProgress(shared.client, cid, new_session_id())
    try:
        a.set_name("Ada")
        b.set_name("Bob")
        assert a.record_pass("jitter-flatten") and not a.record_pass("jitter-flatten")
        b.record_pass("lfu-log-factor")
        assert set(a.passed()) == {"jitter-flatten"} and set(b.passed()) == {"lfu-log-factor"}
        instructor = RedisProgress(shared.client, cid, new_session_id())
        view = instructor.class_view()
        assert {r.name: r.passed for r in view.learners} == {"Ada": ("jitter-flatten",), "Bob": ("lfu-log-factor",)}
        assert instructor.leaderboard() == [("Ada", 1), ("Bob", 1)]
        keys = instructor.class_keys()
        assert len(keys) == 5 and all(k.startswith(f"lab:{{class:{cid}}}:") for k in keys)
        for key in keys:
            assert 0 < shared.client.ttl(key) <= MAX_TTL_S, key
    finally:
        RedisProgress(shared.client, cid, new_session_id()).end_workshop()


def test_end_workshop_deletes_only_that_class(shared):
    cid, other = _class(), _class()
    sentinel = f"sentinel:{new_session_id()}"
    shared.client.set(sentinel, "outside the lab", ex=300)
    try:
        RedisProgress(shared.client, cid, new_session_id()).record_pass("jitter-flatten")
        keep = RedisProgress(shared.client, other, new_session_id())
        keep.record_pass("jitter-flatten")
        assert RedisProgress(shared.client, cid, new_session_id()).end_workshop() == 4
        assert RedisProgress(shared.client, cid, new_session_id()).class_keys() == []
        assert set(keep.passed()) == {"jitter-flatten"}
        assert shared.client.get(sentinel) == b"outside the lab"
    finally:
        RedisProgress(shared.client, other, new_session_id()).end_workshop()
        shared.client.unlink(sentinel)


def test_two_app_sessions_on_a_live_server(monkeypatch, live_url):
    """A passes a challenge on the eviction page; B's progress does not show it; the instructor's board does."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui.catalog import ROOT

    cid = _class()
    monkeypatch.setenv("LAB_BACKEND", "live")
    monkeypatch.setenv("REDIS_URL", live_url)
    monkeypatch.setenv("LAB_CLASS_ID", cid)
    monkeypatch.setenv("LAB_INSTRUCTOR_PASSCODE", "pw-live")
    st.cache_resource.clear()

    def session() -> AppTest:
        return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()

    def click(at: AppTest, label: str) -> None:
        [b for b in at.button if b.label == label][0].click().run()
        assert not at.exception, [e.value for e in at.exception]

    try:
        a = session()
        a.switch_page("app_pages/workshop.py").run()
        a.text_input(key="workshop_name_input").set_value("Ada")
        click(a, "Save my name")
        a.switch_page("app_pages/eviction.py").run()
        a.number_input(key="recipe_lfu-counter_log_factor").set_value(30.0)
        click(a, "Run: The LFU counter playground")
        assert any("lfu-log-factor 30" in s.value for s in a.success)

        b = session()
        b.switch_page("app_pages/workshop.py").run()
        mine = [f.value for f in b.dataframe if "status" in f.value.columns]
        assert all((df.status == "to do").all() for df in mine)
        b.text_input(key="workshop_passcode").set_value("pw-live")
        click(b, "Open the dashboard")
        board = [f.value for f in b.dataframe if "challenges passed" in f.value.columns][0]
        assert board.to_dict("records") == [{"name": "Ada", "challenges passed": 1}]
        progress = [f.value for f in b.dataframe if "passed by" in f.value.columns][0]
        assert progress.set_index("challenge")["passed by"]["Count to 100,000 in eight bits"] == 1
    finally:
        backend = open_live(live_url)
        RedisProgress(backend.client, cid, new_session_id()).end_workshop()
        backend.close()
        st.cache_resource.clear()


def test_redis_killed_during_a_workshop(monkeypatch):
    """The class's Redis dies: the learner's run still shows, with a clear message that progress is kept;
    the app stays up; when Redis is back the kept pass is saved with the next run."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from labs.core.servers import PrivateServer, ServerUnavailable
    from ui.catalog import ROOT

    try:
        server = PrivateServer().start()
    except ServerUnavailable as exc:
        pytest.skip(f"no private server: {exc}")
    cid = _class()
    monkeypatch.setenv("LAB_BACKEND", "live")
    monkeypatch.setenv("REDIS_URL", server.url)
    monkeypatch.setenv("LAB_CLASS_ID", cid)
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        at.switch_page("app_pages/eviction.py").run()
        server.crash()
        at.number_input(key="recipe_lfu-counter_log_factor").set_value(30.0)
        [b for b in at.button if b.label == "Run: The LFU counter playground"][0].click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("lfu-log-factor 30" in s.value for s in at.success)           # the verdict still shows
        assert any("could not be saved" in w.value for w in at.warning)          # and says progress is kept
        server.restart()
        [b for b in at.button if b.label == "Run: The LFU counter playground"][0].click().run()
        assert not at.exception and not any("could not be saved" in w.value for w in at.warning)
        view = RedisProgress(server.client(), cid, new_session_id()).class_view()
        assert [r.passed for r in view.learners] == [("lfu-log-factor",)]
    finally:
        st.cache_resource.clear()
        server.stop()
