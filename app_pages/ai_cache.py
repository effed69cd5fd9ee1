"""Caching for AI apps: chat memory in Redis lists, and a semantic cache on a real embedding model
(all-MiniLM-L6-v2, loaded lazily by the semantic tabs only)."""
import streamlit as st

from ui.ai import chat, semantic, semantic_server
from ui.backend import current_backend

st.title("Chat memory & semantic cache")
st.caption("LLMs are stateless, slow and billed per token: keep the conversation in Redis, trimmed and leased, "
           "and cache answers — knowing what a loose match costs.")
backend = current_backend()

tabs = st.tabs(["Chat memory", "Semantic cache", "Threshold evaluation", "Try it", "Vector index", "RedisVL"])
with tabs[0]:
    chat.render(backend)
with tabs[1]:
    semantic.stream_tab(backend)
with tabs[2]:
    semantic.evaluation_tab(backend)
with tabs[3]:
    semantic.try_tab(backend)
with tabs[4]:
    semantic_server.index_tab(backend)
with tabs[5]:
    semantic_server.redisvl_tab(backend)
