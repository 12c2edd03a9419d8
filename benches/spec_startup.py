"""Start-up with the spec loaded in the background vs the bundled catalog alone: time from spawning
`duvo-mcp stdio --demo` to its `initialize` answer and its first `tools/list` answer, runs
interleaved. Usage: python3 benches/spec_startup.py RUNS [BINARY]"""
import json, subprocess, sys, time, statistics, os
B = sys.argv[2] if len(sys.argv) > 2 else "target/debug/duvo-mcp"
def once(extra, env):
    t0 = time.perf_counter()
    p = subprocess.Popen([B, "stdio", "--demo"] + extra, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    def send(o): p.stdin.write((json.dumps(o) + "\n").encode()); p.stdin.flush()
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "m", "version": "0"}}})
    p.stdout.readline(); t_init = time.perf_counter() - t0
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    while True:
        line = json.loads(p.stdout.readline())
        if line.get("id") == 2: break
    t_list = time.perf_counter() - t0
    p.kill(); p.wait()
    return t_init, t_list
env = dict(os.environ); env.pop("DUVO_OPENAPI_URL", None)
res = {"bundled (as before)": [], "spec loaded in background": []}
for _ in range(int(sys.argv[1])):
    res["spec loaded in background"].append(once([], env))
    res["bundled (as before)"].append(once(["--bundled-spec"], env))
for label, rs in res.items():
    print(f"{label}: initialize median {statistics.median(r[0] for r in rs)*1000:.0f} ms, first tools/list median {statistics.median(r[1] for r in rs)*1000:.0f} ms (n={len(rs)})")
