"""Caching for AI apps: chat memory in Redis lists (and, once merged, a semantic cache)."""
import streamlit as st

from ui import chat
from ui.backend import current_backend

st.title("Chat memory & semantic cache")
st.caption("LLMs are stateless and slow to pay for: keep the conversation in Redis, trimmed and leased.")
backend = current_backend()

tabs = st.tabs(["Chat memory"])
with tabs[0]:
    chat.render(backend)
