// Capacity of a stack: CPU and memory requests and limits of every pod template the program emits and
// of the pods it makes operators and some charts run (operatedWorkloads), at minimum and at maximum
// replicas, per namespace, next to the namespace's ResourceQuota.
import { parseQuantity } from "../../config/quantity";
import { type K8sObject, kubernetesObjects, podTemplate, unsecret } from "./k8s";
import type { RecordedResource } from "./types";

export interface Amounts {
    cpu: number;
    memory: number;
}
export interface PodCost {
    requests: Amounts;
    limits: Amounts;
}
export interface WorkloadCapacity {
    namespace: string;
    kind: string;
    name: string;
    perPod: PodCost;
    minReplicas: number;
    maxReplicas: number;
}
export interface NamespaceCapacity {
    namespace: string;
    min: PodCost;
    max: PodCost;
    /** ResourceQuota hard limits (requests.cpu, requests.memory, limits.cpu, limits.memory), if any. */
    quota?: PodCost;
}

const zero = (): Amounts => ({ cpu: 0, memory: 0 });
const add = (a: Amounts, b: Amounts, times = 1): Amounts => ({
    cpu: a.cpu + b.cpu * times,
    memory: a.memory + b.memory * times,
});
const max = (a: Amounts, b: Amounts): Amounts => ({
    cpu: Math.max(a.cpu, b.cpu),
    memory: Math.max(a.memory, b.memory),
});

function amounts(r: any, unset = 0): Amounts {
    return {
        cpu: r?.cpu !== undefined ? parseQuantity(String(r.cpu)) : unset,
        memory: r?.memory !== undefined ? parseQuantity(String(r.memory)) : unset,
    };
}

/** Whether `use` stays within `quota` in every dimension the quota sets (an unset one is unlimited). */
export function fitsQuota(use: PodCost, quota: PodCost): boolean {
    const within = (u: number, q: number) => Number.isNaN(q) || u <= q;
    return (
        within(use.requests.cpu, quota.requests.cpu) &&
        within(use.requests.memory, quota.requests.memory) &&
        within(use.limits.cpu, quota.limits.cpu) &&
        within(use.limits.memory, quota.limits.memory)
    );
}

/**
 * What one pod reserves, as the scheduler and quota count it: the larger of the sum of its
 * containers (native sidecars included) and its largest init container; plus an injected sidecar.
 */
export function podCost(spec: any, sidecar?: PodCost): PodCost {
    const sum = (cs: any[] = []) =>
        cs.reduce(
            (acc, c) => ({
                requests: add(acc.requests, amounts(c.resources?.requests)),
                limits: add(acc.limits, amounts(c.resources?.limits)),
            }),
            { requests: zero(), limits: zero() },
        );
    const regular = sum([
        ...(spec.containers ?? []),
        ...(spec.initContainers ?? []).filter((c: any) => c.restartPolicy === "Always"),
    ]);
    const init = (spec.initContainers ?? [])
        .filter((c: any) => c.restartPolicy !== "Always")
        .reduce(
            (acc: PodCost, c: any) => ({
                requests: max(acc.requests, amounts(c.resources?.requests)),
                limits: max(acc.limits, amounts(c.resources?.limits)),
            }),
            { requests: zero(), limits: zero() },
        );
    const withSidecar = sidecar
        ? { requests: add(regular.requests, sidecar.requests), limits: add(regular.limits, sidecar.limits) }
        : regular;
    return { requests: max(withSidecar.requests, init.requests), limits: max(withSidecar.limits, init.limits) };
}

function replicaBounds(o: K8sObject, objects: K8sObject[], nodes: number): [number, number] {
    const ns = o.metadata.namespace;
    if (o.kind === "DaemonSet") return [nodes, nodes];
    if (o.kind === "Job" || o.kind === "CronJob") return [0, o.spec?.parallelism ?? 1];
    const hpa = objects.find(
        (h) =>
            h.kind === "HorizontalPodAutoscaler" &&
            h.metadata.namespace === ns &&
            h.spec?.scaleTargetRef?.name === o.metadata.name &&
            h.spec?.scaleTargetRef?.kind === o.kind,
    );
    if (hpa) return [hpa.spec.minReplicas ?? 1, hpa.spec.maxReplicas];
    const scaled = objects.find(
        (s) =>
            s.kind === "ScaledObject" &&
            s.metadata.namespace === ns &&
            s.spec?.scaleTargetRef?.name === o.metadata.name,
    );
    if (scaled) return [scaled.spec.minReplicaCount ?? 1, scaled.spec.maxReplicaCount ?? 100];
    const replicas = o.spec?.replicas ?? 1;
    return [replicas, replicas];
}

/** The Istio sidecar's resources from the istiod release values (global.proxy.resources), if the mesh is on. */
export function sidecarCost(resources: RecordedResource[]): PodCost | undefined {
    const istiod = resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs?.chart === "istiod");
    const proxy = istiod?.inputs?.values?.global?.proxy?.resources;
    return proxy ? { requests: amounts(proxy.requests), limits: amounts(proxy.limits) } : undefined;
}

/**
 * Pods the program does not template itself but causes: a CloudNativePG Cluster's instances (the
 * postgres container and the Barman Cloud plugin's sidecar from the ObjectStore it names; at most one
 * bootstrap or join Job beside them), and the pods of the charts whose sizes the stack sets for a
 * quota'd namespace or the capacity table (OpenSearch's nodes, Jaeger and its index cleaner), read
 * from the values as the pinned charts render them.
 */
