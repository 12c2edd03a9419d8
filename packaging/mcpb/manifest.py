#!/usr/bin/env python3
"""Writes the MCP Bundle manifest.json for duvo-mcp.

Usage: manifest.py BINARY VERSION BUNDLE_DIR PLATFORMS

BINARY is a duvo-mcp build that runs on this machine: the tools and prompts declared in the
manifest come from it (`duvo-mcp tools --json` and `prompts/list` over stdio --demo), so the
listing can't drift from what the server offers. BUNDLE_DIR/server/ holds the binaries to ship:
`duvo-mcp` (Linux or macOS) and/or `duvo-mcp.exe` (Windows); PLATFORMS (comma-separated: linux,
darwin, win32) names the platforms they cover. Python standard library only.
"""

import json
import subprocess
import sys
from pathlib import Path


def tools(binary: str) -> list[dict]:
    """The default tools/list (what a fresh install shows), name and description."""
    out = subprocess.run([binary, "tools", "--json"], check=True, capture_output=True, text=True)
    return [{"name": t["name"], "description": t["description"]} for t in json.loads(out.stdout)]


def prompts(binary: str) -> list[dict]:
    """The server's prompts from `prompts/list` over stdio (--demo: no key, no network)."""
    frames = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "duvo-mcp-packaging", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "prompts/list"},
    ]
    proc = subprocess.Popen([binary, "stdio", "--demo"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin and proc.stdout
    for frame in frames:
        proc.stdin.write(json.dumps(frame) + "\n")
    proc.stdin.flush()
    listed = None
    for line in proc.stdout:
        msg = json.loads(line)
        if msg.get("id") == 2:
            listed = msg
            break
    proc.stdin.close()
    proc.wait(timeout=30)
    if listed is None or "result" not in listed:
        sys.exit(f"manifest.py: prompts/list failed: {listed}")
    result = []
    for p in listed["result"]["prompts"]:
        args = [a["name"] for a in p.get("arguments", [])]
        # The manifest's text is a summary for the listing; the server builds the real prompt
        # (with the Job's, Queue's or Assignment's data) when the client asks for it.
        text = p["description"] + "".join(f" {a}: ${{arguments.{a}}}." for a in args)
        result.append({"name": p["name"], "description": p["description"], "arguments": args, "text": text})
    return result


def main() -> None:
    binary, version, bundle = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    platforms = [p for p in sys.argv[4].split(",") if p]
    unix = (bundle / "server" / "duvo-mcp").exists()
    windows = (bundle / "server" / "duvo-mcp.exe").exists()
    if not (unix or windows):
        sys.exit(f"manifest.py: no binary in {bundle / 'server'}")
    # One file for Linux or macOS (a universal binary on macOS: a bundle can't pick by CPU), and
    # Windows gets its .exe through platform_overrides.
    entry = "server/duvo-mcp" if unix else "server/duvo-mcp.exe"
    mcp_config = {
        "command": "${__dirname}/" + entry,
        "args": ["stdio", "--allow-dir", "${user_config.allowed_directories}"],
        "env": {
            "DUVO_API_KEY": "${user_config.api_key}",
            "DUVO_TEAM_ID": "${user_config.team_id}",
            "DUVO_TOOLSETS": "${user_config.toolsets}",
            "DUVO_READ_ONLY": "${user_config.read_only}",
        },
    }
    if unix and windows:
        mcp_config["platform_overrides"] = {"win32": {"command": "${__dirname}/server/duvo-mcp.exe"}}
    manifest = {
        "manifest_version": "0.3",
        "name": "duvo-mcp",
        "display_name": "Duvo",
        "version": version,
        "description": "Run Duvo Assignments as Jobs, push Cases to Queues and manage Skills from Claude.",
        "long_description": (
            "duvo-mcp puts the Duvo Public API in Claude's hands: start Assignments (Jobs) and wait "
            "for them, answer their approvals and questions, push Cases to Queues in bulk, sync "
            "Skills from a local folder, and reach every other Duvo operation through searchTools "
            "and callTool. Your API key is stored by Claude Desktop and never leaves the server "
            "except as the Authorization header to Duvo."
        ),
        "author": {"name": "duvo-mcp contributors"},
        "license": "Apache-2.0",
        "keywords": ["duvo", "automation", "agents", "queues", "jobs"],
        "server": {"type": "binary", "entry_point": entry, "mcp_config": mcp_config},
        "tools": tools(binary),
        "tools_generated": True,
        "prompts": prompts(binary),
        "compatibility": {"platforms": platforms},
        "user_config": {
            "api_key": {
                "type": "string", "title": "Duvo API key", "sensitive": True, "required": True,
                "description": "Team API key (dv_…) from Duvo: Team Settings → API Keys.",
            },
            "team_id": {
                "type": "string", "title": "Team id", "required": False, "default": "",
                "description": "Team for team-scoped calls. Leave empty: it is looked up from the key.",
            },
            "allowed_directories": {
                "type": "directory", "title": "Allowed directories", "multiple": True,
                "required": False, "default": [],
                "description": "Folders whose files Claude may upload to Duvo sandboxes, sync as "
                               "Skills or download Skills into. None by default.",
            },
            "toolsets": {
                "type": "string", "title": "Toolsets", "required": False, "default": "default",
                "description": "Comma-separated toolsets to list (default: assignments, jobs; "
                               "'all' lists every Duvo operation). The rest stay reachable "
                               "through searchTools and callTool.",
            },
            "read_only": {
                "type": "boolean", "title": "Read-only", "required": False, "default": False,
                "description": "Offer only tools that change nothing in Duvo.",
            },
        },
    }
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
