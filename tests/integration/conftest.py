"""Real servers for the integration suite: a private server, $REDIS_URL, and a 3-master cluster."""
from __future__ import annotations

import time

import pytest

from labs.core.servers import PrivateServer, ServerUnavailable
from tests.support import skip_or_fail

SLOTS = 16384


@pytest.fixture(params=["sandbox", "embedded"], scope="module")
def backend(request):
    """The two backends every machine has (a module may override this, e.g. to add $REDIS_URL)."""
    from labs.core.backends import open_embedded, open_sandbox

    b = open_sandbox() if request.param == "sandbox" else open_embedded(maxmemory="64mb")
    yield b
    b.close()


@pytest.fixture(scope="session")
def cluster_url():
    """Three private masters joined into a Redis Cluster (slots split in thirds); the seed node's URL."""
    nodes = []
    try:
        for _ in range(3):
            nodes.append(PrivateServer(maxmemory="32mb", extra={
                "cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": "2000"}).start())
    except ServerUnavailable as exc:
        for n in nodes:
            n.stop()
        skip_or_fail("LAB_REQUIRE_REDIS", f"no private cluster could start: {exc}")
    clients = [n.client() for n in nodes]
    third = SLOTS // 3
    ranges = [(0, third - 1), (third, 2 * third - 1), (2 * third, SLOTS - 1)]
    for client, (lo, hi) in zip(clients, ranges):
        client.execute_command("CLUSTER", "ADDSLOTSRANGE", lo, hi)
    for node in nodes[1:]:
        clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", node.port)
    deadline = time.time() + 15
    while time.time() < deadline:
        if all(c.execute_command("CLUSTER", "INFO").decode().find("cluster_state:ok") >= 0 for c in clients):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the private cluster did not reach cluster_state:ok in 15 s")
    yield nodes[0].url
    for n in nodes:
        n.stop()
