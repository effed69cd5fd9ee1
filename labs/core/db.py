"""The lab's primary database: SQLite seeded from ``data/*.csv``, plus a simulated network.

A cache only pays off when the thing behind it is slow. A local SQLite lookup answers in
about 10 microseconds - faster than a Redis hit over loopback - so measured alone it would
"prove" that caching never helps. Real primary databases sit across a network and do real
work, so every call here also draws a SIMULATED latency from a :class:`LatencyModel`
(network round trip + query time + jitter + a lognormal tail). Results keep the two apart:
``real_ns`` is measured, ``simulated_ns`` is modelled, and anything that reports the latter
must say it is simulated. By default nothing sleeps; set ``sleep=True`` for real-time demos.

Everything here is lazy: importing this module opens no connection and reads no file.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils

SEED_DIR = Path(__file__).resolve().parents[2] / "data"
SEED_VERSION = 1  # stored as PRAGMA user_version; bump when the schema or seed data change
SCHEMA: dict[str, dict[str, type]] = {
    "users": {"id": int, "name": str, "email": str, "city": str, "country": str,
              "plan": str, "created_at": str, "bio": str},
    "products": {"id": int, "sku": str, "name": str, "category": str, "price_cents": int,
                 "stock": int, "description": str},
    "orders": {"id": int, "user_id": int, "product_id": int, "quantity": int,
               "total_cents": int, "status": str, "created_at": str},
}
TABLES = tuple(SCHEMA)
MAX_MS = 10_000.0
MAX_SIGMA = 3.0
MAX_SAMPLE_MS = 60_000.0  # a single simulated call never exceeds one minute
_SEED_LOCK = threading.Lock()


# --------------------------------------------------------------------- latency model
@dataclass(frozen=True)
class LatencyModel:
    """SIMULATED time of one call to a remote primary DB, in milliseconds.

    sample = rtt_ms + uniform(0, jitter_ms) + query_ms * exp(N(0, tail_sigma)).
    The lognormal factor has median 1, so the median is about rtt + query + jitter/2,
    while rare slow queries push the p99 well above it.
    """

    rtt_ms: float = 1.0
    query_ms: float = 2.0
    jitter_ms: float = 1.0
    tail_sigma: float = 0.5
    sleep: bool = False

    def __post_init__(self) -> None:
        for name in ("rtt_ms", "query_ms", "jitter_ms"):
            _check_range(name, getattr(self, name), MAX_MS, " ms")
        _check_range("tail_sigma", self.tail_sigma, MAX_SIGMA, "")

    def sample_ms(self, rng: random.Random) -> float:
        jitter = rng.uniform(0.0, self.jitter_ms) if self.jitter_ms else 0.0
        tail = math.exp(rng.gauss(0.0, self.tail_sigma)) if self.tail_sigma else 1.0
        return min(self.rtt_ms + jitter + self.query_ms * tail, MAX_SAMPLE_MS)

    def describe(self) -> str:
        return (f"simulated: {self.rtt_ms:g} ms round trip + {self.query_ms:g} ms query "
                f"+ up to {self.jitter_ms:g} ms jitter, tail sigma {self.tail_sigma:g}"
                + (" (really sleeps)" if self.sleep else ""))


def _check_range(name: str, value: Any, high: float, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not 0 <= value <= high:  # also rejects NaN
        raise ValueError(f"{name} must be between 0 and {high:g}{unit}, got {value:g}")


class LatencyPreset(NamedTuple):
    model: LatencyModel
    description: str


LATENCY_PRESETS: dict[str, LatencyPreset] = {
    "local SQLite (no network)": LatencyPreset(
        LatencyModel(0.0, 0.0, 0.0, 0.0),
        "No simulated delay: only the real in-process SQLite time (~10 µs) counts."),
    "remote Postgres, same region": LatencyPreset(
        LatencyModel(),
        "About 3.5 ms median: 1 ms round trip, 2 ms query, 0-1 ms jitter, occasional slow queries."),
    "cross-region database": LatencyPreset(
        LatencyModel(rtt_ms=60.0, query_ms=3.0, jitter_ms=10.0, tail_sigma=0.6),
        "About 68 ms median: the database is on another continent, 60 ms away."),
}


# --------------------------------------------------------------------- results
@dataclass(frozen=True)
class DBResult:
    """One call's answer. ``real_ns`` is measured; ``simulated_ns`` comes from the model."""

    value: Any
    real_ns: int
    simulated_ns: int
    found: bool

    @property
    def total_ns(self) -> int:
        return self.real_ns + self.simulated_ns

    @property
    def total_ms(self) -> float:
        return self.total_ns / 1e6


