"""Chat memory: a chat with a SIMULATED assistant writing through ``add_message`` into the learner's list,
the context window beside it, then the experiments (DB vs Redis, no LTRIM, no EXPIRE, RPUSH and TTL).

``st.chat_input`` pins itself to the bottom of the page only at the top level of a script; inside a tab or
a column it renders inline (Streamlit docs, ``st.bottom``) — here, under the chat history, so it never
shows on the page's other tabs.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import redis
import streamlit as st

from labs.core import charts

from labs.ai import chat
from labs.core.backends import Backend, BackendError, classify_error
from labs.core.experiment import Result
from ui.recipes import recipe
from ui.results import result_table
from ui.session import namespace
from ui.widgets import lesson

TRANSCRIPT = "chat_transcript"


def _escape(text: str) -> str:
    return text.replace("$", "\\$")  # a "$" pair would render as maths


def _send(backend: Backend, key: str, text: str, n: int, ttl: int) -> None:
    """The learner's message and the simulated reply, both through add_message (one pipeline each)."""
    client = backend.client
    chat.add_message(client, key, "user", text, max_messages=n, ttl_seconds=ttl)
    reply = chat.simulated_reply(chat.load_context(client, key), text)
    chat.add_message(client, key, "assistant", reply, max_messages=n, ttl_seconds=ttl)
    st.session_state[TRANSCRIPT] += [{"role": "user", "content": text}, {"role": "assistant", "content": reply}]


def _context_panel(backend: Backend, key: str) -> None:
    client = backend.client
    context = chat.load_context(client, key)
    llen, ttl = int(client.llen(key)), int(client.ttl(key))
    shown = len(st.session_state[TRANSCRIPT])
    st.markdown("**The context window a model would be sent**")
    top, bottom = st.columns(2), st.columns(2)
    top[0].metric("LLEN", llen)
    top[1].metric("TTL", f"{ttl} s" if ttl >= 0 else {-2: "no key", -1: "none"}.get(ttl, str(ttl)))
    bottom[0].metric("≈ tokens", chat.context_tokens(context), help="Approximate: 4 characters per token, "
                     "+3 per message, +3 for the reply (see below).")
    bottom[1].metric("Forgotten", max(0, shown - llen), help="Messages on your screen that are no longer in the "
                     "list (trimmed by LTRIM, or expired): the model cannot see them.")
    rows = [{"role": m["role"], "≈ tokens": chat.approx_tokens(m["content"]) + chat.TOKENS_PER_MESSAGE,
             "content": m["content"]} for m in context]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=260,
                 column_config={"role": st.column_config.TextColumn(width="small"),
                                "≈ tokens": st.column_config.NumberColumn(width="small"),
                                "content": st.column_config.TextColumn(width="large")})
    st.caption(f"`LRANGE {key.replace(namespace(chat.LAB).prefix, '')} 0 -1` after the system prompt; "
               f"the key is `{key}`.")
    if st.toggle("Watch LLEN and TTL live", key="chat_watch"):
        @st.fragment(run_every=1.0)
        def _tick() -> None:
            live_ttl, pttl = client.ttl(key), client.pttl(key)
            st.metric("TTL now", f"{live_ttl} s" if live_ttl >= 0 else str(live_ttl),
                      f"PTTL {pttl} ms, LLEN {client.llen(key)}", delta_color="off")

        _tick()


def chat_panel(backend: Backend) -> None:
    state = st.session_state
    state.setdefault(TRANSCRIPT, [])
    key = namespace(chat.LAB).key("conversation")
    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="bottom")
    n = c1.number_input("Keep the last N messages", min_value=1, max_value=500, value=chat.DEFAULT_MAX_MESSAGES,
                        key="chat_n", help="LTRIM key -N -1 after every RPUSH.")
    ttl = c2.number_input("TTL (s)", min_value=1, max_value=86_400, value=chat.DEFAULT_TTL_S, key="chat_ttl",
                          help="EXPIRE key TTL with every message (the lab's cap is 24 h).")
    new = c3.button("New conversation", icon=":material/restart_alt:", key="chat_new",
                    help="Delete your conversation list (UNLINK) and clear the screen.")
    left, right = st.columns([1, 1], gap="medium")
    with left:
        history = st.container(height=460, border=True)
        prompt = st.chat_input("Say something to the simulated assistant", key="chat_prompt")
    try:
        if new:
            backend.client.unlink(key)
            state[TRANSCRIPT] = []
        if prompt:
            _send(backend, key, prompt, int(n), int(ttl))
        with right:
            _context_panel(backend, key)
    except ValueError as exc:
        left.warning(str(exc), icon=":material/edit:")
    except (redis.RedisError, OSError, BackendError) as exc:
        err = exc if isinstance(exc, BackendError) else classify_error(exc, backend.label)
        left.error(f"{err.message} {err.hint}".strip(), icon=":material/cloud_off:")
    with history:
        if not state[TRANSCRIPT]:
            st.caption("No messages yet: type below. The assistant is simulated — no model is called.")
        for message in state[TRANSCRIPT]:
            with st.chat_message(message["role"]):
                st.markdown(_escape(message["content"]))


