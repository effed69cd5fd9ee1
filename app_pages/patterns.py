"""Caching patterns: cache-aside, write-through and write-behind against a real primary database."""
import streamlit as st

from ui import patterns as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.session import command_log
from ui.widgets import command_log as show_command_log
from ui.widgets import lesson

st.title("Caching patterns")
st.caption("Cache-aside, write-through, write-behind — on the same workload, against the same database.")
lesson("patterns_intro")
backend = current_backend()

st.header("Run them side by side", divider="gray")
lesson("patterns_compare")
recipe("patterns-compare", backend, extra=parts.comparison, columns=4, metrics=False)

st.header("When the cache goes down", divider="gray")
lesson("patterns_cache_down")
st.caption("Set **cache down after** in the form above (e.g. 0.5: Redis becomes unreachable half-way), and run again.")

st.header("Crash the cache during write-behind", divider="gray")
lesson("patterns_crash")
recipe("patterns-crash", backend, extra=parts.crash_report, columns=4)

st.header("When does caching pay?", divider="gray")
lesson("patterns_crossover")
recipe("patterns-crossover", backend, extra=parts.crossover, columns=4)
show_command_log(command_log())
