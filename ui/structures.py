"""Structures page pieces beyond the recipe panel: charts for each recipe, the leaderboard you can play
with, live TTL countdowns, the key inspector, the safe console and the quiz."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from labs.core import charts
from labs.core.backends import Backend
from labs.core.experiment import Result
from labs.structures import zsets
from labs.structures.inspector import inspect_key, key_of, learner_key_names
from ui.results import result_table
from ui.session import command_log, namespace


def queue_snapshots(result: Result, _params: Any) -> None:
    for _, row in result.frames["snapshots"].iterrows():
        st.markdown(f"`{row.step}` → " + (" ".join(f"`{i}`" for i in row["items"]) or "*(empty: the key is gone)*"))


def chat_lengths(result: Result, params: Any) -> None:
    if params is not None:
        st.plotly_chart(charts.list_lengths(result.frames["lengths"], params.keep), width="stretch")
    st.dataframe(result.frames["history"].tail(5).rename(columns={"message": "Newest messages"}), hide_index=True)


def rate_limit_chart(result: Result, params: Any) -> None:
    if params is not None:
        st.plotly_chart(charts.rate_limit_timeline(result.frames["requests"], params.limit), width="stretch")


def mutual_table(result: Result, _params: Any) -> None:
    st.dataframe(result.frames["mutual"].T, width="stretch")


def leaderboard_play(backend: Backend) -> None:
    """Play with the leaderboard the recipe built: add points, watch ranks change (ZINCRBY, ZREVRANGE)."""
    key = namespace("structures").key("leaderboard")
    board = zsets.top(backend.client, key, 10)
    with st.form("leaderboard_play", border=False):
        c1, c2, c3 = st.columns([2, 1, 1])
        player = c1.selectbox("Player", zsets.PLAYERS)
        points = c2.number_input("Points", min_value=-1000, max_value=1000, value=50)
        if c3.form_submit_button("Add points (ZINCRBY)"):
            from labs.core.metrics import instrument

            score = zsets.add_points(instrument(backend.client, command_log()), key, player, points)
            rank = backend.client.zrevrank(key, player)
            st.toast(f"{player}: {score:g} points, rank {rank + 1}")
            board = zsets.top(backend.client, key, 10)
    if board.empty:
        st.caption("Run the leaderboard recipe or add points to start a game.")
    else:
        st.plotly_chart(charts.leaderboard(board), width="stretch")


def countdown(backend: Backend, name: str, *, label: str, where: str = "") -> None:
    """A live TTL/PTTL readout (refreshes every second while switched on). ``where`` keeps two readouts
    of the same key apart (the session recipe's and the inspector's, when it shows that key)."""
    if not st.toggle(f"Watch {label} count down", key=f"countdown_{where}{name}"):
        return

    @st.fragment(run_every=1.0)
    def _tick() -> None:
        key = key_of(namespace("structures"), name)  # a console key may hold a space: "a b"
        ttl, pttl = backend.client.ttl(key), backend.client.pttl(key)
        meaning = {-2: "the key is gone (-2: no such key)", -1: "no expiry (-1)"}.get(ttl, f"{ttl} s left")
        st.metric(f"TTL of {name}", meaning, f"PTTL {pttl} ms" if pttl >= 0 else None, delta_color="off")

    _tick()


def inspector(backend: Backend) -> None:
    ns = namespace("structures")
    names = learner_key_names(backend.client, ns)
    if not names:
        st.info("You have no keys in this lab yet: run a recipe above, or create one in the console.")
        return
    name = st.selectbox("Your key", names, key="inspect_key")
    info = inspect_key(backend.client, ns, name)
    if not info.exists:
        st.warning(f"'{name}' no longer exists (it expired or was deleted).")
        return
    cols = st.columns(5)
    cols[0].metric("TYPE", info.type)
    cols[1].metric("TTL", f"{info.ttl_s} s" if info.ttl_s >= 0 else str(info.ttl_s))
    cols[2].metric("Length", info.length)
    cols[3].metric("OBJECT ENCODING", info.encoding or "n/a")
    cols[4].metric("MEMORY USAGE", f"{info.memory_bytes} B" if info.memory_bytes is not None else "n/a")
    if info.encoding is None:
        st.caption(f"The {backend.kind} backend ({backend.caps.server_label}) does not answer OBJECT ENCODING "
                   "or MEMORY USAGE; switch to the embedded backend to see them.")
    countdown(backend, name, label=f"'{name}'", where="inspector_")


def console(backend: Backend) -> None:
    from labs.structures.console import SafeConsole

    state = st.session_state
    owner = (backend.kind, backend.label)
    if state.get("console_owner") != owner:
        if state.get("console") is not None:
            state["console"].close()  # its connections belong to the previous backend
        state["console"] = SafeConsole(backend.client, namespace("structures"), shared=backend.kind != "sandbox",
                                       log=command_log())
        state["console_owner"] = owner
        state.setdefault("console_history", [])
    with st.form("console_form", clear_on_submit=True, border=False):
        c1, c2 = st.columns([5, 1])
        line = c1.text_input("redis>", placeholder='SET greeting "hello world" EX 60', key="console_line")
        sent = c2.form_submit_button("Send", icon=":material/send:")
    if sent and line.strip():
        reply = state["console"].execute(line)
        state["console_history"].append(reply)
    history = state.get("console_history", [])[-15:]
    if history:
        lines = []
        for reply in history:
            lines.append(f"redis> {reply.shown or reply.line}")
            lines.append(reply.output if reply.output else "")
            lines += [f"# {note}" for note in reply.notes]
            if reply.refused:
                lines.append(f"# refused: {reply.refused}")
        st.code("\n".join(lines), language=None)
    if st.button("Clear the console", key="console_clear"):
        state["console_history"] = []
        st.rerun()


def quiz() -> None:
    from labs.structures.quiz import SCENARIOS, grade, score

    answers = st.session_state.setdefault("quiz_answers", {})
    progress = st.empty()  # filled after this run's answers are graded, so it is never one behind
    for scenario in SCENARIOS:
        with st.container(border=True):
            choice = st.radio(scenario.prompt, scenario.choices, index=None, horizontal=True, key=f"quiz_{scenario.id}")
            if choice is not None:
                answers[scenario.id] = grade(scenario.id, choice)
                answer = answers[scenario.id]
                (st.success if answer.correct else st.warning)(answer.feedback)
                st.caption(f"Commands: {scenario.commands}")
    correct, answered = score(answers.values())
    progress.progress(correct / len(SCENARIOS), text=f"{correct} right of {answered} answered "
                                                      f"({len(SCENARIOS)} questions)")


def encoding_table(result: Result, _params: Any) -> None:
    st.plotly_chart(charts.memory_growth(result.frames["growth"]), width="stretch")
    result_table(result, "thresholds", columns=["structure", "config", "configured", "observed_conversion",
                                                "encoding_before", "encoding_after", "jump_ratio", "why"])


def json_vs_hash(result: Result, _params: Any) -> None:
    m = result.metrics
    frame = pd.DataFrame([
        {"measure": f"memory ({m.get('memory_source', '')})", "JSON string": m.get("json_bytes"), "hash": m.get("hash_bytes")},
        {"measure": "bytes sent to change one field", "JSON string": m.get("update_bytes_json"), "hash": m.get("update_bytes_hash")},
    ]).melt(id_vars="measure", var_name="stored as", value_name="bytes")
    st.plotly_chart(charts.compare_bars(frame, "measure", "bytes", "stored as", y_title="bytes"), width="stretch")
    if "interleaving" in result.frames:
        st.markdown("**Two clients change different fields at the same time**")
        result_table(result, "interleaving")
