// Supply chain: production tiers run images pinned by digest only, the defaults are releases that
// include the fixes the review named, and docs/security.md says where each default digest comes from.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { digestPinProblem, IMAGES } from "../config";
import { configOf, ROOT } from "./harness/stack-config";

/** The first release of a line that carries the fixes the review named (CVE -> fixed version). */
const FIXED_IN: Record<string, { line: number[]; fixed: number[]; cves: string[] }[]> = {
    redis: [{ line: [7, 4], fixed: [7, 4, 6], cves: ["CVE-2024-46981 (7.4.2)", "CVE-2025-49844 (7.4.6)"] }],
    postgres: [{ line: [16], fixed: [16, 7], cves: ["CVE-2025-1094 (16.7)"] }],
};

const versionOf = (ref: string) =>
    (/:v?(\d+(?:\.\d+)*)/.exec(ref.split("@")[0].split("/").pop()!)?.[1] ?? "").split(".").map(Number);
const before = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++)
        if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
    return false;
};

/** Which named fixes an image reference lacks (empty when its version carries them all). */
export function missingFixes(image: string, ref: string): string[] {
    const version = versionOf(ref);
    return (FIXED_IN[image] ?? [])
        .filter((f) => f.line.every((n, i) => version[i] === n) && before(version, f.fixed))
        .flatMap((f) => f.cves);
}

describe("supply chain", () => {
    it("every default image is pinned by digest, with the version tag it is", () => {
        for (const [name, ref] of Object.entries(IMAGES))
            assert.equal(digestPinProblem(ref), undefined, `${name}: ${ref}`);
    });

    it("the defaults carry the fixes the review named (redis, postgres)", () => {
        assert.deepEqual(missingFixes("redis", IMAGES.redis), []);
        assert.deepEqual(missingFixes("postgres", IMAGES.postgres), []);
    });

    it("sees the versions the review found (redis 7.4.1, postgres 16.6)", () => {
        assert.deepEqual(missingFixes("redis", "redis:7.4.1-alpine"), [
            "CVE-2024-46981 (7.4.2)",
            "CVE-2025-49844 (7.4.6)",
        ]);
        assert.deepEqual(missingFixes("postgres", "postgres:16.6-alpine"), ["CVE-2025-1094 (16.7)"]);
    });

    it("production stacks refuse an image pinned by tag only; dev accepts it", () => {
        for (const bad of ["redis:7.4.11-alpine", `redis@sha256:${"a".repeat(64)}`, "redis:7.4.11-alpine@sha256:short"])
            assert.throws(
                () => configOf("us", { images: { redis: bad } }),
                /ecommerce-platform:images\.redis = .*expected name:tag@sha256:<64 hex>.*production stack runs images pinned by digest only/,
                bad,
            );
        assert.equal(configOf("dev", { images: { redis: "redis:7.4.11-alpine" } }).images.redis, "redis:7.4.11-alpine");
    });

    it("docs/security.md lists every default image with where its digest comes from", () => {
        const docs = fs.readFileSync(path.join(ROOT, "docs", "security.md"), "utf8");
        for (const ref of new Set(Object.values(IMAGES))) {
            const [name] = ref.split("@");
            assert.ok(docs.includes(name), `docs/security.md names ${name}`);
            assert.ok(
                docs.includes(ref.split("@sha256:")[1].slice(0, 12)),
                `docs/security.md shows the digest of ${name}`,
            );
        }
    });
});
