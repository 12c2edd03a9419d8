"""One-line summary of a `conformance server --requirements REV` console log (stdin, colours
stripped): the scored scenarios (the `server:` list of the requirement set, argv[1]) and their
checks, and the scenarios that ran but are not scored for REV (extensions, pending)."""

import re
import sys


def scored_scenarios(path):
    """The `server:` list of a requirement-set YAML file (a flat list of names)."""
    names, inside = [], False
    for line in open(path, encoding="utf-8"):
        if re.match(r"^server:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+-\s+([\w./-]+)\s*$", line)
            if m:
                names.append(m.group(1))
            elif line.strip() and not line.lstrip().startswith("#"):
                break
    return names


required = scored_scenarios(sys.argv[1])
results = {}
total = ""
for line in sys.stdin:
    m = re.match(r"^([✓✗]) (\S+): (\d+) passed, (\d+) failed$", line.rstrip("\n"))
    if m:
        results[m.group(2)] = (int(m.group(3)), int(m.group(4)))
    m = re.match(r"^Total: (\d+) passed, (\d+) failed", line)
    if m:
        total = f"{m.group(1)} passed, {m.group(2)} failed"

missing = [s for s in required if s not in results]
scored = {k: v for k, v in results.items() if k in required}
bad = sorted(k for k, (_, f) in scored.items() if f) + missing
passed = sum(p for p, _ in scored.values())
failed = sum(f for _, f in scored.values())
out = (
    f"scored {len(required) - len(bad)}/{len(required)} scenarios, "
    f"{passed} checks passed, {failed} failed"
)
if bad:
    out += f" (failing or missing: {', '.join(bad)})"
others = {k: v for k, v in results.items() if k not in required}
if others:
    failing = sorted(k for k, (_, f) in others.items() if f)
    out += f"; not scored: {len(others)} run, {len(failing)} failing"
    if failing:
        out += f" ({', '.join(failing)})"
if total:
    out += f"; all checks run: {total}"
print(out)