# --------------------------------------------------------------------------- experiment charts

def context_chart(result: Result, _params: Any) -> None:
    st.plotly_chart(charts.line_chart(result.frames["latency"], "turn", "ms", "source", x_title="turn",
                                      y_title="load the context (ms)"), width="stretch")
    with st.expander("Per turn"):
        result_table(result, "per_turn")


def ltrim_charts(result: Result, _params: Any) -> None:
    frame = result.frames["per_turn"]
    left, right = st.columns(2)
    left.plotly_chart(charts.line_chart(frame, "turn", "tokens", "variant", x_title="turn",
                                        y_title="≈ input tokens sent"), width="stretch")
    right.plotly_chart(charts.line_chart(frame, "turn", "cumulative_cost_usd", "variant", x_title="turn",
                                         y_title="input $ so far (simulated price)"), width="stretch")
    if frame.memory_bytes.notna().any():
        st.plotly_chart(charts.line_chart(frame, "turn", "memory_bytes", "variant", x_title="turn",
                                          y_title="MEMORY USAGE of the list (bytes)"), width="stretch")


def expire_chart(result: Result, params: Any) -> None:
    m = result.metrics
    st.dataframe(pd.DataFrame([
        {"": label, f"GB after {params.days} days": m[f"gb_{short}"], "smallest node that fits": m[f"node_{short}"],
         "node $ / month": m[f"usd_per_month_{short}"], f"Serverless storage $ for {params.days} days":
             m[f"serverless_usd_{short}"]}
        for label, short in (("with EXPIRE", "with_expire"), ("without EXPIRE", "without_expire"))]),
        hide_index=True, width="stretch")
    st.plotly_chart(charts.line_chart(result.frames["timeline"], "day", "gb", "variant", x_title="day",
                                      y_title="RAM held by conversations (GB)"), width="stretch")
    with st.expander("Nodes (illustrative prices)"):
        result_table(result, "nodes", columns=[c for c in result.frames["nodes"].columns if c != "source"])


def ttl_steps(result: Result, _params: Any) -> None:
    steps = result.frames["steps"]
    st.plotly_chart(charts.compare_bars(steps.assign(step=[f"{i + 1}. {s}" for i, s in enumerate(steps.step)]),
                                        "step", "lease_used_ms", y_title="lease used up: TTL − PTTL (ms)"),
                    width="stretch")
    result_table(result, "steps")


def render(backend: Backend) -> None:
    """The whole chat-memory section: the chat, then the four experiments."""
    lesson("ai_chat_intro")
    chat_panel(backend)
    lesson("ai_chat_tokens")
    st.subheader("Load the context from the primary DB or from Redis?", divider="gray")
    lesson("ai_chat_context")
    recipe("chat-context", backend, extra=context_chart, columns=3,
           show=("redis_p50_ms", "sqlite_p50_ms", "db_network_p50_ms_simulated", "db_total_p50_ms",
                 "redis_faster_by", "same_context_every_turn"))
    st.subheader("Without LTRIM", divider="gray")
    lesson("ai_chat_ltrim")
    recipe("chat-without-ltrim", backend, extra=ltrim_charts, columns=3,
           show=("tokens_last_turn_with_ltrim", "tokens_last_turn_without_ltrim", "usd_per_conversation_with_ltrim",
                 "usd_per_conversation_without_ltrim", "usd_per_month_with_ltrim", "usd_per_month_without_ltrim",
                 "llen_with_ltrim", "llen_without_ltrim"))
    st.subheader("Without EXPIRE", divider="gray")
    lesson("ai_chat_expire")
    recipe("chat-without-expire", backend, extra=expire_chart, columns=3,
           show=("bytes_per_conversation", "gb_with_expire", "gb_without_expire", "growth_gb_per_day_without_expire"))
    st.subheader("RPUSH alone does not refresh a TTL", divider="gray")
    lesson("ai_chat_ttl")
    recipe("chat-rpush-ttl", backend, extra=ttl_steps, columns=2,
           show=("pttl_before_rpush_ms", "pttl_after_rpush_ms", "rpush_refreshed_ttl",
                 "pttl_before_add_message_ms", "pttl_after_add_message_ms", "add_message_refreshed_ttl"))
