// Every tool in a `duvo-mcp tools --json` file must be accepted by the TypeScript MCP SDK: its
// Tool schema parses it, and its inputSchema compiles with the SDK's own AjvJsonSchemaValidator
// and with a strict Ajv (strict: true, ajv-formats), which refuses unknown keywords and formats.
//
// Usage: node validate_generated.cjs TOOLS.json   (exit 1 and one line per problem on failure)
const fs = require("fs");
const path = require("path");
const here = __dirname;
const req = (m) => require(require.resolve(m, { paths: [here] }));
const { ToolSchema } = req("@modelcontextprotocol/sdk/types.js");
const { AjvJsonSchemaValidator } = req("@modelcontextprotocol/sdk/validation/ajv");
const Ajv = req("ajv").default;
const addFormats = req("ajv-formats").default;

const tools = JSON.parse(fs.readFileSync(path.resolve(process.argv[2]), "utf8"));
const sdk = new AjvJsonSchemaValidator();
const strict = new Ajv({ strict: true, allErrors: true });
addFormats(strict);
const problems = [];
for (const t of tools) {
  try {
    const parsed = ToolSchema.safeParse(t);
    if (!parsed.success) throw new Error(parsed.error.message);
    sdk.getValidator(t.inputSchema);
    strict.compile(t.inputSchema);
  } catch (e) {
    problems.push(`${t.name}: ${e.message}`);
  }
}
for (const p of problems) console.log(p);
console.log(`typescript sdk: ${tools.length - problems.length}/${tools.length} tools accepted`);
process.exit(problems.length || !tools.length ? 1 : 0);
