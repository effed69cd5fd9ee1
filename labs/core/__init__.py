"""What every lab stands on; it imports no lab.

``backends`` opens the three places Redis runs (sandbox, embedded, live) and probes what each can show;
``servers`` starts the short-lived private servers experiments reconfigure (``search_module`` finds the
search module the embedded one loads); ``namespace`` builds every key
under the learner's prefix with a lease; ``safety`` limits one learner on a shared server (its errors live
in ``errors``); ``metrics`` times commands and computes percentiles; ``experiment`` is the contract every
lab's experiments follow (params with knobs, ``Result``, the registry); ``db`` is the SQLite primary
database and its simulated network; ``workload`` makes seeded traces; ``cache`` is the cache-aside
helper; ``recipe`` turns a recipe's commands into a transcript; ``charts`` builds the plotly figures.
"""
