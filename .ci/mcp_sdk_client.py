"""Two MCP sessions at once with the official MCP Python SDK client (`mcp` on PyPI)
against `incident-env serve` at the URL given as the only argument.

Each session initializes over streamable HTTP, lists the tools, resets to its own task,
steps a different number of times, and reads its state: the two must not see each
other's episode, and the server's shared HTTP episode must stay where it was. A refused
tool call must come back as an `isError` result. Exits non-zero on any failure.
"""

import asyncio
import json
import sys
import urllib.request

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def http_state(base):
    with urllib.request.urlopen(base + "/state", timeout=10) as response:
        return json.load(response)


def is_error(result):
    """A tool result's error flag (`is_error` in SDK 2.x, `isError` in 1.x)."""
    return getattr(result, "is_error", getattr(result, "isError", None))


def structured(result):
    """The JSON a tool returned (its text content, parsed)."""
    return json.loads(result.content[0].text)


async def play(url, task, steps, barrier):
    ids = set()

    async def remember(response):
        if "mcp-session-id" in response.headers:
            ids.add(response.headers["mcp-session-id"])

    http = httpx2.AsyncClient(timeout=30, event_hooks={"response": [remember]})
    async with http, streamable_http_client(url, http_client=http) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            names = {tool.name for tool in (await session.list_tools()).tools}
            assert {"reset", "step", "state", "read_logs"} <= names, names
            reset = await session.call_tool("reset", {"task_id": task, "seed": 7})
            assert is_error(reset) is False, reset
            await barrier.wait()  # both sessions are open and reset before anyone steps
            for _ in range(steps):
                step = await session.call_tool("list_services", {})
                assert is_error(step) is False, step
            bad = await session.call_tool("step", {"action_type": "reboot"})
            assert is_error(bad) is True, "a refused action must be an isError result"
            state = structured(await session.call_tool("state", {}))
            assert len(ids) == 1, ids
            return ids.pop(), state


async def main(base):
    url = base + "/mcp"
    before = http_state(base)
    barrier = asyncio.Barrier(2)
    runs = [play(url, "hard_task", 3, barrier), play(url, "easy_task", 1, barrier)]
    (id_a, state_a), (id_b, state_b) = await asyncio.wait_for(asyncio.gather(*runs), 60)
    assert id_a and id_b and id_a != id_b, (id_a, id_b)
    assert (state_a["task_id"], state_a["step_count"]) == ("hard_task", 3), state_a
    assert (state_b["task_id"], state_b["step_count"]) == ("easy_task", 1), state_b
    assert http_state(base) == before, "an MCP session moved the shared HTTP episode"
    print(f"mcp-probe: PASS: two SDK sessions {id_a[:8]}.. and {id_b[:8]}.. kept apart")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].rstrip("/")))
