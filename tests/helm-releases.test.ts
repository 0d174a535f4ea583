// Helm releases against their charts (audit of the pinned chart versions): values that would make a
// first `pulumi up` fail or hang although every key exists in the chart.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { secretValue } from "../config/files";
import { CHART_PODS, type ChartPods } from "../components/chart-pods";
import { CHARTS, mergeValues } from "../components/helm";
import { ALLOWED_HELM_REPOSITORIES } from "../policy/rules";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases, unsecret } from "./harness/k8s";
import { configOf, STACKS } from "./harness/stack-config";
import type { RecordedResource, StackEvaluation } from "./harness/types";

const releasesOf = (r: StackEvaluation, chart: string) =>
    helmReleases(r.resources).filter((x) => x.inputs.chart === chart);
const valuesOf = (rel: RecordedResource) => unsecret(rel.inputs.values ?? {});

/** dev with external-dns (Cloudflare) but without the service mesh: no Istio CRDs in the cluster. */
const DEV_DNS_WITHOUT_MESH = {
    layers: { ...configOf("dev").layers, mesh: false, tracing: false, externalDns: true },
    dns: { provider: "cloudflare", zone: "localtest.me" },
    dnsCredentials: secretValue({ apiToken: "helm-releases-test-token" }),
};

prefetch(...STACKS.map((stack) => ({ stack })));

describe("Helm releases against their charts", () => {
    describe("kube-prometheus-stack admission webhook", () => {
        for (const stack of STACKS) {
            it(`${stack}: the first install cannot be rejected by the PrometheusRule webhook it is still setting up`, async () => {
                const [kps] = releasesOf(await deployedStack(stack), "kube-prometheus-stack");
                assert.ok(kps, "kube-prometheus-stack is installed");
                const webhooks = valuesOf(kps).prometheusOperator.admissionWebhooks;
                assert.equal(webhooks.enabled, true, "PrometheusRules are validated");
                // With patch-Job certificates the webhook has no CA bundle until the post-install hook has
                // run, so "Fail" on install rejects the chart's own default rules and fails the release.
                assert.notEqual(webhooks.certManager?.enabled, true);
                assert.equal(webhooks.failurePolicy, "IgnoreOnInstallOnly");
            });
        }
    });

    describe("istio-cni node agent paths", () => {
        for (const stack of STACKS) {
            it(`${stack}: the CNI binary directory matches the distribution`, async () => {
                const r = await deployedStack(stack);
                const [cni] = releasesOf(r, "cni");
                assert.ok(cni, "istio-cni is installed");
                const v = valuesOf(cni);
                const distribution = configOf(stack).cluster.distribution;
                if (distribution === "gke") {
                    // Not left to version-string detection (Helm 3.19.0 strips "-gke"): /opt/cni/bin is read-only there.
                    assert.equal(v.cni?.cniBinDir, "/home/kubernetes/bin");
                    assert.equal(v.global?.platform, "gke");
                } else {
                    assert.equal(
                        v.cni?.cniBinDir,
                        undefined,
                        "chart default (/opt/cni/bin) or the platform profile decides",
                    );
                    assert.equal(v.cniBinDir, undefined);
                }
            });
        }
    });

    describe("external-dns sources", () => {
        it("watches Istio Gateways and VirtualServices where the mesh installs their CRDs", async () => {
            for (const stack of ["us", "eu", "asia"] as const) {
                const [dns] = releasesOf(await deployedStack(stack), "external-dns");
                assert.ok(dns, `${stack} runs external-dns`);
                assert.deepEqual(
                    valuesOf(dns).sources,
                    ["service", "ingress", "istio-gateway", "istio-virtualservice"],
                    stack,
                );
            }
        });

        it("is not installed without the mesh layer: its names come from the mesh's Gateways, VirtualServices and Ingresses", () => {
            assert.throws(
                () => configOf("dev", DEV_DNS_WITHOUT_MESH),
                /layers\.externalDns = true: expected layers\.mesh: true as well/,
            );
        });
    });
});

