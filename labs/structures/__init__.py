"""The data-structures lab: the right Redis structure for each job, run live, with memory and encoding.

One module per structure (strings, lists, hashes, sets, zsets), plus the key inspector, memory by
encoding, the safe console and the quiz. Every recipe is a registered experiment (``python -m labs
list``) that sends real commands and returns them, timed, in ``Result.frames["commands"]``.
"""
