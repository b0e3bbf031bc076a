"""deploy/haproxy/haproxy.cfg in front of two `incident-env serve` replicas, with real
clients: WebSocket sessions (`websockets`), the HTTP routes with and without cookies, MCP
sessions, and the health checks taking a stopped replica out and back in.

Run by deploy/proxy-test.sh (which installs HAProxy and the venv); everything listens on
loopback ports picked here, and every process started here is stopped at the end.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

CONFIG = Path(__file__).resolve().parent / "haproxy" / "haproxy.cfg"
BIN = os.environ.get("INCIDENT_ENV_BIN", "target/release/incident-env")
HAPROXY = os.environ.get("HAPROXY_BIN", "haproxy")
#: Seconds any single wait in this file may take.
WAIT_S = 15.0
#: Seconds one request may take.
REQUEST_S = 10.0
#: The actions every WebSocket session plays (the same list on every session).
ACTIONS = [
    {"action_type": "list_services"},
    {"action_type": "read_logs", "service": "database"},
    {"action_type": "query_metrics", "service": "api_gateway"},
    {"action_type": "inspect_dependencies", "service": "order_service"},
    {"action_type": "read_logs", "service": "cache"},
]
#: (task_id, seed) of the sessions opened at once: two per replica.
RESETS = [("hard_task", 7), ("gen_hard", 3), ("expert_task", 11), ("gen_medium", 5)]
#: Client addresses (all loopback) for the cookieless HTTP clients.
SOURCES = [f"127.0.0.{n}" for n in range(2, 10)]


def free_port() -> int:
    """Return a loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, check: Any) -> Any:
    """Poll ``check()`` until it returns something truthy, for at most ``WAIT_S`` seconds."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {WAIT_S} s waiting for {what}")


class Http:
    """An HTTP client with an optional cookie jar (one cookie per name) and a fixed source
    address: one request per connection, as a simple client would send them."""

    def __init__(self, port: int, source: str = "127.0.0.1", cookies: bool = False) -> None:
        self.port, self.source = port, source
        self.jar: Optional[dict[str, str]] = {} if cookies else None

    def call(
        self, method: str, path: str, body: Any = None, headers: Optional[dict[str, str]] = None
    ) -> tuple[int, http.client.HTTPMessage, Any]:
        """Send one request; return ``(status, headers, parsed JSON body or None)``."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=REQUEST_S, source_address=(self.source, 0)
        )
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/json"
        if self.jar:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        try:
            conn.request(method, path, None if body is None else json.dumps(body), sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if self.jar is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.jar[name.strip()] = rest.split(";")[0]
        return response.status, response.headers, json.loads(data) if data else None


class Cluster:
    """Two replicas and HAProxy, each started and stopped here."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = {"a": free_port(), "b": free_port()}
        self.proxy_port = free_port()
        self.socket_path = str(workdir / "haproxy.sock")
        self.replicas: dict[str, subprocess.Popen[bytes]] = {}
        self.haproxy: Optional[subprocess.Popen[bytes]] = None

    def start_replica(self, name: str) -> None:
        """Start replica ``name`` on its port and wait for its /health."""
        log = open(self.workdir / f"replica-{name}.log", "ab")
        port = self.ports[name]
        self.replicas[name] = subprocess.Popen(
            [BIN, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(f"replica {name} /health", lambda: self.healthy_direct(port))

    def healthy_direct(self, port: int) -> bool:
        """Whether the replica on ``port`` answers /health with 200."""
        try:
            return Http(port).call("GET", "/health")[0] == 200
        except OSError:
            return False

    def stop_replica(self, name: str) -> None:
        """Stop replica ``name`` (SIGTERM, as a deployment would) and wait for it."""
        process = self.replicas.pop(name)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=WAIT_S)

    def start_haproxy(self) -> None:
        """Start HAProxy on the config file and wait for both replicas to be UP."""
        env = dict(
            os.environ,
            PROXY_BIND=f"127.0.0.1:{self.proxy_port}",
            REPLICA_A=f"127.0.0.1:{self.ports['a']}",
            REPLICA_B=f"127.0.0.1:{self.ports['b']}",
            HAPROXY_SOCKET=self.socket_path,
        )
        log = open(self.workdir / "haproxy.log", "ab")
        self.haproxy = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(CONFIG)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        self.wait_status("a", "UP")
        self.wait_status("b", "UP")

    def haproxy_alive(self) -> None:
        """Raise with HAProxy's log if it has exited."""
        if self.haproxy is not None and self.haproxy.poll() is not None:
            log = (self.workdir / "haproxy.log").read_text()
            raise AssertionError(f"haproxy exited ({self.haproxy.returncode}):\n{log}")

    def status(self, name: str) -> str:
        """The health status HAProxy shows for replica ``name`` (``UP``, ``DOWN``, ...)."""
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(REQUEST_S)
                sock.connect(self.socket_path)
                sock.sendall(b"show stat\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except OSError:
            return "no socket"
        rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
        for row in rows:
            if row["pxname"] == "shared" and row["svname"] == name:
                return row["status"]
        return "missing"

    def wait_status(self, name: str, status: str) -> None:
        """Wait until HAProxy shows replica ``name`` as ``status``."""
        def reached() -> bool:
            self.haproxy_alive()
            return self.status(name) == status

        wait_for(f"replica {name} {status} in HAProxy", reached)

    def ws(self) -> ClientConnection:
        """Open a WebSocket session through the proxy (use it in a ``with``)."""
        return connect(
            f"ws://127.0.0.1:{self.proxy_port}/ws", open_timeout=REQUEST_S, close_timeout=2
        )

    def stop(self) -> None:
        """Stop HAProxy and the replicas."""
        for process in [self.haproxy, *self.replicas.values()]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=WAIT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Two replicas behind HAProxy, stopped after the module's tests."""
    with tempfile.TemporaryDirectory(prefix="incident-proxy-") as workdir:
        running = Cluster(Path(workdir))
        try:
            running.start_replica("a")
            running.start_replica("b")
            running.start_haproxy()
            yield running
        finally:
            running.stop()


def replica(session: ClientConnection) -> str:
    """The replica that accepted a WebSocket session (the proxy's 101 header)."""
    assert session.response is not None
    return session.response.headers["X-Incident-Replica"]


def ask(session: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    """Send one WebSocket message and return the parsed reply."""
    session.send(json.dumps(message))
    reply = json.loads(session.recv(timeout=REQUEST_S))
    assert reply["type"] != "error", reply
    return reply["data"]


def play(session: ClientConnection, task: str, seed: int) -> list[Any]:
    """Reset ``session`` and play every action; return the rewards."""
    ask(session, {"type": "reset", "data": {"task_id": task, "seed": seed}})
    return [ask(session, {"type": "step", "data": a})["reward"] for a in ACTIONS]


def test_websocket_sessions_spread_and_keep_their_episodes(cluster: Cluster) -> None:
    # Goal: four sessions at once land two per replica (leastconn), their steps interleave,
    # and each one's episode is exactly what a direct connection to a replica plays.
    with ExitStack() as stack:
        opened = [stack.enter_context(cluster.ws()) for _ in RESETS]
        assert Counter(map(replica, opened)) == {"a": 2, "b": 2}
        for session, (task, seed) in zip(opened, RESETS):
            ask(session, {"type": "reset", "data": {"task_id": task, "seed": seed}})
        rewards: list[list[Any]] = [[] for _ in opened]
        for action in ACTIONS:
            for i, session in enumerate(opened):
                rewards[i].append(ask(session, {"type": "step", "data": action})["reward"])
        for i, (session, (task, seed)) in enumerate(zip(opened, RESETS)):
            state = ask(session, {"type": "state"})
            assert (state["task_id"], state["step_count"]) == (task, len(ACTIONS))
            with connect(f"ws://127.0.0.1:{cluster.ports['a']}/ws") as direct:
                assert rewards[i] == play(direct, task, seed), task


def test_http_cookie_pins_a_client_to_one_shared_episode(cluster: Cluster) -> None:
    # Goal: the first answer sets INCIDENT_REPLICA; with it every request reaches the same
    # replica's shared episode, whose state counts every step.
    client = Http(cluster.proxy_port, cookies=True)
    status, headers, _ = client.call("POST", "/reset", {"task_id": "hard_task", "seed": 42})
    owner = headers["X-Incident-Replica"]
    assert status == 200 and client.jar == {"INCIDENT_REPLICA": owner}
    for action in ACTIONS:
        status, headers, _ = client.call("POST", "/step", {"action": action})
        assert (status, headers["X-Incident-Replica"]) == (200, owner)
    _, _, state = client.call("GET", "/state")
    assert (state["task_id"], state["step_count"]) == ("hard_task", len(ACTIONS))
    direct = Http(cluster.ports[owner]).call("GET", "/state")[2]
    assert direct["step_count"] == len(ACTIONS)


def test_http_without_cookies_sticks_by_client_address(cluster: Cluster) -> None:
    # Goal: a cookieless client (curl, `incident-env run --env-url`) always reaches the
    # same replica from the same address; different addresses use both replicas.
    seen: dict[str, str] = {}
    for source in SOURCES:
        client = Http(cluster.proxy_port, source=source)
        names = {client.call("GET", "/health")[1]["X-Incident-Replica"] for _ in range(3)}
        assert len(names) == 1, (source, names)
        seen[source] = names.pop()
    assert set(seen.values()) == {"a", "b"}, seen
    for name in ("a", "b"):
        source = next(s for s, n in seen.items() if n == name)
        client = Http(cluster.proxy_port, source=source)
        client.call("POST", "/reset", {"task_id": "gen_easy", "seed": 2})
        for action in ACTIONS[:3]:
            assert client.call("POST", "/step", action)[0] == 200
        assert client.call("GET", "/state")[2]["step_count"] == 3


def mcp(client: Http, body: dict[str, Any], session: Optional[str] = None) -> Any:
    """POST one JSON-RPC message to /mcp; return ``(status, headers, body)``."""
    headers = {"Accept": "application/json, text/event-stream"}
    if session:
        headers["Mcp-Session-Id"] = session
    return client.call("POST", "/mcp", body, headers)


def test_mcp_sessions_stick_to_the_replica_that_opened_them(cluster: Cluster) -> None:
    # Goal: two MCP sessions open on different replicas (round robin); every later request
    # naming a session id reaches its replica (elsewhere the id is unknown: 404), also
    # several in a row, which round robin alone would spread over both.
    client = Http(cluster.proxy_port)
    sessions: dict[str, str] = {}
    for _ in range(2):
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-03-26",
                "capabilities": {},
                "clientInfo": {"name": "proxy-test", "version": "0"},
            },
        }
        status, headers, _ = mcp(client, init)
        assert status == 200
        sessions[headers["Mcp-Session-Id"]] = headers["X-Incident-Replica"]
    assert sorted(sessions.values()) == ["a", "b"]
    for session, owner in sessions.items():
        for step in range(1, 5):
            call = {
                "jsonrpc": "2.0",
                "id": step,
                "method": "tools/call",
                "params": {"name": "read_logs", "arguments": {"service": "database"}},
            }
            status, headers, body = mcp(client, call, session)
            assert (status, headers["X-Incident-Replica"]) == (200, owner), body
            observation = body["result"]["structuredContent"]["observation"]
            assert observation["step_number"] == step


def test_health_checks_take_a_stopped_replica_out_and_back(cluster: Cluster) -> None:
    # Goal: a stopped replica is marked DOWN within the check budget; its WebSocket session
    # ends, new sessions and its pinned HTTP clients reach the other one; restarted, it is
    # UP again and takes new sessions.
    with cluster.ws() as first, cluster.ws() as second:
        on_b = first if replica(first) == "b" else second
        assert replica(on_b) == "b"
        pinned = Http(cluster.proxy_port, cookies=True)
        pinned.jar = {"INCIDENT_REPLICA": "b"}
        cluster.stop_replica("b")
        cluster.wait_status("b", "DOWN")
        with pytest.raises(ConnectionClosed):
            ask(on_b, {"type": "state"})
    for _ in range(3):
        with cluster.ws() as session:
            assert replica(session) == "a"
            assert play(session, "easy_task", 1)[0] is not None
    status, headers, _ = pinned.call("GET", "/state")
    assert (status, headers["X-Incident-Replica"]) == (200, "a")
    cluster.start_replica("b")
    cluster.wait_status("b", "UP")
    # With a session open on one replica, leastconn sends the next one to the other.
    with cluster.ws() as held, cluster.ws() as session:
        assert sorted([replica(held), replica(session)]) == ["a", "b"]
