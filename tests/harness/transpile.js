// TypeScript for Node's require(), through esbuild: the test process and every stack evaluation load
// the program with it. Type-checking is `npm run typecheck`'s job (part of npm test).
//
// Source maps only where stack traces are read by people (the mocha process runs with
// --enable-source-maps). Stack evaluations run without: Pulumi records a stack trace for every
// resource, and mapping each one would double the evaluation time. Transpiled files are kept in
// .cache/ts by content, so the many evaluations of a test run transpile each file once.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const esbuild = require("esbuild");

const withMaps = process.sourceMapsEnabled;
const cacheDir = path.resolve(__dirname, "..", "..", ".cache", "ts");
fs.mkdirSync(cacheDir, { recursive: true });

function transpile(source, filename) {
    const key = createHash("sha256")
        .update(`${esbuild.version}\0${withMaps}\0strict\0${filename}\0${source}`)
        .digest("hex");
    const cached = path.join(cacheDir, `${key}.js`);
    try {
        return fs.readFileSync(cached, "utf8");
    } catch {
        const { code } = esbuild.transformSync(source, {
            loader: "ts",
            format: "cjs",
            target: "node22",
            sourcefile: filename,
            sourcemap: withMaps ? "inline" : false,
            // As tsc emits modules: strict mode (writing to a frozen object throws).
            tsconfigRaw: { compilerOptions: { alwaysStrict: true } },
        });
        // Write, then rename: another evaluation may read the same entry at the same time.
        const partial = `${cached}.${process.pid}`;
        fs.writeFileSync(partial, code);
        fs.renameSync(partial, cached);
        return code;
    }
}

require.extensions[".ts"] = (module, filename) => {
    module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
};
