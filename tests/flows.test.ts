// The flow table (components/flows.ts) as a pure builder: what a stack's configuration makes of it,
// without evaluating a stack. The journeys (journeys.test.ts) check what the cluster does with it.
import * as assert from "node:assert/strict";
import { parseConfig, PROFILES } from "../config";
import { directAccessRanges, type FlowInputs, FlowTable, isParty, principal } from "../components/flows";
import { configOf } from "./harness/stack-config";
import { EXTRA_SERVICE } from "./harness/variants";

const inputs = (stack: string, overrides: Record<string, unknown> = {}): FlowInputs => {
    const cfg = configOf(stack, overrides);
    return {
        cfg,
        shop: cfg.layers.shop,
        coreServices: cfg.layers.coreServices,
        mesh: cfg.layers.mesh,
        multiCluster: cfg.layers.multiCluster,
        monitoringNamespace: cfg.monitoring.namespace,
        databaseClients: ["payment"],
    };
};
const peersOf = (rules: any[], port: number) =>
    rules.filter((r) => r.ports.some((p: any) => p.port === port)).flatMap((r) => r.from ?? r.to);

describe("flow table", () => {
    it("gives a core service added in config its flows: route, calls, cache, scrape, authorization", () => {
        const table = new FlowTable(inputs("dev", EXTRA_SERVICE));
        const reviews = table.of("ecommerce", "reviews");
        const into = table.flows.filter((f) => f.to.id === reviews.id).map((f) => f.from.id);
        assert.deepEqual(into.sort(), [
            "ecommerce/product-catalog",
            "istio-ingress/istio-ingressgateway",
            "monitoring/prometheus",
        ]);
        const out = table.flows.filter((f) => isParty(f.from) && f.from.id === reviews.id).map((f) => f.to.id);
        assert.deepEqual(out.sort(), ["ecommerce/auth", "warung-kopi/redis"]);
        const policies = table.authorization("ecommerce");
        const allow = policies.find((p) => p.name === "reviews")!.spec as any;
        assert.deepEqual(allow.rules.slice(0, 2), [
            {
                from: [{ source: { principals: ["cluster.local/ns/ecommerce/sa/product-catalog"] } }],
                to: [{ operation: { ports: ["8080"] } }],
            },
            {
                // The internet's requests, through the ingress gateway: not to the probes.
                from: [{ source: { principals: ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway"] } }],
                to: [{ operation: { ports: ["8080"], notPaths: ["/healthz", "/readyz"] } }],
            },
        ]);
        const deny = policies.find((p) => p.name === "reviews-require-user-token")!.spec as any;
        assert.equal(deny.action, "DENY");
        assert.deepEqual(deny.rules[0].to, [{ operation: { ports: ["8080"], paths: ["/mine/*"] } }]);
        assert.deepEqual(policies[0], { name: "deny-by-default", spec: {} });
    });

    it("admits the east-west gateway wherever other regions fail over to (every core service, internal ones too), and nowhere else", () => {
        const table = new FlowTable(inputs("us"));
        const eastWest = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-system" } } };
        const admitsEastWest = (ns: string, name: string) =>
            peersOf(table.ingress(table.of(ns, name)), 8080).some(
                (p: any) => JSON.stringify(p.namespaceSelector) === JSON.stringify(eastWest.namespaceSelector),
            );
        for (const s of ["product-catalog", "payment", "recommendation", "auth"])
            assert.ok(admitsEastWest("ecommerce", s), s);
        for (const s of ["frontend", "backend"]) assert.ok(!admitsEastWest("warung-kopi", s), s);
        assert.deepEqual(table.clusterLocalHosts(), ["*.warung-kopi.svc.cluster.local"]);
        assert.deepEqual(new FlowTable(inputs("dev")).clusterLocalHosts(), [], "one cluster: nothing to keep local");
    });

    it("names each caller by its pods (same namespace) or namespace and pods, never a whole namespace", () => {
        for (const stack of ["dev", "us"]) {
            const table = new FlowTable(inputs(stack));
            for (const p of table.parties.values())
                for (const rule of [...table.ingress(p), ...table.egress(p)])
                    for (const peer of (rule as any).from ?? (rule as any).to)
                        assert.ok(
                            peer.ipBlock || Object.keys(peer.podSelector?.matchLabels ?? {}).length > 0,
                            `${stack} ${p.id}: ${JSON.stringify(peer)}`,
                        );
        }
    });

    it("excepts the cluster's pod and service ranges from the direct-access networks, for every distribution", () => {
        const cfg = configOf("dev");
        const ranges = (distribution: keyof typeof PROFILES, cidrs: string[]) =>
            directAccessRanges({
                ...cfg,
                cluster: { ...cfg.cluster, profile: PROFILES[distribution] },
                shop: { ...cfg.shop, directAccessCidrs: cidrs },
            });
        assert.deepEqual(ranges("kind", ["10.0.0.0/8", "192.168.0.0/16"]), [
            { cidr: "10.0.0.0/8", except: ["10.244.0.0/16", "10.96.0.0/16"] },
            { cidr: "192.168.0.0/16", except: [] },
        ]);
        assert.deepEqual(ranges("aks", ["10.0.0.0/8"]), [
            { cidr: "10.0.0.0/8", except: ["10.244.0.0/16", "10.0.0.0/16"] },
        ]);
        assert.deepEqual(ranges("gke", ["10.0.0.0/8"]), [{ cidr: "10.0.0.0/8", except: ["10.4.0.0/14"] }]);
        assert.deepEqual(ranges("eks", ["10.0.0.0/8"]), [{ cidr: "10.0.0.0/8", except: ["10.100.0.0/16"] }]);
        assert.deepEqual(ranges("eks", ["fd00::/8"]), [{ cidr: "fd00::/8", except: [] }]);
    });

    it("rejects a direct-access range inside the cluster's pod or service range", () => {
        const raw = (directAccessCidrs: string[]) => ({
            tier: "dev",
            region: "local",
            cluster: { identifier: "c", distribution: "kind" },
            shop: { directAccessCidrs },
        });
        assert.throws(
            () => parseConfig("dev", raw(["10.244.3.0/24"])),
            /directAccessCidrs\[0\].*pod or service range 10\.244\.0\.0\/16/,
        );
        assert.doesNotThrow(() => parseConfig("dev", raw(["10.0.0.0/8"])));
    });

    it("takes plain text only where a caller has no proxy: Prometheus on metrics, direct access on the frontend", () => {
        const table = new FlowTable(inputs("dev"));
        assert.deepEqual(table.plaintextPorts(table.of("warung-kopi", "frontend")), [8080, 9464]);
        assert.deepEqual(table.plaintextPorts(table.of("warung-kopi", "backend")), [9464]);
        assert.deepEqual(table.plaintextPorts(table.of("warung-kopi", "postgres")), [9464]);
        assert.equal(principal(table.of("ecommerce", "auth")), "cluster.local/ns/ecommerce/sa/auth");
    });
});
