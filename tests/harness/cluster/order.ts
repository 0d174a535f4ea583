// Start order as `pulumi up` runs it: a resource is created once everything it depends on is (its
// recorded dependencies, and for a component every resource inside it). What an object or release
// reads at start must be among those: the CRDs of the API groups it uses, the admission webhook that
// checks them, the sidecar injector of its namespace, and the Services it reads from another layer.
// The needs come from the objects and the release values themselves (./catalog.ts), never from a list
// of expected edges.
import { helmReleases, type K8sObject, kubernetesObjects, podTemplate, unsecret } from "../k8s";
import type { RecordedResource, StackEvaluation } from "../types";
import { apiGroup, CHART_FACTS, chartView, isCustomResource, kindFacts, type Need } from "./catalog";

/** What `pulumi up` waits for before creating each resource. */
export class DependencyGraph {
    private readonly byUrn: Map<string, RecordedResource>;
    private readonly children = new Map<string, string[]>();
    private readonly closure = new Map<string, Set<string>>();

    constructor(readonly resources: readonly RecordedResource[]) {
        this.byUrn = new Map(resources.map((r) => [r.urn, r]));
        for (const r of resources)
            if (r.parent) this.children.set(r.parent, [...(this.children.get(r.parent) ?? []), r.urn]);
    }

    get(urn: string): RecordedResource | undefined {
        return this.byUrn.get(urn);
    }

    /** Every resource created before `r`: dependencies, theirs, and every resource inside a component depended on. */
    before(r: RecordedResource): Set<string> {
        let seen = this.closure.get(r.urn);
        if (seen) return seen;
        seen = new Set<string>();
        const queue = [...r.dependencies];
        while (queue.length) {
            const urn = queue.pop()!;
            if (seen.has(urn)) continue;
            seen.add(urn);
            const dep = this.byUrn.get(urn);
            if (!dep) continue;
            queue.push(...dep.dependencies);
            if (!dep.custom) queue.push(...(this.children.get(urn) ?? []));
        }
        this.closure.set(r.urn, seen);
        return seen;
    }

    waitsFor(r: RecordedResource, target: string): boolean {
        return this.before(r).has(target);
    }

    /** The top-level component a resource belongs to (its layer), e.g. "ServiceMesh mesh". */
    layerOf(r: RecordedResource): string {
        let cur = r;
        while (cur.parent && this.byUrn.has(cur.parent)) cur = this.byUrn.get(cur.parent)!;
        return `${cur.type.split(":").pop()} ${cur.name}`;
    }
}

const label = (r: RecordedResource) =>
    r.type === "kubernetes:helm.sh/v3:Release"
        ? `helm ${r.inputs.name}`
        : `${r.inputs?.kind ?? r.type.split(":").pop()} ${r.inputs?.metadata?.namespace ? `${r.inputs.metadata.namespace}/` : ""}${r.inputs?.metadata?.name ?? r.name}`;

