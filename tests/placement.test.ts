// Placement that fits (issue 9 §3): every pod every stack would run — its own workloads, each
// component of each Helm release as the chart renders it from the release's values, and the pods
// operators make of custom resources — finds a node on the stack's declared node pools; node agents
// run on every node; every pod lands where the stack's placement says.
import * as assert from "node:assert/strict";
import { parseConfig, rawFromFlat, WORKLOADS } from "../config";
import { CHARTS } from "../components/helm";
import { deployedStack, prefetch } from "./harness/evaluate";
import { configOf, ROOT, STACKS, stackConfig } from "./harness/stack-config";
import type { StackEvaluation } from "./harness/types";
import { CHART_FACTS, KIND_FACTS, type PodGroup } from "./harness/cluster/catalog";
import { stackCopy } from "./harness/cluster/copy";
import { type Node, nodesOf, placementGaps, schedule, stackPods } from "./harness/cluster/scheduler";

prefetch(...STACKS.map((stack) => ({ stack })));

/** Place a stack's pods on its declared pools (or on `nodes`); unknown charts and kinds count as problems. */
function placementProblems(stack: string, ev: StackEvaluation, nodes?: Node[]): string[] {
    const cfg = configOf(stack);
    const pods = stackPods(ev);
    const result = schedule(pods.groups, nodes ?? nodesOf(cfg), cfg.cluster.profile.zoneLabel);
    return [...pods.unknown, ...result.problems];
}

/** Pods that land outside the stack's placement (node agents excepted: they run everywhere). */
function outsidePlacement(stack: string, ev: StackEvaluation): string[] {
    const cfg = configOf(stack);
    const agents = new Set(
        stackPods(ev)
            .components.filter((c) => c.component.everyNode)
            .map((c) => c.group),
    );
    return stackPods(ev)
        .groups.filter((g) => g.kind !== "DaemonSet" && !agents.has(g))
        .flatMap((g) => placementGaps(g.spec, cfg).map((gap) => `${g.id}: without ${gap}`));
}

/** Our own workloads' rows of the sizing table (every other row is a chart component's or an operator's). */
const OWN_WORKLOADS = [
    "frontend",
    "backend",
    "worker",
    "postgres",
    "redis",
    "node-metrics",
    "postgres-exporter",
    "redis-exporter",
    "nginx-exporter",
    "db-migrate",
    "db-backup",
    ...configOf("dev").services.map((s) => s.name),
];

