"""TTL as a cost lever: leasing memory, how Redis expires keys, and what it costs per month.

One experiment per tab with its lesson beside it (as on the Eviction and Invalidation pages), instead of
one 14,000-pixel scroll; each run shows its headline numbers as tiles and the rest in a labelled table.
"""
import streamlit as st

from ui import ttl as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.session import command_log
from ui.widgets import command_log as show_command_log
from ui.widgets import lesson

st.title("TTL as a cost lever")
st.caption("RAM is expensive: a TTL is how you stop paying for data nobody reads any more.")
with st.expander("Why leases, in three minutes", icon=":material/menu_book:"):
    lesson("ttl_intro")
backend = current_backend()

tabs = st.tabs(["Plan your leases", "The memory model", "Synchronized expiry and jitter", "How Redis expires keys",
                "TTL commands, live"])
with tabs[0]:
    lesson("ttl_planner")
    lesson("ttl_cost")
    parts.lease_planner()
with tabs[1]:
    lesson("ttl_memory")
    recipe("memory-calibration", backend, extra=parts.calibration, columns=4)
with tabs[2]:
    lesson("ttl_jitter")
    recipe("expiry-jitter", backend, extra=parts.jitter, columns=4)
    parts.jitter_for_real(backend)
with tabs[3]:
    lesson("ttl_expiry")
    recipe("active-expiry", backend, extra=parts.expiry_sim, columns=4)
    st.divider()
    recipe("active-expiry-real", backend, extra=parts.expiry_real, columns=4)
with tabs[4]:
    lesson("ttl_mechanics")
    recipe("ttl-mechanics", backend, extra=parts.mechanics_steps)
show_command_log(command_log())
