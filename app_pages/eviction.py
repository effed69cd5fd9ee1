"""Eviction: what Redis deletes when memory is full — every policy on one workload, simulated."""
import streamlit as st

from ui import eviction as parts
from ui.backend import current_backend
from ui.recipes import recipe
from ui.widgets import lesson

st.title("Eviction")
st.caption("When maxmemory is reached Redis must delete something — or refuse the write.")
st.info("The first five tabs are **simulated** on a virtual clock by the lab's implementation of Redis's "
        "eviction (`evict.c`); the last one **measures** a real server on the same trace, to show how far the "
        "simulator can be trusted.", icon=":material/science:")
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
