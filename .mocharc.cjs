// Mocha's settings, for `npm test` (every tests/**/*.test.ts) and `npx mocha tests/<file>.test.ts`
// (that file alone). Under CI (CI=true: GitHub Actions, .ci/run) or NO_COLOR the reporter writes
// plain text: a log file holds no colour codes.
"use strict";

module.exports = {
    require: ["tests/harness/transpile.js"],
    "node-option": ["enable-source-maps"],
    extension: ["ts"],
    timeout: 180000,
    reporter: "spec",
    ...(process.env.CI || process.env.NO_COLOR ? { color: false } : {}),
};
