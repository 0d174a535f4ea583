// The lint rules that keep shared builders shared (eslint.config.mjs SHARED_BUILDERS), tried on
// deliberately broken snippets: each restriction must catch its class of hand-built object in any
// program file, and must leave the one module that owns the builder free to build it. `npm run
// lint` applies them to the real tree; this shows they are not rules that cannot fail.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import { ROOT } from "./harness/stack-config";

/** Per restriction: a snippet that does what only the owner may do. */
const BROKEN: Record<string, string> = {
    networkPolicy: `new k8s.networking.v1.NetworkPolicy("p", { metadata: { name: "p" }, spec: {} }, {});`,
    zoneLabel: `const spread = { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone" };`,
    labelKeys: `const labels = { ...partLabels("shop"), "app.kubernetes.io/component": "cache" };`,
};

describe("lint rules for shared builders", () => {
    let rules: Record<string, { owners: string[] }>;
    let linter: Linter;
    let configs: Linter.Config[];
    before(async () => {
        const config = await import(path.join(ROOT, "eslint.config.mjs"));
        rules = config.SHARED_BUILDERS;
        const all = config.default as Linter.Config[];
        configs = [
            { files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } },
            ...all.filter((c) => c.name?.startsWith("shared-builders")),
        ];
        linter = new Linter({ cwd: ROOT });
    });
    const problems = (code: string, file: string) =>
        linter
            .verify(code, configs, path.join(ROOT, file))
            .map((m) => `${m.ruleId ?? "parse"}: ${m.message}`)
            .filter((m) => !m.startsWith("parse") || assert.fail(m));

    it("has a broken snippet for every restriction", () => {
        assert.deepEqual(Object.keys(BROKEN).sort(), Object.keys(rules).sort());
    });

    it("catches each restriction's class in layers, building blocks and index.ts", () => {
        const missed = Object.entries(BROKEN).flatMap(([rule, code]) =>
            ["index.ts", "components/shop/apps.ts", "components/defaults.ts"]
                .filter((file) => !rules[rule].owners.includes(file))
                .filter((file) => problems(code, file).length === 0)
                .map((file) => `${rule} not caught in ${file}`),
        );
        assert.deepEqual(missed, []);
    });

    it("lets the owning module build what it owns, and only that", () => {
        const wrong = Object.entries(BROKEN).flatMap(([rule, code]) =>
            rules[rule].owners
                .filter((owner) => problems(code, owner).length > 0)
                .map((owner) => `${rule} flagged in its owner ${owner}`),
        );
        assert.deepEqual(wrong, []);
    });
});
