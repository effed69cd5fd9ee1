"""Streamlit-aware glue shared by the pages: cached resources, the learner's session, widgets, rendering."""
