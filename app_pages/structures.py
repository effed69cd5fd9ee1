"""Data structures: the right Redis structure for each job — run live, with memory and encoding."""
import streamlit as st

from ui import structures as parts
from ui.backend import current_backend, switch_backend
from ui.recipes import recipe
from ui.widgets import command_log as show_command_log
from ui.widgets import lesson
from ui.session import command_log

st.title("Data structures")
st.caption("Choose the right tool for the job: do not just use strings for everything.")
lesson("structures_intro")
backend = current_backend()

tabs = st.tabs(["Strings", "Lists", "Hashes", "Sets", "Sorted sets", "Key inspector", "Memory by encoding",
                "Console", "Check yourself"])
with tabs[0]:
    lesson("structures_strings")
    recipe("string-cache-json", backend)
    st.divider()
    recipe("string-ttl-rules", backend)
    st.divider()
    recipe("string-session-token", backend, hide=("token",))
    if "recipe_result_string-session-token" in st.session_state:
        token = st.session_state["recipe_result_string-session-token"].metrics["token"]
        parts.countdown(backend, f"session:{token}", label="the session")
    st.divider()
    recipe("string-counter", backend)
with tabs[1]:
    lesson("structures_lists")
    recipe("list-queue", backend, extra=parts.queue_snapshots)
    st.divider()
    recipe("list-chat-history", backend, extra=parts.chat_lengths)
with tabs[2]:
    lesson("structures_hashes")
    recipe("hash-profile", backend)
    st.divider()
    recipe("json-vs-hash", backend, extra=parts.json_vs_hash, hide=("memory_source",))
with tabs[3]:
    lesson("structures_sets")
    recipe("set-followers", backend, extra=parts.mutual_table)
with tabs[4]:
    lesson("structures_zsets")
    recipe("zset-leaderboard", backend)
    parts.leaderboard_play(backend)
    st.divider()
    recipe("rate-limiter", backend, extra=parts.rate_limit_chart)
with tabs[5]:
    lesson("structures_inspector")
    parts.inspector(backend)
with tabs[6]:
    lesson("structures_encoding")
    from labs.structures.encoding import needs_real_server

    why = needs_real_server(backend)
    if why:
        st.info(why, icon=":material/memory:")
        if backend.kind == "sandbox":
            st.button("Switch to the embedded backend", on_click=switch_backend, args=("embedded", ""))
    recipe("memory-by-encoding", backend, extra=parts.encoding_table)
with tabs[7]:
    lesson("structures_console")
    parts.console(backend)
with tabs[8]:
    parts.quiz()
show_command_log(command_log())
