"""The Redis Caching Lab engine: pure Python, no Streamlit, no connections at import.

Pages (``app_pages/``), the headless runner (``python -m labs``), the tests and the benchmarks all call
the same experiments through :mod:`labs.experiment`.
"""
