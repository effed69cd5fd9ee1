"""Streamlit-aware glue, mirroring ``labs/``: one module per page of the course (``structures``,
``patterns``, ``ttl``, ``eviction``, ``invalidation``, ``ai`` (chat and semantic cache), ``workshop``), plus
the pieces every page shares: cached resources (``resources``), the learner's session (``session``), the
backend badge and switcher (``backend``), the course map (``catalog``), widgets generated from params
(``widgets``) and the recipe panel that runs an experiment and renders its result (``recipes``)."""
