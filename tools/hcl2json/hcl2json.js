#!/usr/bin/env node
// hcl2json.js FILE.tf... — prints {"FILE.tf": <HCL as JSON>, ...} using @cdktf/hcl2json
// (HashiCorp's HCL parser compiled to WebAssembly): terraform/ is checked offline, with
// no terraform binary and no provider download.  Exit 1 with the parser's message on a
// syntax error.  Installed by tools/install-deps.sh (npm ci in this folder).
"use strict";
const fs = require("fs");
const path = require("path");
const { parse } = require("@cdktf/hcl2json");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: hcl2json.js FILE.tf...");
    process.exit(2);
  }
  const out = {};
  for (const file of files) {
    out[path.basename(file)] = await parse(file, fs.readFileSync(file, "utf8"));
  }
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}

main(process.argv.slice(2)).catch((err) => {
  console.error("hcl2json: " + (err && err.message ? err.message : err));
  process.exit(1);
});
