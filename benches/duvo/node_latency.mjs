// Per-call latency of `/mcp` as a Node client sees it: the TypeScript SDK's
// StreamableHTTPClientTransport (what mcp-remote and Node-based hosts use). Guards against the
// ~40 ms delayed-ACK stall that a missing TCP_NODELAY caused on every response.
//
// Usage: node node_latency.mjs <http://host:port/mcp> <calls>
// Prints one JSON object: {"sdk": version, "tools_list_ms": [...], "ping_ms": [...]}.
// Run by `cargo bench --bench duvo` with NODE_PATH pointing at tests/external/node_modules.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const [url, callsArg] = process.argv.slice(2);
const calls = Number(callsArg ?? "30");
if (!url || !Number.isFinite(calls) || calls < 1) {
  console.error("usage: node node_latency.mjs <url> <calls>");
  process.exit(2);
}
const sdkDir = (process.env.NODE_PATH ?? "")
  .split(":")
  .filter(Boolean)
  .map((dir) => join(dir, "@modelcontextprotocol", "sdk"))
  .find((dir) => existsSync(join(dir, "package.json")));
if (!sdkDir) {
  console.error("no @modelcontextprotocol/sdk on NODE_PATH");
  process.exit(2);
}
const { Client } = await import(join(sdkDir, "dist/esm/client/index.js"));
const { StreamableHTTPClientTransport } = await import(
  join(sdkDir, "dist/esm/client/streamableHttp.js")
);
const version = require(join(sdkDir, "package.json")).version;

const client = new Client({ name: "duvo-bench-node", version: "1" });
await client.connect(new StreamableHTTPClientTransport(new URL(url)));
const time = async (f) => {
  const out = [];
  for (let i = 0; i < calls + 3; i++) {
    const t0 = process.hrtime.bigint();
    await f();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= 3) out.push(ms); // the first calls warm up the connection
  }
  return out;
};
const toolsList = await time(() => client.listTools());
const ping = await time(() => client.ping());
await client.close();
console.log(JSON.stringify({ sdk: version, tools_list_ms: toolsList, ping_ms: ping }));
