"""deploy/ (Docker Compose, Kubernetes) cannot run here — no Docker engine, no cluster — so this checks that
they start the app exactly as `make workshop` does (ui/serve.py): the same command, port and
health path, only environment variables the app reads, sticky sessions and websocket-length timeouts."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from ui.serve import (APP_PORT, HEALTH_PATH, REPLICA_ENV, ROOT, STICKY_COOKIE, find_haproxy,
                                 haproxy_config, streamlit_command)

DEPLOY = ROOT / "deploy"
COMMAND = ["python", *streamlit_command(APP_PORT, "0.0.0.0")[1:]]    # the image's python, on every interface


def _k8s() -> dict[str, dict]:
    docs = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return docs


def test_compose_starts_the_app_as_make_workshop_does():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    app = compose["services"]["app"]
    assert app["command"] == COMMAND
    assert set(app["environment"]) <= set(REPLICA_ENV)
    assert {"REDIS_URL", "LAB_INSTRUCTOR_PASSCODE"} <= set(app["environment"])
    assert app["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert f"127.0.0.1:{APP_PORT}{HEALTH_PATH}" in " ".join(app["healthcheck"]["test"])
    assert app["deploy"]["replicas"] >= 2
    assert compose["services"]["balancer"]["ports"] == [f"{APP_PORT}:{APP_PORT}"]
    redis_args = compose["services"]["redis"]["command"]
    assert redis_args[redis_args.index("--save") + 1] == "" and "--appendonly" in redis_args


def test_the_dockerfile_runs_the_same_command():
    cmd = next(line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    assert yaml.safe_load(cmd[4:]) == COMMAND
    assert f"EXPOSE {APP_PORT}" in (DEPLOY / "Dockerfile").read_text()


def test_compose_balancer_matches_make_workshops():
    """Everything but the server lines (Docker DNS instead of loopback ports) is make workshop's config."""
    ours = {line.strip() for line in haproxy_config(APP_PORT, "127.0.0.1", [("r1", 1)]).splitlines()}
    theirs = {line.strip() for line in (DEPLOY / "haproxy.cfg").read_text().splitlines()}
    shared = {line for line in ours if line and not line.startswith(("server ", "bind ", "cookie "))}
    assert shared <= theirs, shared - theirs
    assert f"cookie {STICKY_COOKIE} insert indirect nocache httponly dynamic" in theirs
    haproxy = find_haproxy()
    if haproxy is None:
        pytest.skip("haproxy is not installed: the syntax check is skipped")
    check = subprocess.run([haproxy, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_kubernetes_deployment_service_ingress_and_class_redis():
    docs = _k8s()
    pod = docs["Deployment/lab-app"]["spec"]["template"]["spec"]["containers"][0]
    assert pod["command"] == COMMAND
    assert [p["containerPort"] for p in pod["ports"]] == [APP_PORT]
    for probe in ("readinessProbe", "livenessProbe"):
        assert pod[probe]["httpGet"] == {"path": HEALTH_PATH, "port": APP_PORT}
    env = {e["name"]: e for e in pod["env"]}
    assert set(env) <= set(REPLICA_ENV) and {"REDIS_URL", "LAB_INSTRUCTOR_PASSCODE"} <= set(env)
    assert env["LAB_INSTRUCTOR_PASSCODE"]["valueFrom"]["secretKeyRef"]["name"] == "lab-workshop"  # a Secret
    service = docs["Service/lab-redis"]["metadata"]["name"]
    assert env["REDIS_URL"]["value"] == f"redis://{service}:6379/0"
    assert docs["StatefulSet/lab-redis"]["spec"]["replicas"] == 1
    assert docs["Deployment/lab-app"]["spec"]["replicas"] >= 2
    assert docs["Service/lab-app"]["spec"]["ports"][0]["targetPort"] == APP_PORT
    notes = docs["Ingress/lab-app"]["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-name"] == STICKY_COOKIE
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600   # websockets stay open
    assert not any("change-me" in str(doc) for doc in docs.values())   # no passcode checked in
