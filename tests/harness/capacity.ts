// Capacity of a stack: CPU and memory requests and limits of every pod template the program emits,
// at minimum and at maximum replicas, per namespace, next to the namespace's ResourceQuota.
import { parseQuantity } from "../../config/quantity";
import { type K8sObject, kubernetesObjects, podTemplate } from "./k8s";
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

export function workloadCapacity(resources: RecordedResource[], nodes = 1): WorkloadCapacity[] {
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