export function operatedWorkloads(resources: RecordedResource[]): WorkloadCapacity[] {
    const objects = kubernetesObjects(resources);
    const out: WorkloadCapacity[] = [];
    const container = (resources: any) => ({ resources: resources ?? {} });
    for (const c of objects.filter((o) => o.kind === "Cluster" && o.apiVersion.startsWith("postgresql.cnpg.io/"))) {
        const ns = c.metadata.namespace!;
        const stores = (c.spec.plugins ?? []).map((p: any) => p.parameters?.barmanObjectName).filter(Boolean);
        const sidecars = objects
            .filter((o) => o.kind === "ObjectStore" && o.metadata.namespace === ns && stores.includes(o.metadata.name))
            .map((o) => container(o.spec.instanceSidecarConfiguration?.resources));
        const instances = c.spec.instances ?? 1;
        out.push({
            namespace: ns,
            kind: "Cluster",
            name: c.metadata.name!,
            perPod: podCost({ containers: [container(c.spec.resources), ...sidecars] }),
            minReplicas: instances,
            maxReplicas: instances + 1,
        });
    }
    for (const rel of resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release")) {
        const v = unsecret(rel.inputs.values ?? {});
        const ns = rel.inputs.namespace as string;
        if (rel.inputs.chart === "opensearch") {
            const replicas = v.singleNode ? 1 : (v.replicas ?? 3);
            out.push({
                namespace: ns,
                kind: "StatefulSet (chart opensearch)",
                name: `${v.clusterName ?? "opensearch-cluster"}-${v.nodeGroup ?? "master"}`,
                perPod: podCost({ containers: [container(v.resources)], initContainers: [container(v.initResources)] }),
                minReplicas: replicas,
                maxReplicas: replicas,
            });
        }
        if (rel.inputs.chart === "jaeger") {
            const name = v.fullnameOverride ?? rel.inputs.name;
            if (v.jaeger?.enabled !== false) {
                const replicas = v.jaeger?.replicas ?? 1;
                out.push({
                    namespace: ns,
                    kind: "Deployment (chart jaeger)",
                    name,
                    perPod: podCost({ containers: [container(v.jaeger?.resources)] }),
                    minReplicas: replicas,
                    maxReplicas: replicas,
                });
            }
            if (v.esIndexCleaner?.enabled)
                out.push({
                    namespace: ns,
                    kind: "CronJob (chart jaeger)",
                    name: `${name}-es-index-cleaner`,
                    perPod: podCost({ containers: [container(v.esIndexCleaner.resources)] }),
                    minReplicas: 0,
                    maxReplicas: 1,
                });
        }
    }
    return out;
}

export function workloadCapacity(resources: RecordedResource[], nodes = 1): WorkloadCapacity[] {
    return [...templatedWorkloads(resources, nodes), ...operatedWorkloads(resources)];
}

/** Workloads whose pod templates the program writes. */
function templatedWorkloads(resources: RecordedResource[], nodes: number): WorkloadCapacity[] {
    const objects = kubernetesObjects(resources);
    const sidecar = sidecarCost(resources);
    const injected = new Set(
        objects
            .filter((o) => o.kind === "Namespace" && o.metadata.labels?.["istio-injection"] === "enabled")
            .map((o) => o.metadata.name),
    );
    return objects.flatMap((o) => {
        const template = podTemplate(o);
        if (!template || o.kind === "Pod") return [];
        const optedOut =
            template.metadata?.annotations?.["sidecar.istio.io/inject"] === "false" ||
            template.metadata?.labels?.["sidecar.istio.io/inject"] === "false";
        const withSidecar = injected.has(o.metadata.namespace) && !optedOut ? sidecar : undefined;
        const [minReplicas, maxReplicas] = replicaBounds(o, objects, nodes);
        return [
            {
                namespace: o.metadata.namespace!,
                kind: o.kind,
                name: o.metadata.name!,
                perPod: podCost(template.spec, withSidecar),
                minReplicas,
                maxReplicas,
            },
        ];
    });
}

export function namespaceCapacity(resources: RecordedResource[], nodes = 1): NamespaceCapacity[] {
    const objects = kubernetesObjects(resources);
    const byNs = new Map<string, NamespaceCapacity>();
    for (const w of workloadCapacity(resources, nodes)) {
        const entry = byNs.get(w.namespace) ?? {
            namespace: w.namespace,
            min: { requests: zero(), limits: zero() },
            max: { requests: zero(), limits: zero() },
        };
        entry.min = {
            requests: add(entry.min.requests, w.perPod.requests, w.minReplicas),
            limits: add(entry.min.limits, w.perPod.limits, w.minReplicas),
        };
        entry.max = {
            requests: add(entry.max.requests, w.perPod.requests, w.maxReplicas),
            limits: add(entry.max.limits, w.perPod.limits, w.maxReplicas),
        };
        byNs.set(w.namespace, entry);
    }
    for (const q of objects.filter((o) => o.kind === "ResourceQuota")) {
        const hard = q.spec?.hard ?? {};
        const entry = byNs.get(q.metadata.namespace!);
        if (entry) {
            // A dimension the quota does not set is NaN: unlimited.
            entry.quota = {
                requests: amounts({ cpu: hard["requests.cpu"], memory: hard["requests.memory"] }, NaN),
                limits: amounts({ cpu: hard["limits.cpu"], memory: hard["limits.memory"] }, NaN),
            };
        }
    }
    return [...byNs.values()].sort((a, b) => a.namespace.localeCompare(b.namespace));
}
