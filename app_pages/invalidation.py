"""Invalidation & stampedes: keeping a cache correct when the data changes, and a hot key's expiry."""
import streamlit as st

from ui import invalidation as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.session import command_log
from ui.widgets import command_log as show_command_log
from ui.widgets import lesson

st.title("Invalidation & stampedes")
st.caption("Time-based vs event-based invalidation, the race that leaves a stale value behind, and the herd "
           "that follows a hot key's expiry.")
lesson("invalidation_intro")
backend = current_backend()

tabs = st.tabs(["Staleness vs freshness", "Live: PATCH → DEL", "The delete-vs-set race", "Stampede (simulated)",
                "Stampede (real threads)", "XFetch odds", "Negative caching"])
with tabs[0]:
    lesson("invalidation_staleness")
    recipe("invalidation-staleness", backend, extra=parts.staleness, columns=4)
with tabs[1]:
    lesson("invalidation_live")
    recipe("invalidation-live", backend, extra=parts.live, columns=4)
with tabs[2]:
    lesson("invalidation_race")
    st.subheader("Step through one interleaving")
    parts.race_stepper(backend)
    st.subheader("Every interleaving, every fix")
    lesson("invalidation_race_fixes")
    recipe("invalidation-race", backend, extra=parts.race_matrix, columns=2)
with tabs[3]:
    lesson("invalidation_stampede")
    recipe("stampede-sim", backend, extra=parts.stampede_sim, columns=3, metrics=False)
with tabs[4]:
    lesson("invalidation_stampede_real")
    recipe("stampede-real", backend, extra=parts.stampede_real, columns=4)
with tabs[5]:
    lesson("invalidation_xfetch")
    recipe("xfetch-probability", backend, extra=parts.xfetch, columns=4)
with tabs[6]:
    lesson("invalidation_negative")
    recipe("negative-caching", backend, extra=parts.negative, columns=5)
show_command_log(command_log())
