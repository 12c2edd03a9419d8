#!/usr/bin/env python3
"""Starts an MCP server over stdio with the official Python `mcp` SDK, lists its tools and
optionally calls one; prints one JSON object: {"tools": [names], "call": result or null}.

  mcp_probe.py SPEC_JSON

SPEC_JSON: {"command": str, "args": [str], "env": {str: str},
            "call": {"name": str, "arguments": {...}} (optional)}
Exit 1 if the server can't be started, the handshake or a request fails, or the call returns
isError. Runs with .ci/venv's Python (the pinned `mcp` SDK).
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def probe(spec: dict) -> dict:
    params = StdioServerParameters(command=spec["command"], args=spec.get("args", []), env=spec.get("env"))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = [t.name for t in (await session.list_tools()).tools]
            call = None
            if "call" in spec:
                result = await session.call_tool(spec["call"]["name"], spec["call"].get("arguments", {}))
                text = "".join(c.text for c in result.content if getattr(c, "text", None))
                if result.is_error:
                    sys.exit(f"mcp_probe: {spec['call']['name']} failed: {text}")
                call = text
            return {"tools": tools, "call": call}


def main() -> None:
    spec = json.loads(sys.argv[1])
    out = asyncio.run(asyncio.wait_for(probe(spec), timeout=60))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
