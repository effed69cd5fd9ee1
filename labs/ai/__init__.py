"""Caching for AI apps (the Chat memory & semantic cache page): chat history in a trimmed, leased Redis list
(``chat``, ``chat_experiments``), the semantic cache on sentence embeddings (``semantic``), and the
stand-in LLM with its token prices, simulated unless an OpenAI-compatible endpoint is configured
(``llm``)."""
