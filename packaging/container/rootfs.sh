#!/usr/bin/env bash
# rootfs.sh BINARY OUT: lays out the container image's whole filesystem in OUT: the duvo-mcp
# binary, the shared libraries it links (from ldd, with the dynamic loader), the CA certificate
# bundle, and /etc/passwd + /etc/group naming the non-root user (65532). Used by the Dockerfile's
# build stage and by packaging/test.sh (which builds the image FROM scratch with podman).
set -euo pipefail
BIN="$1"
OUT="$2"
CA="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
[ -x "$BIN" ] || { echo "rootfs.sh: no binary at $BIN" >&2; exit 1; }
[ -s "$CA" ] || { echo "rootfs.sh: no CA bundle at $CA (install ca-certificates)" >&2; exit 1; }
rm -rf "$OUT"
mkdir -p "$OUT/usr/local/bin" "$OUT/etc/ssl/certs" "$OUT/tmp"
chmod 1777 "$OUT/tmp"
cp "$BIN" "$OUT/usr/local/bin/duvo-mcp"
chmod 755 "$OUT/usr/local/bin/duvo-mcp"
# Every absolute path ldd prints (libraries and the loader), copied to the same path; a static
# binary has none.
{ ldd "$BIN" || true; } | { grep -o '/[^ ]*' || true; } | sort -u | while read -r lib; do
  mkdir -p "$OUT$(dirname "$lib")"
  cp -L "$lib" "$OUT$lib"
done
cp "$CA" "$OUT/etc/ssl/certs/ca-certificates.crt"
echo "nonroot:x:65532:65532:nonroot:/tmp:/sbin/nologin" >"$OUT/etc/passwd"
echo "nonroot:x:65532:" >"$OUT/etc/group"