describe("pinned charts", () => {
    it("installs only charts of the pin table, at their pinned version, with a fixed name and explicit timeouts", async () => {
        const pins = Object.values(CHARTS);
        for (const pin of pins)
            assert.ok(
                ALLOWED_HELM_REPOSITORIES.includes(pin.repo),
                `${pin.chart}: ${pin.repo} is allowed by the policy pack`,
            );
        for (const stack of STACKS) {
            for (const rel of helmReleases((await deployedStack(stack)).resources)) {
                const pin = pins.find(
                    (p) => p.chart === rel.inputs.chart && p.repo === rel.inputs.repositoryOpts?.repo,
                );
                assert.ok(pin, `${stack}: ${rel.inputs.chart} comes from the pin table`);
                assert.equal(rel.inputs.version, pin.version, `${stack}: ${rel.inputs.chart} version`);
                assert.ok(rel.inputs.name, `${stack}: ${rel.inputs.chart} has a fixed release name`);
                assert.ok(
                    rel.inputs.timeout > 0 && rel.customTimeouts?.create,
                    `${stack}: ${rel.inputs.name} has Helm and Pulumi timeouts`,
                );
            }
        }
        // Values merge like Helm's: maps key by key, lists replace.
        assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } }), { a: { b: 1, c: [3] } });
    });
});

/**
 * Where the chart pod label table (components/chart-pods.ts) disagrees with how a stack installs the
 * chart: labels derived from a release name need that release name, kube-prometheus-stack's from its
 * fullnameOverride.
 */
function chartPodLabelProblems(table: Record<string, ChartPods>, releases: RecordedResource[]): string[] {
    return Object.entries(table).flatMap(([role, pods]) => {
        const installed = releases.filter((r) => r.inputs.chart === CHARTS[pods.chart].chart);
        const problems: string[] = [];
        // A chart installed more than once (the gateway chart) is matched by release name: a release no
        // entry of the table names is one whose pods the program does not know the labels of.
        const known = new Set(Object.values(table).flatMap((p) => (p.chart === pods.chart ? [p.release] : [])));
        const unknown = installed.map((r) => r.inputs.name as string).filter((n) => !known.has(n));
        if (pods.release && !installed.some((r) => r.inputs.name === pods.release) && unknown.length > 0)
            problems.push(`${role}: labels follow release ${pods.release}, installed as ${unknown.join(", ")}`);
        for (const [k, v] of Object.entries(pods.selector))
            if (pods.labels[k] !== v) problems.push(`${role}: selects ${k}=${v}, which its pods do not carry`);
        const fullname = installed.length > 0 ? valuesOf(installed[0]).fullnameOverride : undefined;
        for (const v of Object.values(pods.labels))
            if (pods.chart === "kubePrometheusStack" && /^kps-/.test(v) && fullname !== "kps")
                problems.push(`${role}: label ${v} assumes fullnameOverride kps, the release has ${fullname}`);
        return problems;
    });
}

describe("chart pod labels", () => {
    it("match the release names and overrides every stack installs the charts with", async () => {
        const problems: string[] = [];
        for (const stack of STACKS)
            problems.push(
                ...chartPodLabelProblems(CHART_PODS, helmReleases((await deployedStack(stack)).resources)).map(
                    (p) => `${stack}: ${p}`,
                ),
            );
        assert.deepEqual(problems, []);
    });

    it("self-test: a renamed release or a selector the pods lack is reported", async () => {
        const releases = structuredClone(helmReleases((await deployedStack("us")).resources));
        releases.find((r) => r.inputs.name === "cert-manager")!.inputs.name = "certmanager";
        const broken = structuredClone(CHART_PODS) as Record<string, any>;
        broken.jaeger.selector = { ...broken.jaeger.selector, "app.kubernetes.io/part-of": "tracing" };
        const problems = chartPodLabelProblems(broken, releases);
        assert.deepEqual(
            problems.map((p) => p.split(":")[0]),
            ["jaeger", "certManager", "certManagerWebhook", "certManagerCainjector"],
        );
    });
});

// ---------------------------------------------------------------------------------------------
// The runbook's table of what a deploy installs, in order

