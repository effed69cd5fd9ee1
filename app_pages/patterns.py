"""Caching patterns: cache-aside, write-through and write-behind against a real primary database.

One experiment per tab, its lesson beside it (as on the Eviction and Invalidation pages): the page is no
longer one 11,000-pixel scroll, and "when the cache goes down" has a form of its own.
"""
import streamlit as st

from ui import patterns as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.session import command_log
from ui.widgets import command_log as show_command_log
from ui.widgets import lesson

st.title("Caching patterns")
st.caption("Cache-aside, write-through, write-behind — on the same workload, against the same database.")
with st.expander("The four strategies, and what is measured or simulated", icon=":material/menu_book:"):
    lesson("patterns_intro")
backend = current_backend()

tabs = st.tabs(["Side by side", "When the cache goes down", "Crash during write-behind", "When does caching pay?"])
with tabs[0]:
    lesson("patterns_compare")
    recipe("patterns-compare", backend, extra=parts.comparison, columns=4, metrics=False)
with tabs[1]:
    lesson("patterns_cache_down")
    st.caption("This form starts with **Cache down after** = 0.5: Redis becomes unreachable half-way through "
               "the run. Watch the *Failed requests* and *Degraded writes* columns.")
    recipe("patterns-compare", backend, extra=parts.comparison, columns=4, metrics=False,
           key="patterns_down", defaults={"cache_down_at": 0.5})
with tabs[2]:
    lesson("patterns_crash")
    recipe("patterns-crash", backend, extra=parts.crash_report, columns=4)
with tabs[3]:
    lesson("patterns_crossover")
    recipe("patterns-crossover", backend, extra=parts.crossover, columns=4)
show_command_log(command_log())
