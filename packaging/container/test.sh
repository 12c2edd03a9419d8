#!/usr/bin/env bash
# Container image check with podman (run by packaging/test.sh where podman is installed).
# Base images can't be pulled here, so the image is built from the Dockerfile with
# ROOTFS_FROM=prebuilt: its runtime stage FROM scratch, filled by rootfs.sh from the release
# binary. Then: the image config (non-root user, entrypoint + default command, HEALTHCHECK, MCP
# label) is inspected, and the image's own filesystem is run with chroot as the image's user,
# because this sandbox's podman can't start containers (no CAP_SYS_RESOURCE for crun's rlimits,
# hybrid cgroups). Not covered here: the Rust build stage, `podman run` networking, multi-arch.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
IMAGE="localhost/duvo-mcp:packaging-test"
BIN="$TARGET_DIR/release/duvo-mcp"
NAME="$(python3 -c 'import json; print(json.load(open("server.json"))["name"])')"

bash packaging/container/rootfs.sh "$BIN" dist/container-rootfs
DANGLING_BEFORE="$(podman images -q --filter dangling=true | sort)"
podman build --quiet --format docker --build-arg ROOTFS_FROM=prebuilt -t "$IMAGE" . >/dev/null
rm -rf dist/container-rootfs
MNT=""
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  [ -n "$MNT" ] && podman image unmount "$IMAGE" >/dev/null
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  # The build leaves its intermediate stage as an untagged image: remove the ones it added.
  comm -13 <(echo "$DANGLING_BEFORE") <(podman images -q --filter dangling=true | sort) |
    xargs -r podman rmi -f >/dev/null 2>&1 || true
}
trap cleanup EXIT

CONFIG="$(podman image inspect --format json "$IMAGE")"
python3 - "$CONFIG" "$NAME" <<'PYEOF'
import json, sys
(img,) = json.loads(sys.argv[1]); c = img["Config"]
assert c["User"] == "65532:65532", c["User"]
assert c["Entrypoint"] == ["/usr/local/bin/duvo-mcp"] and c["Cmd"] == ["http", "--listen", "0.0.0.0:8787"], c
assert c["Labels"]["io.modelcontextprotocol.server.name"] == sys.argv[2], c["Labels"]
hc = img.get("Healthcheck") or c.get("Healthcheck")
assert hc and hc["Test"] == ["CMD", "/usr/local/bin/duvo-mcp", "healthcheck"], hc
assert any(e.startswith("SSL_CERT_FILE=") for e in c["Env"]), c["Env"]
print("config: user 65532, entrypoint + cmd, label, healthcheck", img["Size"] // 1024, "KiB")
PYEOF

MNT="$(podman image mount "$IMAGE")"
[ -s "$MNT/etc/ssl/certs/ca-certificates.crt" ]
mapfile -t IMAGE_ENV < <(python3 -c 'import json,sys; print("\n".join(json.loads(sys.argv[1])[0]["Config"]["Env"]))' "$CONFIG")
ENV=(env -i "${IMAGE_ENV[@]}")
RUN=(chroot --userspec=65532:65532 "$MNT")
# The default command, without a token, refuses to listen on 0.0.0.0 and says why.
if "${ENV[@]}" "${RUN[@]}" /usr/local/bin/duvo-mcp http --listen 0.0.0.0:8787 2>"$TARGET_DIR/container-default.log"; then
  echo "the default command started without a token" >&2
  exit 1
fi
grep -qi "token" "$TARGET_DIR/container-default.log"
# With a token, on a loopback port: /healthz through the image's HEALTHCHECK command.
PORT=$((20000 + RANDOM % 20000))
"${ENV[@]}" DUVO_MCP_AUTH_TOKEN=packaging-test-token-0123456789 "${RUN[@]}" \
  /usr/local/bin/duvo-mcp http --demo --listen "127.0.0.1:$PORT" 2>"$TARGET_DIR/container-http.log" &
PID=$!
for _ in $(seq 100); do
  grep -q "listening on" "$TARGET_DIR/container-http.log" && break
  sleep 0.1
done
"${ENV[@]}" "${RUN[@]}" /usr/local/bin/duvo-mcp healthcheck --url "http://127.0.0.1:$PORT/healthz"
echo "the image's filesystem runs as 65532: default command refuses without a token, healthcheck passes"
