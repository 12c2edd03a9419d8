"""Every tool in a `duvo-mcp tools --json` file must be accepted by the Python MCP SDK: its Tool
model parses it, and its inputSchema is a valid JSON Schema 2020-12 (jsonschema, as the SDK uses).

Usage: python validate_generated.py TOOLS.json   (exit 1 and one line per problem on failure)
"""
import json
import sys

import jsonschema
from mcp import types

tools = json.load(open(sys.argv[1]))
problems = []
for t in tools:
    try:
        types.Tool.model_validate(
            {k: t[k] for k in ("name", "title", "description", "inputSchema", "annotations") if k in t}
        )
        jsonschema.Draft202012Validator.check_schema(t["inputSchema"])
        jsonschema.Draft202012Validator(t["inputSchema"], format_checker=jsonschema.FormatChecker())
    except Exception as e:  # noqa: BLE001 - report every kind of refusal
        problems.append(f"{t.get('name')}: {e}")
for p in problems:
    print(p)
print(f"python sdk: {len(tools) - len(problems)}/{len(tools)} tools accepted")
sys.exit(1 if problems or not tools else 0)
