#!/usr/bin/env node
// Launcher for the duvo-mcp binary (the esbuild/biome pattern): npm installs the one
// @duvo-mcp/<platform>-<arch> package that matches this machine (they are optionalDependencies
// with "os" and "cpu" set); this script finds its binary and runs it with stdio inherited, so
// stdout stays the MCP JSON-RPC channel. Exit code and signals are passed through.
"use strict";

const { spawn } = require("node:child_process");
const path = require("node:path");

const PLATFORMS = {
  "linux-x64": "@duvo-mcp/linux-x64",
  "linux-arm64": "@duvo-mcp/linux-arm64",
  "darwin-x64": "@duvo-mcp/darwin-x64",
  "darwin-arm64": "@duvo-mcp/darwin-arm64",
  "win32-x64": "@duvo-mcp/win32-x64",
};

function binaryPath() {
  if (process.env.DUVO_MCP_BINARY) return process.env.DUVO_MCP_BINARY;
  const key = `${process.platform}-${process.arch}`;
  const pkg = PLATFORMS[key];
  if (!pkg) {
    throw new Error(
      `duvo-mcp has no prebuilt binary for ${key}. Supported: ${Object.keys(PLATFORMS).join(", ")}. ` +
        "Build from source with `cargo install --path .` and run that binary instead.",
    );
  }
  const exe = process.platform === "win32" ? "duvo-mcp.exe" : "duvo-mcp";
  try {
    return require.resolve(`${pkg}/bin/${exe}`);
  } catch {
    throw new Error(
      `the package ${pkg} is not installed (npm skips optional dependencies with ` +
        "--no-optional / --omit=optional, and some lockfiles pin another platform's). " +
        `Reinstall without those options, or install ${pkg} alongside duvo-mcp.`,
    );
  }
}

let bin;
try {
  bin = binaryPath();
} catch (e) {
  process.stderr.write(`duvo-mcp: ${e.message}\n`);
  process.exit(1);
}

const child = spawn(bin, process.argv.slice(2), { stdio: "inherit", windowsHide: true });

// Forward termination signals to the server so it can drain and exit on its own.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}

child.on("error", (e) => {
  process.stderr.write(`duvo-mcp: cannot start ${path.basename(bin)}: ${e.message}\n`);
  process.exit(1);
});

child.on("exit", (code, signal) => {
  if (signal) {
    // Die of the same signal, so the parent sees what happened to the server.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else {
    process.exit(code ?? 1);
  }
});
