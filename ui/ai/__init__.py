"""The AI apps page's two halves: chat memory (``chat``) and the semantic cache (``semantic``)."""
