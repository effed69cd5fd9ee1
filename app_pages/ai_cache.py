"""Caching for AI apps: a semantic cache on a real embedding model (all-MiniLM-L6-v2, loaded on this page only)."""
import streamlit as st

from ui import semantic
from ui.backend import current_backend

st.title("Caching for AI apps")
st.caption("LLM calls are slow and billed per token: cache what you can, and know what a loose match costs.")
backend = current_backend()

tabs = st.tabs(["Semantic cache", "Threshold evaluation", "Try it"])
with tabs[0]:
    semantic.stream_tab(backend)
with tabs[1]:
    semantic.evaluation_tab(backend)
with tabs[2]:
    semantic.try_tab(backend)
