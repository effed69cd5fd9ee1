"""Eviction: what Redis deletes when memory is full — every policy on one workload, simulated.

Above the tabs only a title, a caption and one line on what is simulated: the policy table lives in an
expander, so on a phone the tabs start within the first screens instead of 1,900 px down.
"""
import streamlit as st

from ui import eviction as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.widgets import lesson

st.title("Eviction")
st.caption("When maxmemory is reached Redis must delete something — or refuse the write.")
st.info("The first five tabs are **simulated** (the lab's copy of Redis's `evict.c`); the last one **measures** a "
        "real server on the same trace.", icon=":material/science:")
with st.expander("The eviction policies, and when Redis evicts", icon=":material/menu_book:"):
    lesson("eviction_intro")
backend = current_backend()

tabs = st.tabs(["Compare policies", "Miss-ratio curve", "Sampling vs true LRU", "LFU counter", "LRU vs LRM",
                "Real server vs simulator"])
with tabs[0]:
    lesson("eviction_compare")
    recipe("eviction-compare", backend, extra=parts.comparison, columns=5, metrics=False)
with tabs[1]:
    lesson("eviction_mrc")
    recipe("eviction-mrc", backend, extra=parts.curve, columns=4, metrics=False)
with tabs[2]:
    lesson("eviction_sampling")
    recipe("eviction-test-lru", backend, extra=parts.grid, columns=2)
with tabs[3]:
    lesson("eviction_lfu")
    recipe("lfu-counter", backend, extra=parts.counter, columns=3)
with tabs[4]:
    lesson("eviction_lrm")
    recipe("eviction-lrm", backend, extra=parts.lrm, columns=5)
with tabs[5]:
    lesson("eviction_fidelity")
    recipe("eviction-fidelity", backend, extra=parts.fidelity, columns=4,
           progress="Starting private servers and calibrating maxmemory…")
