"""duvo-mcp http against the official Python MCP SDK (mcp 2.3.x), a client nobody here wrote.

Run by tests/external/run.sh with:
  DUVO_MCP_URL        base URL of `duvo-mcp-conformance --demo` (crate conformance/) (no auth)
  DUVO_MCP_TOKEN_URL  base URL of `duvo-mcp http --demo` started with DUVO_MCP_AUTH_TOKEN
  DUVO_MCP_TOKEN      that token

Progress: the conformance fixture `test_tool_with_progress` reports a fixed 0/50/100 sequence, so
that assertion is exact; Duvo's own `runAssignment`/`waitForRun` report progress while they poll a
Job, checked separately (at least one notification; their count depends on the Job's timing).
"""

import asyncio
import os

import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

BASE = os.environ.get("DUVO_MCP_URL", "http://127.0.0.1:8787")
TOKEN_BASE = os.environ.get("DUVO_MCP_TOKEN_URL", "")
TOKEN = os.environ.get("DUVO_MCP_TOKEN", "")
MISSING_AGENT = "00000000-0000-4000-8000-000000000000"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


async def exercise(call_tool, list_tools):
    """The same checks for every client flavour: list, call, tool error, progress."""
    names = [t.name for t in (await list_tools()).tools]
    assert "listAgents" in names and "test_tool_with_progress" in names, names

    agents = await call_tool("listAgents", {"limit": 5})
    assert not agents.is_error, agents
    assert agents.structured_content["agents"], agents.structured_content

    missing = await call_tool("getAgent", {"agent_id": MISSING_AGENT})
    assert missing.is_error, missing
    assert "listAgents" in missing.content[0].text, missing.content[0].text

    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    done = await call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    assert not done.is_error
    assert [p for p, _ in seen] == [0, 50, 100], seen
    assert all(t == 100 for _, t in seen), seen


async def with_session(read, write):
    async with ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.server_info.name == "duvo-mcp"

        async def call(name, args, progress_callback=None):
            return await session.call_tool(name, args, progress_callback=progress_callback)

        await exercise(call, session.list_tools)


def test_streamable_http_session_low_level():
    async def main():
        async with streamable_http_client(f"{BASE}/mcp") as (read, write, *_):
            await with_session(read, write)

    run(main())


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
def test_streamable_http_client_modes(mode):
    async def main():
        async with Client(f"{BASE}/mcp", mode=mode) as client:
            await exercise(client.call_tool, client.list_tools)

    run(main())


def test_legacy_sse_transport():
    async def main():
        async with sse_client(f"{BASE}/sse") as (read, write):
            await with_session(read, write)

    run(main())


def test_duvo_tool_progress_over_http_and_sse():
    async def duvo_progress(call_tool, list_agents):
        agent = (await list_agents())["agents"][0]["id"]
        seen = []

        async def on_progress(progress, total, message):
            seen.append(message)

        r = await call_tool(
            "runAssignment",
            {"agent_id": agent, "message": "progress check", "wait_seconds": 2},
            progress_callback=on_progress,
        )
        assert not r.is_error, r
        assert r.structured_content["run_id"]
        assert seen and all(m.startswith("status ") for m in seen), seen

    async def main():
        async with Client(f"{BASE}/mcp", mode="2026-07-28") as client:
            async def agents():
                return (await client.call_tool("listAgents", {})).structured_content

            await duvo_progress(client.call_tool, agents)
        async with sse_client(f"{BASE}/sse") as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()

                async def call(name, args, progress_callback=None):
                    return await session.call_tool(name, args, progress_callback=progress_callback)

                async def agents():
                    return (await session.call_tool("listAgents", {})).structured_content

                await duvo_progress(call, agents)

    run(main())


def test_unknown_tool_is_a_protocol_error():
    async def main():
        async with Client(f"{BASE}/mcp", mode="2026-07-28") as client:
            with pytest.raises(Exception) as err:
                await client.call_tool("noSuchTool", {})
            assert "noSuchTool" in str(err.value)

    run(main())


@pytest.mark.skipif(not TOKEN_BASE, reason="no token-protected server given")
def test_token_protected_server():
    async def ok():
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx2.AsyncClient(headers=auth, timeout=30) as http:
            async with streamable_http_client(f"{TOKEN_BASE}/mcp", http_client=http) as (read, write, *_):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    agents = await session.call_tool("listAgents", {})
                    assert agents.structured_content["agents"]
        async with sse_client(f"{TOKEN_BASE}/sse", headers=auth) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                assert "listAgents" in [t.name for t in (await session.list_tools()).tools]

    async def refused():
        async with Client(f"{TOKEN_BASE}/mcp", mode="legacy") as client:
            await client.list_tools()

    run(ok())
    # Without the token the server answers 401; the SDK surfaces it as an error.
    with pytest.raises(BaseException):
        run(refused())
