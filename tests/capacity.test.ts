// The capacity table's arithmetic (scripts/capacity.ts), and every namespace quota against it.
import * as assert from "node:assert/strict";
import { fitsQuota, namespaceCapacity, podCost } from "./harness/capacity";
import { deployedStack } from "./harness/evaluate";
import { STACKS } from "./harness/stack-config";

const r = (cpu: string, memory: string) => ({ resources: { requests: { cpu, memory }, limits: { cpu, memory } } });

describe("capacity", () => {
    it("counts a pod as the larger of its containers' sum and its largest init container, plus a sidecar", () => {
        const cost = podCost(
            { containers: [r("100m", "64Mi"), r("50m", "32Mi")], initContainers: [r("500m", "16Mi")] },
            { requests: { cpu: 0.01, memory: 40 * 2 ** 20 }, limits: { cpu: 0.5, memory: 256 * 2 ** 20 } },
        );
        assert.equal(cost.requests.cpu, 0.5, "the init container's 500m dominates CPU");
        assert.equal(cost.requests.memory, (64 + 32 + 40) * 2 ** 20, "containers plus sidecar dominate memory");
    });

    it("treats a quota dimension that is not set as unlimited, and one that is set as a bound", () => {
        const use = { requests: { cpu: 2, memory: 2 ** 30 }, limits: { cpu: 8, memory: 2 ** 31 } };
        assert.equal(
            fitsQuota(use, { requests: { cpu: 4, memory: 2 ** 31 }, limits: { cpu: NaN, memory: NaN } }),
            true,
        );
        assert.equal(
            fitsQuota(use, { requests: { cpu: 1, memory: 2 ** 31 }, limits: { cpu: NaN, memory: NaN } }),
            false,
        );
    });

    for (const stack of STACKS) {
        it(`${stack}: every namespace quota holds its workloads at maximum replicas`, async () => {
            const nodes = stack === "dev" ? 1 : 3;
            const rows = namespaceCapacity((await deployedStack(stack)).resources, nodes);
            assert.ok(
                rows.some((row) => row.quota),
                "some namespace has a quota",
            );
            assert.deepEqual(
                rows.filter((row) => row.quota && !fitsQuota(row.max, row.quota)).map((row) => row.namespace),
                [],
            );
        });
    }
});
