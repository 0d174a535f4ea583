// docs/common-changes.md, tried: every snippet is applied to the shipped stack files as a user would
// edit them, and what the stacks then create is checked. Two evaluations: eu with the scale and
// add-service recipes, and the new region's stack file; the rest reuses the shipped stacks'.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { deepMerge } from "../config";
import { selectorMatches } from "../policy/rules";
import { checkStack } from "../scripts/check";
import { deployedStack, prefetch } from "./harness/evaluate";
import { type K8sObject, kubernetesObjects, named } from "./harness/k8s";
import { summarise } from "./harness/report";
import { configOf, ROOT, STACKS, stackConfig } from "./harness/stack-config";

const DOC = fs.readFileSync(path.join(ROOT, "docs", "common-changes.md"), "utf8");
const PROJECT = "ecommerce-platform";

interface Recipe {
    id: string;
    attrs: Record<string, string>;
    /** The YAML block after the marker (a stack file, or keys to add to one). */
    yaml?: string;
    /** The text after the marker up to the next heading (tables). */
    body: string;
}

const RECIPES: Recipe[] = [...DOC.matchAll(/<!-- recipe: (\S+) ([^>]*)-->\n([\s\S]*?)(?=\n## |\n<!-- recipe|$)/g)].map(
    (m) => ({
        id: m[1],
        attrs: Object.fromEntries(
            m[2]
                .trim()
                .split(/\s+/)
                .map((kv) => kv.split("=")),
        ),
        yaml: /^```yaml\n([\s\S]*?)```/.exec(m[3])?.[1],
        body: m[3],
    }),
);
const recipe = (id: string) => {
    const r = RECIPES.find((x) => x.id === id);
    if (!r) throw new Error(`docs/common-changes.md has no recipe ${id}`);
    return r;
};

/** A stack file's config with a snippet's keys added as a user edits the file (objects and named lists merge). */
function edited(stack: string, ...snippets: string[]): Record<string, unknown> {
    const file = stackConfig(ROOT, stack).stackFile.config ?? {};
    const changes: Record<string, unknown> = {};
    for (const snippet of snippets)
        for (const [key, value] of Object.entries(parse(snippet) as Record<string, unknown>))
            changes[key] = deepMerge(changes[key] ?? file[key], value);
    // Overrides for the harness: project keys without their namespace.
    return Object.fromEntries(Object.entries(changes).map(([k, v]) => [k.replace(`${PROJECT}:`, ""), v]));
}

const EU = edited("eu", recipe("scale").yaml!, recipe("add-service").yaml!);
prefetch({ stack: "eu", configOverrides: EU }, ...STACKS.map((stack) => ({ stack })));

const objectsOf = async () => kubernetesObjects((await deployedStack("eu", { configOverrides: EU })).resources);
const podLabels = (o: K8sObject) => o.spec.template.metadata.labels as Record<string, string>;

/** Whether some NetworkPolicy lets `from`'s pods reach `to`'s pods (ingress on `to`, egress from `from`). */
function allowed(objects: K8sObject[], from: K8sObject, to: K8sObject): { ingress: boolean; egress: boolean } {
    const policies = objects.filter(
        (o) => o.kind === "NetworkPolicy" && o.metadata.namespace === to.metadata.namespace,
    );
    const peerMatches = (peers: any[] = [], pod: K8sObject) =>
        peers.some((p) => p.podSelector && !p.namespaceSelector && selectorMatches(p.podSelector, podLabels(pod)));
    return {
        ingress: policies.some(
            (p) =>
                selectorMatches(p.spec.podSelector, podLabels(to)) &&
                (p.spec.ingress ?? []).some((r: any) => peerMatches(r.from, from)),
        ),
        egress: policies.some(
            (p) =>
                selectorMatches(p.spec.podSelector, podLabels(from)) &&
                (p.spec.egress ?? []).some((r: any) => peerMatches(r.to, to)),
        ),
    };
}

describe("docs/common-changes.md, tried", () => {
    it("has the four recipes, each with its snippet", () => {
        assert.deepEqual(
            RECIPES.map((r) => r.id),
            ["scale", "add-service", "add-region", "add-region-peers", "rotate"],
        );
        for (const r of RECIPES.filter((x) => x.id !== "rotate")) assert.ok(r.yaml, `${r.id} has a YAML block`);
    });

    describe("scale a service in one region", () => {
        it("is a valid change of eu alone", () => {
            const cfg = configOf("eu", edited("eu", recipe("scale").yaml!));
            assert.deepEqual(
                [cfg.shop.frontend.autoscaling?.minReplicas, cfg.shop.frontend.autoscaling?.maxReplicas],
                [4, 16],
            );
            assert.equal(cfg.services.find((s) => s.name === "payment")?.autoscaling?.maxReplicas, 20);
            assert.equal(cfg.services.length, 4, "the other services stay");
        });

        it("scales eu's frontend and payment, within the quotas; us keeps the defaults", async () => {
            const objects = await objectsOf();
            const hpa = named(objects, "HorizontalPodAutoscaler", "frontend", "warung-kopi");
            assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [4, 16]);
            assert.equal(named(objects, "ScaledObject", "payment", "ecommerce").spec.maxReplicaCount, 20);
            const us = kubernetesObjects((await deployedStack("us")).resources);
            assert.deepEqual(
                [
                    named(us, "HorizontalPodAutoscaler", "frontend", "warung-kopi").spec.minReplicas,
                    named(us, "ScaledObject", "payment", "ecommerce").spec.maxReplicaCount,
                ],
                [3, 10],
            );
            const layers = summarise(await deployedStack("eu", { configOverrides: EU }), 3);
            assert.deepEqual(
                layers.flatMap((l) => [...l.overQuota, ...l.findings]),
                [],
            );
        });
    });

    describe("add a core service by configuration alone", () => {
        it("runs inventory with its Service, autoscaler, disruption budget and metrics", async () => {
            const objects = await objectsOf();
            const deployment = named(objects, "Deployment", "inventory", "ecommerce");
            assert.equal(deployment.spec.template.spec.containers[0].image, configOf("eu").images.service);
            assert.equal(deployment.spec.template.spec.containers[0].resources.requests.cpu, "100m");
            named(objects, "Service", "inventory", "ecommerce");
            named(objects, "PodDisruptionBudget", "inventory", "ecommerce");
            named(objects, "ServiceMonitor", "inventory", "ecommerce");
            const scaled = named(objects, "ScaledObject", "inventory", "ecommerce");
            assert.deepEqual([scaled.spec.minReplicaCount, scaled.spec.maxReplicaCount], [3, 10]);
        });

        it("routes https://api.<domain>/inventory to it through the gateway", async () => {
            const objects = await objectsOf();
            const route = objects.find(
                (o) =>
                    o.kind === "VirtualService" &&
                    (o.spec.gateways ?? []).length > 0 &&
                    (o.spec.http ?? []).some((h: any) =>
                        (h.route ?? []).some((d: any) => d.destination?.host?.startsWith("inventory.")),
                    ),
            );
            assert.ok(route, "a public route to inventory");
            assert.deepEqual(route.spec.hosts, ["api.eu.shop.example.com"]);
            assert.ok(
                route.spec.http.some((h: any) => (h.match ?? []).some((m: any) => m.uri?.prefix === "/inventory/")),
            );
        });

        it("lets exactly its flows through: product-catalog -> inventory -> auth, not payment -> inventory", async () => {
            const objects = await objectsOf();
            const deployment = (n: string) => named(objects, "Deployment", n, "ecommerce");
            const [inventory, catalog, auth, payment] = ["inventory", "product-catalog", "auth", "payment"].map(
                deployment,
            );
            assert.deepEqual(allowed(objects, catalog, inventory), { ingress: true, egress: true });
            assert.deepEqual(allowed(objects, inventory, auth), { ingress: true, egress: true });
            assert.deepEqual(allowed(objects, payment, inventory), { ingress: false, egress: false });
        });
    });

    describe("add a region", () => {
        it("checks the new stack file: production in sa, everything regional created, links to us, eu, asia pending", async function () {
            this.timeout(120000);
            const r = recipe("add-region");
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "region-"));
            const file = path.join(dir, r.attrs.file);
            fs.writeFileSync(file, r.yaml!);
            const { ok, text } = await checkStack(file);
            fs.rmSync(dir, { recursive: true, force: true });
            assert.ok(ok, text);
            assert.match(
                text,
                /tier production, region sa, eks cluster ecommerce-sa \(kubeconfig context: ecommerce-sa\)/,
            );
            assert.match(text, /https:\/\/kopi\.sa\.shop\.example\.com/);
            for (const link of ["mesh:us", "mesh:eu", "mesh:asia", "redis:us"])
                assert.ok(text.includes(`- ${link}`), link);
        });

        it("the existing regions accept sa as a peer", () => {
            const r = recipe("add-region-peers");
            for (const stack of r.attrs.stacks.split(",")) {
                const cfg = configOf(stack, edited(stack, r.yaml!));
                assert.equal(cfg.peers.sa, "acme/ecommerce-platform/sa", stack);
                assert.equal(Object.keys(cfg.peers).length, 3, `${stack} keeps its other peers`);
            }
        });
    });

    describe("rotate a generated secret", () => {
        const rows = [...recipe("rotate").body.matchAll(/^\|[^|]*\| `(urn:[^`]+)` \| ([^|]+) \|/gm)].map((m) => ({
            urn: m[1],
            secrets: [...m[2].matchAll(/`([^`/]+\/[^`]+)`/g)].map((s) => s[1]).sort(),
        }));

        it("lists every generated password of every stack", async () => {
            const names = new Set(rows.map((r) => r.urn.split("::").pop()));
            for (const stack of STACKS) {
                const passwords = (await deployedStack(stack)).resources.filter(
                    (r) => r.type === "random:index/randomPassword:RandomPassword",
                );
                assert.deepEqual(
                    passwords.map((p) => p.name).filter((n) => !names.has(n)),
                    [],
                    `${stack}: generated passwords docs/common-changes.md does not say how to rotate`,
                );
            }
        });

        it("names each password's URN in a stack, and exactly the Secrets a replacement updates in the same deploy", async () => {
            for (const row of rows) {
                const stack = /^urn:pulumi:([^:]+)::/.exec(row.urn)![1];
                const { resources } = await deployedStack(stack);
                assert.ok(
                    resources.some((r) => r.urn === row.urn),
                    `${row.urn} is no resource of ${stack}`,
                );
                // The Secrets take the password as an input: replacing it changes them in the same `pulumi up`.
                const holders = resources
                    .filter((r) => r.type === "kubernetes:core/v1:Secret" && r.dependencies.includes(row.urn))
                    .map((r) => `${r.inputs.metadata.namespace}/${r.inputs.metadata.name}`)
                    .sort();
                assert.deepEqual(row.secrets, holders, row.urn);
            }
        });
    });
});
