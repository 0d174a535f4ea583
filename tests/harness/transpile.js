// TypeScript for Node's require(), through esbuild: the test process and every stack evaluation load
// the program with it. Type-checking is `tsc --noEmit`'s job (npm test runs it first).
//
// Source maps only where stack traces are read by people (the mocha process runs with
// --enable-source-maps). Stack evaluations run without: Pulumi records a stack trace for every
// resource, and mapping each one would double the evaluation time.
"use strict";
const fs = require("node:fs");
const esbuild = require("esbuild");

const withMaps = process.sourceMapsEnabled;
require.extensions[".ts"] = (module, filename) => {
    const { code } = esbuild.transformSync(fs.readFileSync(filename, "utf8"), {
        loader: "ts",
        format: "cjs",
        target: "node22",
        sourcefile: filename,
        sourcemap: withMaps ? "inline" : false,
    });
    module._compile(code, filename);
};