const SERVICE_HOST = /\b([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?\b/g;

/** The environment variable our service image gates readiness on (apps/service.js): host:port,... */
export const READINESS_GATE = "DEPENDS_ON";

/**
 * In-cluster Service hosts a pod reads at start: those its readiness is gated on, and everything an init
 * container or a run-to-completion Job names (they fail, not wait, when a Service is missing).
 */
function startHosts(kind: string, spec: any): { service: string; namespace: string }[] {
    const texts = (c: any, all: boolean) => [
        ...(c.env ?? [])
            .filter((e: any) => all || e.name === READINESS_GATE)
            .map((e: any) => (typeof e.value === "string" ? e.value : "")),
        ...(all ? [...(c.args ?? []), ...(c.command ?? [])] : []),
    ];
    const runOnce = kind === "Job" || kind === "CronJob";
    const text = [
        ...(spec?.containers ?? []).flatMap((c: any) => texts(c, runOnce)),
        ...(spec?.initContainers ?? []).flatMap((c: any) => texts(c, c.restartPolicy !== "Always" || runOnce)),
    ].join(" ");
    return [...text.matchAll(SERVICE_HOST)].map((m) => ({ service: m[1], namespace: m[3] }));
}

export interface StartNeed {
    consumer: RecordedResource;
    need: Need;
    why: string;
}

/** What each object and release of a stack reads at start. */
export function startNeeds(ev: StackEvaluation): StartNeed[] {
    const objects = kubernetesObjects(ev.resources);
    const injected = new Set(
        objects
            .filter((o) => o.kind === "Namespace" && o.metadata.labels?.["istio-injection"] === "enabled")
            .map((o) => o.metadata.name),
    );
    const webhookGroups = new Set(
        helmReleases(ev.resources).flatMap((r) => CHART_FACTS[r.inputs.chart]?.webhooks ?? []),
    );
    const needs: StartNeed[] = [];
    const add = (consumer: RecordedResource, need: Need, why: string) => needs.push({ consumer, need, why });
    for (const o of objects) {
        const r = o.$resource;
        if (isCustomResource(o)) {
            const group = apiGroup(o.apiVersion);
            add(r, { crds: group }, `a ${o.kind} needs its CRD`);
            if (webhookGroups.has(group)) add(r, { webhook: group }, `${group} objects are checked by a webhook`);
            const facts = kindFacts(o);
            for (const n of facts?.needs?.(o) ?? []) add(r, n, `what the operator makes of the ${o.kind}`);
            // Pods an operator starts in an injected namespace get their sidecar from the injector too.
            if ((facts?.pods?.(o) ?? []).some((g) => injected.has(g.namespace)))
                add(r, { injector: true }, `the operator starts its pods in ${o.metadata.namespace}`);
        }
        const t = podTemplate(o);
        if (t) {
            const optedOut =
                t.metadata?.annotations?.["sidecar.istio.io/inject"] === "false" ||
                t.metadata?.labels?.["sidecar.istio.io/inject"] === "false";
            if (injected.has(o.metadata.namespace) && !optedOut)
                add(r, { injector: true }, `its pods get a sidecar in ${o.metadata.namespace}`);
            for (const h of startHosts(o.kind, t.spec)) add(r, h, `its pods read ${h.service}.${h.namespace} at start`);
        }
    }
    for (const rel of helmReleases(ev.resources)) {
        const facts = CHART_FACTS[rel.inputs.chart];
        if (!facts) continue;
        const view = chartView(facts, unsecret(rel.inputs.values ?? {}));
        for (const n of facts.needs?.(view) ?? []) add(rel, n, `the ${rel.inputs.chart} chart's pods read it at start`);
        if (injected.has(rel.inputs.namespace)) add(rel, { injector: true }, "its pods get a sidecar");
    }
    return needs;
}

/** The resources that satisfy a need in this stack (any one of them, once created, does). */
function providers(ev: StackEvaluation, objects: readonly K8sObject[], need: Need): RecordedResource[] {
    const releases = helmReleases(ev.resources);
    const facts = (r: RecordedResource) => CHART_FACTS[r.inputs.chart];
    if ("crds" in need)
        return [
            ...releases.filter((r) => facts(r)?.crds?.includes(need.crds)),
            ...objects
                .filter((o) => o.kind === "CustomResourceDefinition" && o.spec?.group === need.crds)
                .map((o) => o.$resource),
        ];
    if ("webhook" in need) return releases.filter((r) => facts(r)?.webhooks?.includes(need.webhook));
    if ("injector" in need) return releases.filter((r) => facts(r)?.injector);
    if ("chart" in need) return releases.filter((r) => r.inputs.chart === need.chart);
    // A Service: the object itself (Pulumi waits for its endpoints), the workloads it selects, or what
    // creates it: a release in its namespace, or a custom resource whose operator makes it.
    const inNs = objects.filter((o) => o.metadata.namespace === need.namespace);
    const service = inNs.find((o) => o.kind === "Service" && o.metadata.name === need.service);
    const selector = service?.spec?.selector;
    return [
        ...(service ? [service] : []),
        ...(selector
            ? inNs.filter((o) => {
                  const labels = podTemplate(o)?.metadata?.labels;
                  return labels && Object.entries<string>(selector).every(([k, v]) => labels[k] === v);
              })
            : []),
        ...inNs.filter((o) => isCustomResource(o) && kindFacts(o)?.services?.(o).includes(need.service)),
    ]
        .map((o) => o.$resource)
        .concat(releases.filter((r) => r.inputs.namespace === need.namespace));
}

const describe = (n: Need) =>
    "crds" in n
        ? `the ${n.crds} CRDs`
        : "webhook" in n
          ? `the ${n.webhook} admission webhook`
          : "injector" in n
            ? "the sidecar injector"
            : "chart" in n
              ? `a ${n.chart} release`
              : `Service ${n.namespace}/${n.service}`;

/** Needs the dependency graph does not order: the consumer may start before what it reads. */
export function orderProblems(ev: StackEvaluation, graph = new DependencyGraph(ev.resources)): string[] {
    const objects = kubernetesObjects(ev.resources);
    const problems = new Set<string>();
    for (const { consumer, need, why } of startNeeds(ev)) {
        const candidates = providers(ev, objects, need);
        if ("service" in need) {
            // Services of the consumer's own layer come up with it; another layer's must be there first.
            const foreign = candidates.filter((p) => graph.layerOf(p) !== graph.layerOf(consumer));
            if (candidates.length === 0 || foreign.length < candidates.length) continue;
        }
        if (candidates.length === 0) {
            problems.add(`${label(consumer)}: needs ${describe(need)} (${why}), which nothing in the stack provides`);
            continue;
        }
        if (!candidates.some((p) => p === consumer || graph.waitsFor(consumer, p.urn)))
            problems.add(
                `${label(consumer)}: needs ${describe(need)} (${why}) but does not wait for ${candidates
                    .map(label)
                    .join(" or ")}`,
            );
    }
    return [...problems];
}

// ---- the critical path -------------------------------------------------------------------------

/** A step `pulumi up` waits on: releases, workloads, custom resources it watches, load balancers, namespaces. */
export function isAwaited(r: RecordedResource): boolean {
    if (!r.custom) return false;
    if (r.type === "kubernetes:helm.sh/v3:Release") return true;
    const kind = r.inputs?.kind;
    const annotations = r.inputs?.metadata?.annotations ?? {};
    if (annotations["pulumi.com/skipAwait"] === "true") return false;
    if (["Namespace", "Deployment", "StatefulSet", "DaemonSet", "Job"].includes(kind)) return true;
    if (kind === "Service") return r.inputs?.spec?.type === "LoadBalancer";
    return !!annotations["pulumi.com/waitFor"];
}

export interface PathStep {
    label: string;
    layer: string;
}

/** The longest chain of awaited steps ending at each resource (memoised over one graph). */
export function chains(ev: StackEvaluation, graph = new DependencyGraph(ev.resources)) {
    const awaitedUrns = new Set(ev.resources.filter(isAwaited).map((r) => r.urn));
    const memo = new Map<string, RecordedResource[]>();
    const to = (r: RecordedResource): RecordedResource[] => {
        const hit = memo.get(r.urn);
        if (hit) return hit;
        let best: RecordedResource[] = [];
        for (const urn of graph.before(r)) {
            if (!awaitedUrns.has(urn)) continue;
            const chain = to(graph.get(urn)!);
            if (chain.length > best.length) best = chain;
        }
        const out = [...best, ...(awaitedUrns.has(r.urn) ? [r] : [])];
        memo.set(r.urn, out);
        return out;
    };
    const steps = (chain: RecordedResource[]): PathStep[] =>
        chain.map((r) => ({ label: label(r), layer: graph.layerOf(r) }));
    return { to: (r: RecordedResource) => steps(to(r)), awaited: ev.resources.filter(isAwaited), raw: to };
}

/** The longest chain of awaited steps through the dependency graph: what bounds a first `pulumi up`. */
export function criticalPath(ev: StackEvaluation, graph = new DependencyGraph(ev.resources)): PathStep[] {
    const c = chains(ev, graph);
    let path: RecordedResource[] = [];
    for (const r of c.awaited) {
        const chain = c.raw(r);
        if (chain.length > path.length) path = chain;
    }
    return path.map((r) => ({ label: label(r), layer: graph.layerOf(r) }));
}