@dataclass
class DBStats:
    reads: int = 0
    writes: int = 0
    real_ns_total: int = 0
    simulated_ns_total: int = 0


@dataclass(frozen=True)
class SeedReport:
    path: Path
    action: str  # "existing" | "created" | "reseeded"
    message: str


# --------------------------------------------------------------------- seeding
@functools.lru_cache(maxsize=8)
def _read_csv(path: str, _mtime_ns: int, _size: int, table: str) -> tuple[dict, ...]:
    types = SCHEMA[table]
    with open(path, newline="", encoding="utf-8") as f:
        return tuple({k: types[k](v) for k, v in row.items()} for row in csv.DictReader(f))


def load_seed_rows(table: str, seed_dir: Path = SEED_DIR) -> tuple[dict, ...]:
    """Typed rows of ``seed_dir/<table>.csv`` (cached until the file changes)."""
    path = Path(seed_dir) / f"{table}.csv"
    st = path.stat()
    return _read_csv(str(path), st.st_mtime_ns, st.st_size, table)


def seed_counts(seed_dir: Path = SEED_DIR) -> dict[str, int]:
    return {t: len(load_seed_rows(t, seed_dir)) for t in TABLES}


def default_db_path() -> Path:
    """``$LAB_DB_PATH``, else ``~/.cache/redis-caching-lab/primary.sqlite3``, else a temp dir."""
    if os.environ.get("LAB_DB_PATH"):
        path = Path(os.environ["LAB_DB_PATH"]).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    for folder in (Path.home() / ".cache" / "redis-caching-lab",
                   Path(tempfile.gettempdir()) / "redis-caching-lab"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
            return folder / "primary.sqlite3"
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix="redis-caching-lab-")) / "primary.sqlite3"


def _problem(path: Path, counts: dict[str, int]) -> str | None:
    """Why the file at ``path`` cannot be used as-is, or None when it is fine."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return f"cannot be opened: {exc}"
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        if rows != [("ok",)]:
            return f"integrity check failed: {rows[0][0]}"
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SEED_VERSION:
            return f"seed version {version}, expected {SEED_VERSION}"
        for table, columns in SCHEMA.items():
            have = [r[1] for r in conn.execute(f"PRAGMA table_info([{table}])")]
            if not have:
                return f"table {table} is missing"
            if set(have) != set(columns):
                return f"table {table} has columns {have}, expected {list(columns)}"
            n = conn.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]
            if n != counts[table]:
                return f"table {table} has {n:,} rows, data/{table}.csv has {counts[table]:,}"
        return None
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()


def _write_seed(path: Path, seed_dir: Path) -> None:
    """Seed a temp file beside ``path`` and atomically move it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        conn = sqlite3.connect(tmp)
        try:
            db = sqlite_utils.Database(conn, execute_plugins=False)
            for table, columns in SCHEMA.items():
                db[table].create(columns, pk="id")
                db[table].insert_all((dict(r) for r in load_seed_rows(table, seed_dir)), batch_size=1000)
            db["orders"].create_index(["user_id"])
            db["orders"].create_index(["product_id"])
            conn.execute(f"PRAGMA user_version = {SEED_VERSION:d}")
            conn.commit()
        finally:
            conn.close()
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; the seed is not secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_seeded(path: str | os.PathLike | None = None, *, seed_dir: Path = SEED_DIR) -> SeedReport:
    """Make sure ``path`` holds an intact, current copy of the seed data; rebuild it if not."""
    path = Path(path) if path is not None else default_db_path()
    with _SEED_LOCK:
        counts = seed_counts(seed_dir)
        summary = ", ".join(f"{n:,} {t}" for t, n in counts.items())
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_seed(path, seed_dir)
            return SeedReport(path, "created",
                              f"Created the primary database at {path} from data/ ({summary}).")
        problem = _problem(path, counts)
        if problem is None:
            return SeedReport(path, "existing", f"Using the primary database at {path} ({summary}).")
        stale = problem.startswith("seed version") or " rows, data/" in problem
        backup, kept = f"{path}.{'old' if stale else 'corrupt'}", ""
        try:  # keep one copy of the old file, in case LAB_DB_PATH pointed somewhere precious
            shutil.copyfile(path, backup)
            kept = f" The old file was kept as {backup}."
        except OSError:
            pass
        for suffix in ("-journal", "-wal", "-shm"):  # a stale journal would damage the new file
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        _write_seed(path, seed_dir)
        state = "out of date" if stale else "corrupt"
        return SeedReport(path, "reseeded",
                          f"The primary database file at {path} was {state} ({problem}); "
                          f"it was rebuilt from data/ ({summary}).{kept}")


