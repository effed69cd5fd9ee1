"""Eviction: what Redis deletes when memory is full — every policy on one workload, simulated."""
import streamlit as st

from ui import eviction as parts
from ui.backend import current_backend
from ui.recipes import recipe

st.title("Eviction")
st.caption("When maxmemory is reached Redis must delete something — or refuse the write.")
st.info("Everything on this page is **simulated** on a virtual clock by the lab's reference implementation of "
        "Redis's eviction (`evict.c`). Its comparison against a real server is measured separately.",
        icon=":material/science:")
backend = current_backend()

tabs = st.tabs(["Compare policies", "Miss-ratio curve", "Sampling vs true LRU", "LFU counter"])
with tabs[0]:
    recipe("eviction-compare", backend, extra=parts.comparison, columns=5, metrics=False)
with tabs[1]:
    recipe("eviction-mrc", backend, extra=parts.curve, columns=4, metrics=False)
with tabs[2]:
    recipe("eviction-test-lru", backend, extra=parts.grid, columns=2)
with tabs[3]:
    recipe("lfu-counter", backend, extra=parts.counter, columns=3)
