// ResourceQuota arithmetic, one way for every namespace the program fences: each kind of pod at the
// most copies that can exist at once, counted as the scheduler and the quota admission count them.
import type { Resources } from "../config";
import { formatCpu, formatMemory, parseQuantity } from "../config/quantity";

/** One kind of pod a namespace runs and how many of it can exist at once. */
export interface PodShape {
    workload: string;
    /** Most pods of this shape alive at the same time (HPA maximum + rollout surge, or 1 for a Job). */
    pods: number;
    containers: Resources[];
    initContainers?: Resources[];
}

export interface PodFootprint {
    requestsCpu: number;
    requestsMemory: number;
    /** undefined when some container sets no CPU limit. */
    limitsCpu?: number;
    limitsMemory: number;
}

/**
 * What one pod counts against a quota: the larger of its containers' sum and its largest init
 * container (as the scheduler computes it), plus a sidecar the mesh injects into every pod.
 */
export function podFootprint(shape: PodShape, sidecar?: Resources): PodFootprint {
    const dim = (get: (r: Resources) => string | undefined): number | undefined => {
        const values = [...shape.containers, ...(shape.initContainers ?? []), ...(sidecar ? [sidecar] : [])].map(get);
        if (values.some((v) => v === undefined)) return undefined;
        const q = (r: Resources) => parseQuantity(get(r)!);
        const sum = shape.containers.reduce((a, r) => a + q(r), 0);
        const init = Math.max(0, ...(shape.initContainers ?? []).map(q));
        return Math.max(sum, init) + (sidecar ? q(sidecar) : 0);
    };
    return {
        requestsCpu: dim((r) => r.requests.cpu)!,
        requestsMemory: dim((r) => r.requests.memory)!,
        limitsCpu: dim((r) => r.limits.cpu),
        limitsMemory: dim((r) => r.limits.memory)!,
    };
}

export interface QuotaExtras {
    persistentVolumeClaims: number;
    /** Bytes of storage all PVCs request. */
    storage: number;
    loadBalancers: number;
    nodePorts: number;
}

/** ResourceQuota `hard` that fits every shape at its maximum count at the same time. */
export function quotaFor(shapes: PodShape[], extras: QuotaExtras, sidecar?: Resources): Record<string, string> {
    const prints = shapes.map((s) => ({ n: s.pods, f: podFootprint(s, sidecar) }));
    const total = (get: (f: PodFootprint) => number | undefined) =>
        prints.reduce((a, { n, f }) => a + n * (get(f) ?? NaN), 0);
    const limitsCpu = total((f) => f.limitsCpu);
    const storageGi = Math.ceil(extras.storage / 2 ** 30);
    return {
        pods: String(shapes.reduce((a, s) => a + s.pods, 0)),
        "requests.cpu": formatCpu(Math.ceil(total((f) => f.requestsCpu) * 1000) / 1000),
        "requests.memory": formatMemory(total((f) => f.requestsMemory)),
        ...(Number.isNaN(limitsCpu) ? {} : { "limits.cpu": formatCpu(Math.ceil(limitsCpu * 1000) / 1000) }),
        "limits.memory": formatMemory(total((f) => f.limitsMemory)),
        persistentvolumeclaims: String(extras.persistentVolumeClaims),
        "requests.storage": `${storageGi}Gi`,
        "services.loadbalancers": String(extras.loadBalancers),
        "services.nodeports": String(extras.nodePorts),
    };
}
