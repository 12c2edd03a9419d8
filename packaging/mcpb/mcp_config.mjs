// node mcp_config.mjs BUNDLE_DIR USER_CONFIG_JSON: prints the command, args and env that an MCP
// Bundle host starts for this unpacked bundle and these user_config values, computed by the
// pinned @anthropic-ai/mcpb library's own getMcpConfigForManifest (the substitution hosts use:
// ${__dirname}, ${user_config.*} with multi-value directories expanded into separate arguments).
import { readFileSync } from "node:fs";
import path from "node:path";
import { getMcpConfigForManifest } from "../tools/node_modules/@anthropic-ai/mcpb/dist/index.js";

const [dir, userConfig] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(path.join(dir, "manifest.json"), "utf8"));
const config = await getMcpConfigForManifest({
  manifest,
  extensionPath: path.resolve(dir),
  systemDirs: { HOME: process.env.HOME ?? "/tmp" },
  userConfig: JSON.parse(userConfig),
  pathSeparator: path.sep,
});
if (!config) {
  console.error("mcp_config: the bundle host would not start this server (required user_config missing?)");
  process.exit(1);
}
console.log(JSON.stringify(config));
