# duvo-mcp container image: `duvo-mcp http` on 0.0.0.0:8787 (needs DUVO_MCP_AUTH_TOKEN, as any
# non-loopback listener does). Two stages: a Rust build, then a FROM-scratch runtime holding the
# binary, the libraries it links, CA certificates and a non-root user; nothing else (no shell).
#
#   docker build -t duvo-mcp .
#   docker run -p 8787:8787 -e DUVO_API_KEY=dv_… -e DUVO_MCP_AUTH_TOKEN=$(openssl rand -hex 32) duvo-mcp
#   docker run -i --rm -e DUVO_API_KEY=dv_… duvo-mcp stdio        # stdio, for MCP clients
#
# ROOTFS_FROM=prebuilt skips the Rust stage and takes the filesystem from the build context's
# dist/container-rootfs (made by packaging/container/rootfs.sh); packaging/test.sh builds it that
# way because base images can't be pulled on its machines.
ARG ROOTFS_FROM=build

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# git metadata is not in the build context: the release pipeline passes the commit.
ARG VERGEN_GIT_SHA=""
ENV VERGEN_GIT_SHA=${VERGEN_GIT_SHA}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && cargo build --release --locked \
 && bash packaging/container/rootfs.sh target/release/duvo-mcp /rootfs

FROM scratch AS prebuilt
COPY dist/container-rootfs/ /rootfs/

FROM ${ROOTFS_FROM} AS rootfs

FROM scratch
COPY --from=rootfs /rootfs/ /
# The MCP Registry checks this label against server.json's name (set at release).
ARG MCP_SERVER_NAME=io.github.OWNER/duvo-mcp
LABEL io.modelcontextprotocol.server.name="${MCP_SERVER_NAME}" \
      org.opencontainers.image.title="duvo-mcp" \
      org.opencontainers.image.description="MCP server for the Duvo Public API" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    DUVO_MCP_LOG=warn,duvo_mcp=info
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=6s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/duvo-mcp", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/duvo-mcp"]
CMD ["http", "--listen", "0.0.0.0:8787"]
