// Cluster profiles (issue 9 §1): the program derives its choices from the resolved profile, a stack
// file overrides any fact, and docs/distributions.md describes every distribution it supports.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DISTRIBUTIONS, parseConfig, PROFILES, rawFromFlat } from "../config";
import { scheduling } from "../components/defaults";
import { storageClassArgs } from "../components/storage";
import { ROOT, stackConfig } from "./harness/stack-config";

const raw = (stack: string) => rawFromFlat(stackConfig(ROOT, stack).config) as Record<string, any>;

describe("cluster profiles", () => {
    it("docs/distributions.md has a section per distribution with its provisioner and default class", () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs", "distributions.md"), "utf8");
        for (const d of DISTRIBUTIONS) {
            const section = doc.split(/^## /m).find((s) => s.toLowerCase().startsWith(d));
            assert.ok(section, `a "## ${d}" section`);
            const row = doc.split("\n").find((l) => l.startsWith(`| ${d} |`));
            assert.ok(row, `${d} in the facts table`);
            const p = PROFILES[d].storage;
            assert.ok(row.includes(p.provisioner), `${d}: provisioner ${p.provisioner}`);
            if (p.defaultClass) assert.ok(row.includes(p.defaultClass), `${d}: default class ${p.defaultClass}`);
            else assert.match(row, /none/, `${d}: no default class`);
        }
    });

    it("a stack file's override reaches what the program creates (EKS Auto Mode, a custom zone label)", () => {
        const r = structuredClone(raw("us"));
        r.cluster.profile = { storage: { provisioner: "ebs.csi.eks.amazonaws.com" }, zoneLabel: "example.com/zone" };
        const cfg = parseConfig("us", r);
        assert.equal(storageClassArgs(cfg, "platform-standard", {}).provisioner, "ebs.csi.eks.amazonaws.com");
        assert.deepEqual(storageClassArgs(cfg, "platform-standard", {}).parameters, { type: "gp3", encrypted: "true" });
        const keys = (scheduling(cfg, { app: "x" }).topologySpreadConstraints as { topologyKey: string }[]).map(
            (c) => c.topologyKey,
        );
        assert.deepEqual(keys, ["kubernetes.io/hostname", "example.com/zone"]);
    });
});