/** Rows of docs/runbook.md "What one `pulumi up` installs, in order": step, items, the items' prerequisites named. */
function deployOrderRows(): { step: number; items: string[]; waitsFor: string[] }[] {
    const text = fs.readFileSync(path.resolve(__dirname, "..", "docs", "runbook.md"), "utf8");
    const start = text.indexOf("## What one `pulumi up` installs, in order");
    assert.ok(start >= 0, "the runbook has the deploy order");
    const section = text.slice(start, text.indexOf("\n## ", start + 1));
    const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    return section
        .split("\n")
        .filter((l) => /^\| \d+ \|/.test(l))
        .map((l) => {
            const cells = l.split("|").map((c) => c.trim());
            return { step: Number(cells[1]), items: ticked(cells[2]), waitsFor: ticked(cells[5]) };
        });
}

/** Helm releases by release name and the operator-run objects the table lists, by kind. */
const ORDERED_KINDS = ["Cluster", "RedisEnterpriseCluster"];

/** Each release or listed object of a stack, and the releases and listed objects it waits for (transitively). */
function installOrder(resources: RecordedResource[]): Map<string, Set<string>> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const children = new Map<string, string[]>();
    for (const r of resources) if (r.parent) children.set(r.parent, [...(children.get(r.parent) ?? []), r.urn]);
    const items = resources.filter(
        (r) => r.type === "kubernetes:helm.sh/v3:Release" || ORDERED_KINDS.includes(r.inputs?.kind),
    );
    const label = (r: RecordedResource) => (r.type === "kubernetes:helm.sh/v3:Release" ? r.inputs.name : r.inputs.kind);
    const out = new Map<string, Set<string>>();
    for (const item of items) {
        const seen = new Set<string>();
        const queue = [...item.dependencies];
        while (queue.length) {
            const u = queue.pop()!;
            if (seen.has(u)) continue;
            seen.add(u);
            const r = byUrn.get(u);
            queue.push(...(r?.dependencies ?? []), ...(r?.custom === false ? (children.get(u) ?? []) : []));
        }
        out.set(label(item), new Set(items.filter((x) => seen.has(x.urn)).map(label)));
    }
    return out;
}

/** What is wrong with the table for these stacks' install orders. */
function deployOrderProblems(rows: ReturnType<typeof deployOrderRows>, stacks: Map<string, Set<string>>[]): string[] {
    const problems: string[] = [];
    const step = new Map<string, number>();
    for (const r of rows) for (const i of r.items) step.set(i, r.step);
    const waits = new Map<string, Set<string>>();
    for (const order of stacks)
        for (const [item, deps] of order) waits.set(item, new Set([...(waits.get(item) ?? []), ...deps]));
    for (const item of waits.keys()) if (!step.has(item)) problems.push(`${item} is installed but not in the table`);
    for (const item of step.keys())
        if (!waits.has(item)) problems.push(`${item} is in the table but no stack installs it`);
    for (const [item, deps] of waits) {
        if (!step.has(item)) continue;
        const expected = 1 + Math.max(0, ...[...deps].map((d) => step.get(d) ?? 0));
        if (step.get(item) !== expected)
            problems.push(
                `${item}: step ${step.get(item)}, but it waits for ${[...deps].join(", ") || "no release"}: step ${expected}`,
            );
    }
    for (const r of rows)
        for (const named of r.waitsFor)
            if (r.items.length > 0 && !r.items.some((i) => waits.get(i)?.has(named)))
                problems.push(`${r.items.join(", ")}: the table says it waits for ${named}, the program does not`);
    return problems;
}

describe("the runbook's deploy order", () => {
    it("lists every release and operator-run data object the stacks install, each at the step its prerequisites give", async () => {
        const orders = await Promise.all(STACKS.map(async (s) => installOrder((await deployedStack(s)).resources)));
        const rows = deployOrderRows();
        assert.deepEqual(deployOrderProblems(rows, orders), []);
        assert.ok(rows.some((r) => r.items.includes("opensearch")) && rows.some((r) => r.items.includes("Cluster")));
        // Self-test: a release left out, one too early, a prerequisite the program does not have.
        const broken = structuredClone(rows).filter((r) => !r.items.includes("keda"));
        broken.find((r) => r.items.includes("jaeger"))!.step = 1;
        broken.find((r) => r.items.includes("cnpg"))!.waitsFor.push("keda");
        const found = deployOrderProblems(broken, orders).join("\n");
        assert.match(found, /keda is installed but not in the table/);
        assert.match(found, /jaeger: step 1, but it waits for opensearch: step 2/);
        assert.match(found, /cnpg: the table says it waits for keda/);
    });
});