# --------------------------------------------------------------------- the database handle
_QUERY_OK = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
             getattr(sqlite3, "SQLITE_RECURSIVE", 33)}


def _select_only(action: int, *_: Any) -> int:
    return sqlite3.SQLITE_OK if action in _QUERY_OK else sqlite3.SQLITE_DENY


class PrimaryDB:
    """Thread-safe handle on the primary DB; every call reports real and SIMULATED time."""

    def __init__(self, conn_or_path: sqlite3.Connection | str | os.PathLike, *,
                 latency: LatencyModel = LatencyModel(), rng: random.Random | None = None) -> None:
        if isinstance(conn_or_path, sqlite3.Connection):
            self._conn = conn_or_path
        else:
            self._conn = sqlite3.connect(os.fspath(conn_or_path), check_same_thread=False)
        self._lock = threading.RLock()
        self._db = sqlite_utils.Database(self._conn, execute_plugins=False)
        self.latency = latency  # settable at any time; read once per call
        self.rng = rng if rng is not None else random.Random()
        self.stats = DBStats()
        with self._lock:
            self._columns = {t: tuple(self._db[t].columns_dict) for t in TABLES
                             if self._db[t].exists()}

    @classmethod
    def open(cls, path: str | os.PathLike, **kwargs: Any) -> PrimaryDB:
        """Open a database file directly: writes change the file itself."""
        return cls(path, **kwargs)

    @classmethod
    def open_private_copy(cls, seed_path: str | os.PathLike, **kwargs: Any) -> PrimaryDB:
        """Copy the seeded file into a fresh in-memory DB, so writes stay with this handle."""
        seed_path = Path(seed_path)
        if not seed_path.exists():
            raise FileNotFoundError(f"No primary database at {seed_path}; call ensure_seeded() first.")
        src = sqlite3.connect(f"{seed_path.resolve().as_uri()}?mode=ro", uri=True)
        dst = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            src.backup(dst)
        finally:
            src.close()
        return cls(dst, **kwargs)

    # -- validation ---------------------------------------------------------------
    def _table(self, table: str) -> str:
        if table not in self._columns:
            raise ValueError(f"Unknown table {table!r}; choose one of {', '.join(self._columns)}.")
        return next(t for t in self._columns if t == table)  # the whitelisted string itself

    def _fields(self, table: str, fields: dict) -> list[str]:
        if not isinstance(fields, dict) or not fields:
            raise ValueError("Pass the columns to write as a non-empty dict, e.g. {'city': 'Oslo'}.")
        unknown = [c for c in fields if c not in self._columns[table]]
        if unknown:
            raise ValueError(f"Unknown column(s) {unknown} for table {table}; "
                             f"known columns: {', '.join(self._columns[table])}.")
        for col, val in fields.items():
            if val is not None and not isinstance(val, (str, int, float)):
                raise ValueError(f"Column {col} needs a str, int, float or None, got {type(val).__name__}.")
        return [c for c in self._columns[table] if c in fields]

    @staticmethod
    def _pk(pk: Any) -> int:
        if isinstance(pk, str) and pk.strip().isdigit():
            pk = int(pk)
        if isinstance(pk, bool) or not isinstance(pk, int):
            raise ValueError(f"Primary keys are integers, got {pk!r}.")
        return pk

    # -- core ---------------------------------------------------------------------
    def _run(self, sql: str, params: tuple | list | dict, *, write: bool,
             select_only: bool = False) -> tuple[list[dict], int, int]:
        with self._lock:
            start = time.perf_counter_ns()
            try:
                if select_only:
                    self._conn.set_authorizer(_select_only)
                cur = self._conn.execute(sql, params)
                names = [d[0] for d in cur.description or ()]
                rows = [dict(zip(names, r)) for r in cur.fetchall()]
                if write:
                    self._conn.commit()
            except BaseException:
                if write:
                    self._conn.rollback()
                raise
            finally:
                if select_only:
                    self._conn.set_authorizer(None)
            real_ns = time.perf_counter_ns() - start
            model = self.latency
            simulated_ns = int(model.sample_ms(self.rng) * 1e6)
            self.stats.writes += write
            self.stats.reads += not write
            self.stats.real_ns_total += real_ns
            self.stats.simulated_ns_total += simulated_ns
        if model.sleep and simulated_ns:
            time.sleep(simulated_ns / 1e9)  # outside the lock: other threads are not held up
        return rows, real_ns, simulated_ns

    def get(self, table: str, pk: int) -> DBResult:
        """``SELECT * FROM table WHERE id = pk``: value is a row dict, or None."""
        t, pk = self._table(table), self._pk(pk)
        rows, real, sim = self._run(f"SELECT * FROM [{t}] WHERE id = ?", (pk,), write=False)
        return DBResult(rows[0] if rows else None, real, sim, bool(rows))

    def query(self, sql: str, params: tuple | list | dict = ()) -> DBResult:
        """Run one read-only SELECT; value is a list of row dicts."""
        if not sql.lstrip().lower().startswith(("select", "with")):
            raise ValueError("query() only runs SELECT statements; use update() or insert() to write.")
        try:
            rows, real, sim = self._run(sql, params, write=False, select_only=True)
        except sqlite3.ProgrammingError as exc:  # e.g. two statements
            raise ValueError(f"query() runs a single SELECT statement: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            if "not authorized" in str(exc):
                raise ValueError("query() only runs SELECT statements that read data.") from exc
            raise
        return DBResult(rows, real, sim, bool(rows))

    def update(self, table: str, pk: int, fields: dict) -> DBResult:
        """Really UPDATE one row; value is the row as stored afterwards."""
        t, pk = self._table(table), self._pk(pk)
        cols = self._fields(t, fields)
        if "id" in cols:
            raise ValueError("id is the primary key and cannot be updated.")
        sets = ", ".join(f"[{c}] = ?" for c in cols)
        rows, real, sim = self._run(f"UPDATE [{t}] SET {sets} WHERE id = ? RETURNING *",
                                    [fields[c] for c in cols] + [pk], write=True)
        if not rows:
            raise KeyError(f"No row with id {pk} in table {t}; nothing was updated.")
        return DBResult(rows[0], real, sim, True)

    def insert(self, table: str, row: dict) -> DBResult:
        """INSERT one row (``id`` optional: SQLite picks the next one); value is the stored row."""
        t = self._table(table)
        cols = self._fields(t, row)
        sql = (f"INSERT INTO [{t}] ({', '.join(f'[{c}]' for c in cols)}) "
               f"VALUES ({', '.join('?' for _ in cols)}) RETURNING *")
        try:
            rows, real, sim = self._run(sql, [row[c] for c in cols], write=True)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"Cannot insert into {t}: {exc} (is id {row.get('id')} taken?)") from exc
        return DBResult(rows[0], real, sim, True)

    def count(self, table: str) -> int:
        """Number of rows (a helper for the UI: not timed, not counted in stats)."""
        t = self._table(table)
        with self._lock:
            return self._conn.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0]

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = DBStats()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
