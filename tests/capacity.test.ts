// The capacity table's arithmetic (scripts/capacity.ts), and every namespace quota against it.
import * as assert from "node:assert/strict";
import { resourcesFor } from "../config";
import { parseQuantity } from "../config/quantity";
import { fitsQuota, namespaceCapacity, podCost, workloadCapacity } from "./harness/capacity";
import { deployedStack, prefetch } from "./harness/evaluate";
import { kubernetesObjects } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";

prefetch(...STACKS.map((stack) => ({ stack })));

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

describe("capacity of the pods operators and charts run", () => {
    const PRODUCTION = ["us", "eu", "asia"] as const;

    it("us: counts the Cluster's instances with their backup sidecar (and a bootstrap Job), OpenSearch's nodes and Jaeger", async () => {
        const cfg = configOf("us");
        const rows = workloadCapacity((await deployedStack("us")).resources, 3);
        const row = (ns: string, kind: RegExp) => {
            const found = rows.find((w) => w.namespace === ns && kind.test(w.kind));
            assert.ok(found, `${ns} ${kind}: ${rows.map((w) => `${w.namespace}/${w.kind}`).join(", ")}`);
            return found;
        };
        const q = (v: string) => parseQuantity(v);
        const instance = resourcesFor(cfg, "postgres-instance");
        const sidecar = resourcesFor(cfg, "barman-cloud-sidecar");
        const cluster = row("databases", /^Cluster$/);
        assert.equal(cluster.minReplicas, cfg.cloudNativePg.instances);
        assert.equal(cluster.maxReplicas, cfg.cloudNativePg.instances + 1, "a join Job beside the instances");
        assert.equal(cluster.perPod.requests.cpu, q(instance.requests.cpu) + q(sidecar.requests.cpu));
        assert.equal(cluster.perPod.limits.memory, q(instance.limits.memory) + q(sidecar.limits.memory));
        const nodes = row("tracing", /opensearch/);
        assert.equal(nodes.minReplicas, 3);
        assert.equal(nodes.perPod.requests.memory, q(resourcesFor(cfg, "opensearch").requests.memory));
        const jaeger = row("monitoring", /Deployment \(chart jaeger\)/);
        assert.equal(jaeger.minReplicas, 2);
        assert.equal(jaeger.perPod.requests.cpu, q(resourcesFor(cfg, "jaeger").requests.cpu));
        assert.equal(row("monitoring", /CronJob \(chart jaeger\)/).maxReplicas, 1);
    });

    for (const stack of PRODUCTION) {
        it(`${stack}: databases and tracing have quotas that hold their pods at maximum, databases with room for the runbook's restore Cluster`, async () => {
            const cfg = configOf(stack);
            const { resources } = await deployedStack(stack);
            const rows = namespaceCapacity(resources, 3);
            for (const ns of ["databases", "tracing"]) {
                const row = rows.find((r) => r.namespace === ns);
                assert.ok(row?.quota, `${ns} has its pods counted and a quota`);
                assert.ok(fitsQuota(row.max, row.quota), `${ns} fits its quota at maximum`);
            }
            const hard = kubernetesObjects(resources).find(
                (o) => o.kind === "ResourceQuota" && o.metadata.namespace === "databases",
            )!.spec.hard;
            const p = cfg.cloudNativePg;
            assert.ok(Number(hard.pods) >= 2 * p.instances + 1, "a restore Cluster as large as the live one");
            assert.ok(
                parseQuantity(hard["requests.storage"]) >=
                    2 * p.instances * (parseQuantity(p.storage) + parseQuantity(p.walStorage)),
            );
            assert.equal(hard["services.loadbalancers"], "0");
        });
    }

    it("a Cluster grown past its quota no longer fits (self-test on a damaged copy of us)", async () => {
        const copy = structuredClone((await deployedStack("us")).resources);
        for (const r of copy) if (r.inputs?.kind === "Cluster") r.inputs.spec.instances = 9;
        const row = namespaceCapacity(copy, 3).find((r) => r.namespace === "databases")!;
        assert.equal(fitsQuota(row.max, row.quota!), false);
    });
});
