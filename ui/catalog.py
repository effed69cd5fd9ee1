"""The course map: every lab in teaching order, by section. Pages register only when their file exists."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LabEntry:
    section: str
    title: str
    file: str                 # relative to the repo root
    icon: str
    teaches: str

    @property
    def exists(self) -> bool:
        return (ROOT / self.file).is_file()


SECTIONS = ("Start", "Basics", "Patterns", "Memory & expiry", "Invalidation", "AI apps", "Workshop")

COURSE: tuple[LabEntry, ...] = (
    LabEntry("Start", "Home", "app_pages/home.py", ":material/home:",
             "What the course teaches, your backend, and a first cache-aside read."),
    LabEntry("Basics", "Data structures", "app_pages/structures.py", ":material/data_object:",
             "Strings, lists, hashes, sets and sorted sets — the right structure for each job, with memory."),
    LabEntry("Patterns", "Caching patterns", "app_pages/patterns.py", ":material/swap_horiz:",
             "Cache-aside, write-through and write-behind against a real database: latency, load, lost writes."),
    LabEntry("Memory & expiry", "TTL as a cost lever", "app_pages/ttl_cost.py", ":material/savings:",
             "Leasing memory: TTLs, how Redis expires keys, and what it costs per month."),
    LabEntry("Memory & expiry", "Eviction", "app_pages/eviction.py", ":material/delete_sweep:",
             "When memory is full: every eviction policy on one workload, checked against a real server."),
    LabEntry("Invalidation", "Invalidation & stampedes", "app_pages/invalidation.py", ":material/sync_problem:",
             "Time- vs event-based invalidation, the delete-vs-set race, and hot-key stampedes."),
    LabEntry("Invalidation", "Near cache", "app_pages/nearcache.py", ":material/bolt:",
             "A cache inside your app, kept fresh by the server: CLIENT TRACKING, keyspace notifications, costs."),
    LabEntry("AI apps", "Chat memory & semantic cache", "app_pages/ai_cache.py", ":material/psychology:",
             "Chat history in lists, and a semantic cache on a real embedding model."),
    LabEntry("Workshop", "Workshop", "app_pages/workshop.py", ":material/groups:",
             "Challenges, presets and an instructor dashboard."),
)


def available() -> list[LabEntry]:
    return [entry for entry in COURSE if entry.exists]
