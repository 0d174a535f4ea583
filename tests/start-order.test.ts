// Start order (issue 9 §4, §5): whatever reads another layer's CRDs, admission webhooks, sidecar
// injector or Services at start waits for them in the dependency graph `pulumi up` follows; and the
// first deploy of `us` stays as deep as the mesh's own chain plus one step.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases } from "./harness/k8s";
import { ROOT, STACKS } from "./harness/stack-config";
import type { RecordedResource, StackEvaluation } from "./harness/types";
import {
    chains,
    criticalPath,
    DependencyGraph,
    orderProblems,
    READINESS_GATE,
    startNeeds,
} from "./harness/cluster/order";
import { stackCopy } from "./harness/cluster/copy";

prefetch(...STACKS.map((stack) => ({ stack })));

const releaseOf = (ev: StackEvaluation, name: string) =>
    helmReleases(ev.resources).find((r) => r.inputs.name === name)!;
/** Forget an edge, as if the program had not declared it. */
const forget = (r: RecordedResource, ...targets: RecordedResource[]) =>
    (r.dependencies = r.dependencies.filter((d) => !targets.some((t) => t.urn === d)));

/** How deep the first `pulumi up` of a stack goes, against the ingress gateway's own chain. */
function depth(ev: StackEvaluation) {
    const graph = new DependencyGraph(ev.resources);
    const gateway = chains(ev, graph).to(releaseOf(ev, "istio-ingressgateway"));
    return { path: criticalPath(ev, graph), gateway };
}

describe("start order", () => {
    for (const stack of STACKS) {
        it(`${stack}: everything that reads CRDs, webhooks, the injector or another layer's Services at start waits for them`, async () => {
            const ev = await deployedStack(stack);
            assert.deepEqual(orderProblems(ev), []);
        });
    }

    it("derives the needs from the objects and values themselves", async () => {
        const needs = startNeeds(await deployedStack("us"));
        const kinds = (k: string) => needs.filter((n) => k in n.need);
        assert.ok(kinds("crds").length > 20, "custom resources need their CRDs");
        assert.ok(kinds("webhook").length > 20, "and the webhooks checking their group");
        assert.ok(kinds("injector").length > 5, "pods in injected namespaces need the injector");
        assert.ok(kinds("service").length > 0, "readiness gates name Services");
        assert.ok(
            needs.some((n) => n.consumer.inputs.chart === "external-dns" && "crds" in n.need),
            "external-dns watches Istio resources",
        );
    });

    it("reads the readiness gate our service image reads", () => {
        const app = fs.readFileSync(path.join(ROOT, "apps", "service.js"), "utf8");
        assert.match(app, new RegExp(`process\\.env\\.${READINESS_GATE}\\b`));
    });

    it("us: a first deploy is no deeper than the mesh's chain (Namespace → Istio base → istiod → gateway) plus one step", async () => {
        const { path: steps, gateway } = depth(await deployedStack("us"));
        const mesh = gateway.map((s) => s.label);
        assert.equal(mesh.length, 4, mesh.join(" → "));
        // The CNI agent has a namespace of its own (Pod Security: istio-system is restricted).
        assert.match(mesh[0], /^Namespace istio-(system|ingress|cni)$/, mesh.join(" → "));
        assert.match(mesh[1], /^helm istio-(base|cni)$/, mesh.join(" → "));
        assert.deepEqual(mesh.slice(2), ["helm istiod", "helm istio-ingressgateway"], mesh.join(" → "));
        const path = steps.map((s) => s.label).join(" → ");
        assert.ok(steps.length <= gateway.length + 1, `${path} is longer than ${gateway.length + 1} steps`);
    });

    describe("sees what starts too early (broken copies)", () => {
        it("external-dns before the Istio CRDs its sources watch (the issue's defect)", async () => {
            const b = await stackCopy("us");
            forget(b.release("external-dns"), b.release("istio-base"));
            assert.match(
                orderProblems(b.ev).join("\n"),
                /helm external-dns: needs the networking\.istio\.io CRDs \(the external-dns chart's pods read it at start\) but does not wait for helm istio-base/,
            );
        });

        it("a ServiceMonitor before the monitoring CRDs and their webhook", async () => {
            const b = await stackCopy("dev");
            b.kind("ServiceMonitor").dependencies = [];
            const problems = orderProblems(b.ev).join("\n");
            assert.match(
                problems,
                /ServiceMonitor .*needs the monitoring\.coreos\.com CRDs .*helm kube-prometheus-stack/,
            );
            assert.match(problems, /ServiceMonitor .*needs the monitoring\.coreos\.com admission webhook/);
        });

        it("a core service before the cache its readiness waits on (the shop's Redis, Redis Enterprise's database) and the injector", async () => {
            const dev = await stackCopy("dev");
            dev.kind("Deployment", "payment").dependencies = [];
            const problems = orderProblems(dev.ev).join("\n");
            assert.match(
                problems,
                /Deployment ecommerce\/payment: needs Service warung-kopi\/redis .*Deployment warung-kopi\/redis/,
            );
            assert.match(problems, /Deployment ecommerce\/payment: needs the sidecar injector/);
            const eu = await stackCopy("eu");
            eu.kind("Deployment", "payment").dependencies = [];
            assert.match(
                orderProblems(eu.ev).join("\n"),
                /Deployment ecommerce\/payment: needs Service redis-enterprise\/cache .*RedisEnterpriseDatabase redis-enterprise\/cache/,
            );
        });

        it("the Redis Enterprise cluster before the Istio CRDs of the routes its operator makes", async () => {
            const b = await stackCopy("asia");
            forget(b.kind("RedisEnterpriseCluster"), b.release("istio-base"));
            assert.match(
                orderProblems(b.ev).join("\n"),
                /RedisEnterpriseCluster redis-enterprise\/rec-asia: needs the networking\.istio\.io CRDs \(what the operator makes of the RedisEnterpriseCluster\)/,
            );
        });

        it("a database cluster whose instances start in an injected namespace, before the injector", async () => {
            const b = await stackCopy("us");
            const cluster = b.kind("Cluster", "postgres");
            cluster.inputs.metadata.namespace = "ecommerce";
            assert.match(
                orderProblems(b.ev).join("\n"),
                /Cluster ecommerce\/postgres: needs the sidecar injector \(the operator starts its pods in ecommerce\)/,
            );
        });

        it("a custom resource whose CRDs nothing in the stack installs", async () => {
            const b = await stackCopy("dev");
            b.add(b.kind("ServiceMonitor"), {
                apiVersion: "example.io/v1",
                kind: "Thing",
                metadata: { name: "t", namespace: "x" },
                spec: {},
            });
            assert.match(
                orderProblems(b.ev).join("\n"),
                /Thing x\/t: needs the example\.io CRDs .*which nothing in the stack provides/,
            );
        });

        it("a deploy one step deeper than the bound", async () => {
            const b = await stackCopy("us");
            // Payment after its ledger database: cert-manager → plugin → Cluster → Database → payment.
            b.kind("Deployment", "payment").dependencies.push(b.kind("Database", "payments").urn);
            const { path: steps, gateway } = depth(b.ev);
            assert.equal(steps.length, gateway.length + 2, steps.map((s) => s.label).join(" → "));
            assert.equal(steps.at(-1)!.label, "Deployment ecommerce/payment");
        });
    });
});