describe("placement that fits", () => {
    for (const stack of STACKS) {
        it(`${stack}: places every pod on the declared node pools, node agents on every node`, async () => {
            const ev = await deployedStack(stack);
            const cfg = configOf(stack);
            const pods = stackPods(ev);
            const result = schedule(pods.groups, nodesOf(cfg), cfg.cluster.profile.zoneLabel);
            assert.deepEqual([...pods.unknown, ...result.problems], []);
            assert.ok(result.placed >= pods.groups.length, "every group placed");
            for (const g of pods.groups.filter((x) => x.kind === "DaemonSet"))
                assert.equal(result.placements.get(g.id)!.length, nodesOf(cfg).length, `${g.id} on every node`);
        });

        it(`${stack}: every chart component and every pod of ours lands where the stack's placement says`, async () => {
            const ev = await deployedStack(stack);
            const pods = stackPods(ev);
            assert.ok(pods.components.length >= 10, "the releases' components are modelled");
            assert.deepEqual(outsidePlacement(stack, ev), []);
        });
    }

    describe("the chart catalog", () => {
        it("knows every pinned chart, at its pinned version (a new version's values are read again)", () => {
            for (const pin of Object.values(CHARTS)) {
                const facts = CHART_FACTS[pin.chart];
                assert.ok(facts, `${pin.chart} is in tests/harness/cluster/catalog.ts`);
                assert.equal(facts.version, pin.version, `${pin.chart}: catalog read at ${facts.version}`);
            }
        });

        it("maps every chart component and operator pod of the sizing table, and only rows of it", () => {
            const claimed = [
                ...Object.values(CHART_FACTS).flatMap((f) => f.components.flatMap((c) => c.sized)),
                ...Object.values(KIND_FACTS).flatMap((byKind) => Object.values(byKind).flatMap((k) => k.sized ?? [])),
            ];
            const workloads: readonly string[] = WORKLOADS;
            assert.deepEqual(
                workloads.filter((w) => !OWN_WORKLOADS.includes(w) && !claimed.includes(w)),
                [],
                "sizing rows of chart components the catalog does not map",
            );
            assert.deepEqual(
                claimed.filter((w) => !workloads.includes(w)),
                [],
                "catalog rows missing from the sizing table",
            );
        });
    });

    describe("sees a pod that would not be placed (broken copies)", () => {
        it("kube-prometheus-stack and KEDA without the stack's tolerations on tainted pools (the issue's defect)", async () => {
            const b = await stackCopy("us");
            const kps = b.chart("kube-prometheus-stack").inputs.values;
            delete kps.prometheus.prometheusSpec.tolerations;
            delete kps.grafana.tolerations;
            delete b.chart("keda").inputs.values.tolerations;
            const problems = placementProblems("us", b.ev).join("\n");
            assert.match(
                problems,
                /kube-prometheus-stack\): prometheus: no node takes it \(pool general: taint dedicated=ecommerce:NoSchedule not tolerated/,
            );
            assert.match(problems, /kube-prometheus-stack\): grafana: no node takes it/);
            assert.match(problems, /\(keda\): operator: no node takes it/);
        });

        it("a chart component that tolerates the taint but selects no pool lands outside the placement", async () => {
            const b = await stackCopy("eu");
            delete b.chart("kube-prometheus-stack").inputs.values.grafana.nodeSelector;
            assert.deepEqual(placementProblems("eu", b.ev), [], "it still schedules (on any tainted pool)");
            assert.match(
                outsidePlacement("eu", b.ev).join("\n"),
                /grafana: without nodeSelector workload-class=general/,
            );
        });

        it("a node agent that does not tolerate every pool's taint", async () => {
            const b = await stackCopy("asia");
            // The chart's default: NoSchedule taints only. A pool tainted NoExecute keeps node-exporter away.
            b.chart("kube-prometheus-stack").inputs.values["prometheus-node-exporter"].tolerations = [
                { effect: "NoSchedule", operator: "Exists" },
            ];
            const nodes = nodesOf(configOf("asia")).map((n) =>
                n.pool === "system"
                    ? { ...n, taints: [{ key: "CriticalAddonsOnly", value: "true", effect: "NoExecute" }] }
                    : n,
            );
            assert.match(
                placementProblems("asia", b.ev, nodes).join("\n"),
                /node-exporter: a DaemonSet that skips the nodes of pool system \(taint CriticalAddonsOnly=true:NoExecute not tolerated\)/,
            );
        });

        it("more Redis Enterprise nodes than nodes to keep them apart (required anti-affinity)", async () => {
            const ev = await deployedStack("us");
            const nodes = nodesOf(configOf("us")).filter((n) => n.pool !== "general" || /-[01]$/.test(n.name));
            assert.match(
                placementProblems("us", ev, nodes).join("\n"),
                /RedisEnterpriseCluster redis-enterprise\/rec-us: node: pod 3 of 3 has no node \(required anti-affinity on kubernetes\.io\/hostname; 2 node\(s\) take it\)/,
            );
        });

        it("zone spreading on a pool in one zone: DoNotSchedule leaves pods Pending, ScheduleAnyway loses the zones", async () => {
            const b = await stackCopy("us");
            const zone = "topology.kubernetes.io/zone";
            const oneZone = nodesOf(configOf("us")).map((n) =>
                n.pool === "general" ? { ...n, labels: { ...n.labels, [zone]: "us-east-1a" } } : n,
            );
            assert.match(
                placementProblems("us", b.ev, oneZone).join("\n"),
                /Deployment ecommerce\/payment: spreads across zones, but its 3 pods fit in 1 of the cluster's 3 zones/,
            );
            const payment = b.kind("Deployment", "payment");
            for (const c of payment.inputs.spec.template.spec.topologySpreadConstraints) {
                c.whenUnsatisfiable = "DoNotSchedule";
                c.minDomains = 3;
            }
            assert.match(
                placementProblems("us", b.ev, oneZone).join("\n"),
                /Deployment ecommerce\/payment: pod 2 of 3 has no node \(topology spread on topology\.kubernetes\.io\/zone/,
            );
        });

        it("a CloudNativePG cluster with required anti-affinity and more instances than nodes", async () => {
            const b = await stackCopy("dev");
            b.add(b.kind("StatefulSet"), {
                apiVersion: "postgresql.cnpg.io/v1",
                kind: "Cluster",
                metadata: { name: "shop", namespace: "warung-kopi" },
                spec: { instances: 2, affinity: { podAntiAffinityType: "required" } },
            });
            assert.match(
                placementProblems("dev", b.ev).join("\n"),
                /Cluster warung-kopi\/shop: instance: pod 2 of 2 has no node \(required anti-affinity on kubernetes\.io\/hostname/,
            );
        });

        it("required node affinity no pool meets, and a chart or custom resource the catalog does not know", async () => {
            const b = await stackCopy("dev");
            const postgres = b.kind("StatefulSet", "postgres");
            postgres.inputs.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions.push(
                { key: "workload-class", operator: "In", values: ["gpu"] },
            );
            b.chart("jaeger").inputs.chart = "tempo";
            b.add(postgres, {
                apiVersion: "example.io/v1",
                kind: "Widget",
                metadata: { name: "w", namespace: "x" },
                spec: { replicas: 2, nodeSelector: { a: "b" } },
            });
            const problems = placementProblems("eu", b.ev).join("\n");
            assert.match(
                problems,
                /StatefulSet warung-kopi\/postgres: no node takes it \(pool general: required node affinity/,
            );
            assert.match(problems, /helm jaeger \(tempo\): chart not in the catalog/);
            assert.match(problems, /Widget x\/w: kind example\.io\/v1 Widget is not in the catalog and may run pods/);
        });
    });

    it("models anti-affinity both ways, namespace-scoped, and tolerations by key, value and effect", () => {
        const nodes: Node[] = ["a", "b"].map((name) => ({
            name,
            pool: "p",
            labels: { "kubernetes.io/hostname": name },
            taints: [{ key: "k", value: "v", effect: "NoSchedule" }],
        }));
        const tolerate = [{ key: "k", operator: "Equal", value: "v", effect: "NoSchedule" }];
        const pod = (id: string, namespace: string, labels: Record<string, string>, anti?: object): PodGroup => ({
            id,
            namespace,
            kind: "Deployment",
            replicas: 1,
            labels,
            spec: {
                tolerations: tolerate,
                affinity: anti && {
                    podAntiAffinity: {
                        requiredDuringSchedulingIgnoredDuringExecution: [
                            { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: anti } },
                        ],
                    },
                },
            },
        });
        // The pods placed earlier keep a matching pod off their nodes by their own terms (z has none):
        // three such pods cannot share two nodes.
        const three = [
            pod("x", "n", { app: "x" }, { app: "x" }),
            pod("y", "n", { app: "x" }, { app: "x" }),
            pod("z", "n", { app: "x" }),
        ];
        assert.match(
            schedule(three, nodes, "zone").problems.join("\n"),
            /^z: pod 1 of 1 has no node \(anti-affinity of x/,
        );
        // Another namespace is out of the term's scope.
        assert.deepEqual(schedule([three[0], pod("w", "other", { app: "x" }), three[1]], nodes, "zone").problems, []);
        const wrongValue = { ...pod("t", "n", {}), spec: { tolerations: [{ ...tolerate[0], value: "w" }] } };
        assert.match(schedule([wrongValue], nodes, "zone").problems.join(), /taint k=v:NoSchedule not tolerated/);
    });

    describe("stops a stack whose pods no pool would take (config rules)", () => {
        const raw = (stack: string) => rawFromFlat(stackConfig(ROOT, stack).config) as Record<string, any>;
        const cases: [string, string, (r: Record<string, any>) => void, RegExp][] = [
            [
                "a node selector no pool matches",
                "us",
                (r) => (r.scheduling.nodeSelector = { "workload-class": "gpu" }),
                /ecommerce-platform:scheduling = .*no node pool takes the stack's pods/,
            ],
            [
                "tolerations that miss a pool's taint",
                "eu",
                (r) => (r.scheduling.tolerations = []),
                /no node pool takes the stack's pods.*general \(labels workload-class=general, taints dedicated=ecommerce:NoSchedule\)/,
            ],
            [
                "more Redis Enterprise nodes than the pools keep",
                "asia",
                (r) => (r.redisEnterprise = { nodes: 7 }),
                /redisEnterprise\.nodes = 7: expected at most 6/,
            ],
            [
                "zone spreading on one zone",
                "us",
                (r) => (r.cluster.zones = ["us-east-1a"]),
                /scheduling\.spreadAcrossZones = true: expected the pools .* two or more zones \(they span 1\)/,
            ],
            [
                "a pool zone outside the cluster's",
                "us",
                (r) => (r.cluster.nodePools[1].zones = ["eu-west-1a"]),
                /cluster\.nodePools\[1\]\.zones\[0\] = "eu-west-1a": "eu-west-1a" is not one of cluster\.zones/,
            ],
            [
                "database nodes no pool offers",
                "eu",
                (r) => (r.cluster.nodePools = r.cluster.nodePools.filter((p: any) => p.name !== "database")),
                /scheduling\.databaseNodeAffinity = .*expected a node pool labelled workload-class=database/,
            ],
            [
                "a production stack without node pools",
                "asia",
                (r) => delete r.cluster.nodePools,
                /cluster\.nodePools = \[\]: expected the cluster's node pools/,
            ],
        ];
        for (const [what, stack, damage, expected] of cases)
            it(what, () => {
                const r = structuredClone(raw(stack));
                damage(r);
                assert.throws(() => parseConfig(stack, r), expected);
            });
    });
});
