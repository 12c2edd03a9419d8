"""Evaluates an assertion on the MCP Inspector CLI's `--format json` output (used by run.sh).

argv: stdout file, stderr file, Python expression over `r` (the `result`, or the `{"error": …}`
object the Inspector prints on stderr when a call fails)."""

import json
import sys

out_path, err_path, check = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(out_path, encoding="utf-8").read().strip()
if not text:
    lines = open(err_path, encoding="utf-8").read().splitlines()
    text = next((line for line in lines if line.startswith('{"error"')), "")
doc = json.loads(text)
r = doc.get("result", doc)
if not eval(check, {}, {"r": r}):  # the expression is written in run.sh, not taken from input
    sys.exit(f"assertion failed: {check}\n{json.dumps(r)[:800]}")
