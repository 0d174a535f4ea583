// What a stack would create, per layer, from an offline evaluation (`npm run check -- <stack>`):
// resources by kind, images and charts, public and internal endpoints, storage requests, capacity
// against the namespaces' quotas, policy findings and cross-region links still pending.
import { evaluate, toPolicyResource } from "../../policy/rules";
import { formatCpu, formatMemory } from "../../config/quantity";
import { fitsQuota, namespaceCapacity, type PodCost } from "./capacity";
import { type K8sObject, kubernetesObjects, podTemplate } from "./k8s";
import type { RecordedResource, StackEvaluation } from "./types";

export interface LayerSummary {
    /** The top-level component's name (e.g. warung-kopi), or "stack" for what belongs to none. */
    layer: string;
    /** Its component type without the package prefix (e.g. WarungKopi). */
    component?: string;
    resources: number;
    /** Kubernetes kind (or resource type) -> count. */
    kinds: Record<string, number>;
    /** Helm charts installed, `chart@version` (release namespace/name). */
    charts: string[];
    images: string[];
    publicEndpoints: string[];
    internalEndpoints: string[];
    storage: string[];
    capacity: string[];
    /** Namespaces whose quota cannot hold their workloads at maximum replicas. */
    overQuota: string[];
    findings: string[];
    pending: string[];
}

const STACK = "pulumi:pulumi:Stack";
const shortType = (type: string) => type.split(":").pop()!;

/** The top-level component of every resource: the ancestor whose parent is the stack. */
function layerOf(resources: RecordedResource[]): Map<string, RecordedResource | undefined> {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const out = new Map<string, RecordedResource | undefined>();
    for (const r of resources) {
        let top: RecordedResource | undefined = r;
        while (top?.parent && byUrn.has(top.parent) && byUrn.get(top.parent)!.type !== STACK)
            top = byUrn.get(top.parent);
        out.set(r.urn, top && !top.custom && top.type !== STACK ? top : undefined);
    }
    return out;
}

// A quota without limits lines caps requests only: its limits are "not capped".
const cost = (c: PodCost) => {
    const show = (v: number, format: (x: number) => string) => (Number.isNaN(v) ? "any" : format(v));
    const limits =
        Number.isNaN(c.limits.cpu) && Number.isNaN(c.limits.memory)
            ? "not capped"
            : `${show(c.limits.cpu, formatCpu)} CPU / ${show(c.limits.memory, formatMemory)}`;
    return `requests ${formatCpu(c.requests.cpu)} CPU / ${formatMemory(c.requests.memory)}, limits ${limits}`;
};

function endpoints(o: K8sObject): { public: string[]; internal: string[] } {
    const ns = o.metadata.namespace;
    const name = `${ns}/${o.metadata.name}`;
    if (o.kind === "Service") {
        const ports = (o.spec?.ports ?? []).map((p: any) => p.port).join(",");
        const type = o.spec?.type ?? "ClusterIP";
        if (type === "LoadBalancer") {
            const internal = Object.keys(o.metadata.annotations ?? {}).some((a) =>
                /internal|load-balancer-type/.test(a),
            );
            const ranges = o.spec?.loadBalancerSourceRanges?.join(" ") ?? "anywhere";
            return internal
                ? { public: [], internal: [`LoadBalancer ${name}:${ports} (internal, from ${ranges})`] }
                : { public: [`LoadBalancer ${name}:${ports} (from ${ranges})`], internal: [] };
        }
        if (type === "NodePort") return { public: [`NodePort ${name}:${ports} (every node)`], internal: [] };
        return { public: [], internal: [`${o.metadata.name}.${ns}.svc:${ports}`] };
    }
    if (o.kind === "Ingress")
        return { public: (o.spec?.rules ?? []).map((r: any) => `https://${r.host} (Ingress ${name})`), internal: [] };
    if (o.kind === "Gateway")
        return {
            public: (o.spec?.servers ?? []).flatMap((s: any) =>
                (s.hosts ?? []).map((h: string) => `${h}:${s.port?.number} (Gateway ${name})`),
            ),
            internal: [],
        };
    if (o.kind === "VirtualService" && (o.spec?.gateways ?? []).length > 0)
        return {
            public: (o.spec?.http ?? []).flatMap((route: any) =>
                (route.match ?? []).flatMap((m: any) =>
                    (o.spec.hosts ?? []).map(
                        (h: string) => `https://${h}${m.uri?.prefix ?? ""} (VirtualService ${name})`,
                    ),
                ),
            ),
            internal: [],
        };
    return { public: [], internal: [] };
}

/** Storage a resource asks for: claims, claim templates (also inside Helm values), volumes, Redis Enterprise nodes. */
function storageOf(r: RecordedResource): string[] {
    const out: string[] = [];
    const label = r.inputs?.metadata?.name
        ? `${shortType(r.type)} ${r.inputs.metadata.namespace ?? ""}/${r.inputs.metadata.name}`.replace(" /", " ")
        : `${shortType(r.type)} ${r.inputs?.namespace ?? ""}/${r.inputs?.name ?? r.name}`;
    const walk = (v: any, path: string) => {
        if (!v || typeof v !== "object") return;
        if (v.resources?.requests?.storage)
            out.push(`${label}${path ? ` ${path}` : ""}: ${v.resources.requests.storage}`);
        for (const [k, x] of Object.entries(v)) if (k !== "metadata") walk(x, path ? `${path}.${k}` : k);
    };
    if (r.type.endsWith(":PersistentVolume")) out.push(`${label}: ${r.inputs?.spec?.capacity?.storage}`);
    else if (/^kubernetes:postgresql\.cnpg\.io\/[^:]+:Cluster$/.test(r.type)) {
        const { storage, walStorage, instances } = r.inputs?.spec ?? {};
        out.push(
            `${label}: data ${storage?.size}${walStorage ? ` + WAL ${walStorage.size}` : ""} per instance, ${instances ?? 1} instance(s)`,
        );
    } else if (r.type.endsWith(":RedisEnterpriseCluster"))
        out.push(`${label}: ${r.inputs?.spec?.persistentSpec?.volumeSize ?? "(operator default)"} per node`);
    else if (r.type.endsWith(":PersistentVolumeClaim")) walk(r.inputs?.spec, "");
    else if (r.type.endsWith(":StatefulSet"))
        for (const t of r.inputs?.spec?.volumeClaimTemplates ?? [])
            out.push(`${label} claim ${t.metadata?.name} per replica: ${t.spec?.resources?.requests?.storage}`);
    else if (r.type === "kubernetes:helm.sh/v3:Release") walk(r.inputs?.values, "");
    return out;
}

/** The per-layer summary of an evaluated stack. `nodes`: how many nodes DaemonSets count for. */
export function summarise(evaluation: StackEvaluation, nodes: number): LayerSummary[] {
    const { resources, outputs } = evaluation;
    const tops = layerOf(resources);
    const layers = new Map<string, LayerSummary>();
    const summary = (top: RecordedResource | undefined): LayerSummary => {
        const layer = top?.name ?? "stack (the Kubernetes provider and what no layer owns)";
        let s = layers.get(layer);
        if (!s) {
            s = {
                layer,
                component: top ? shortType(top.type) : undefined,
                resources: 0,
                kinds: {},
                charts: [],
                images: [],
                publicEndpoints: [],
                internalEndpoints: [],
                storage: [],
                capacity: [],
                overQuota: [],
                findings: [],
                pending: [],
            };
            layers.set(layer, s);
        }
        return s;
    };
    const objects = new Map(kubernetesObjects(resources).map((o) => [o.$resource.urn, o]));
    const namespaceLayer = new Map<string, LayerSummary>();
    for (const r of resources) {
        if (r.type === STACK) continue;
        const s = summary(tops.get(r.urn));
        if (!r.custom) continue;
        s.resources++;
        const o = objects.get(r.urn);
        const kind =
            o?.kind ??
            (r.type === "kubernetes:helm.sh/v3:Release"
                ? "Helm release"
                : r.type.startsWith("pulumi:providers:")
                  ? `${shortType(r.type)} provider`
                  : shortType(r.type));
        s.kinds[kind] = (s.kinds[kind] ?? 0) + 1;
        if (r.type === "kubernetes:helm.sh/v3:Release") {
            s.charts.push(`${r.inputs.chart}@${r.inputs.version} (${r.inputs.namespace}/${r.inputs.name})`);
            const service = r.inputs.values?.service;
            if (r.inputs.chart === "gateway" && service?.type)
                (service.type === "ClusterIP" ? s.internalEndpoints : s.publicEndpoints).push(
                    `${service.type} ${r.inputs.namespace}/${r.inputs.name} (Helm gateway)`,
                );
        }
        s.storage.push(...storageOf(r));
        if (!o) continue;
        if (o.kind === "Namespace") namespaceLayer.set(o.metadata.name!, s);
        const spec = podTemplate(o)?.spec;
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])])
            if (c.image && !s.images.includes(c.image)) s.images.push(c.image);
        // Operators' custom resources that name their pods' image (CloudNativePG's Cluster).
        if (typeof o.spec?.imageName === "string" && !s.images.includes(o.spec.imageName))
            s.images.push(o.spec.imageName);
        const e = endpoints(o);
        s.publicEndpoints.push(...e.public);
        s.internalEndpoints.push(...e.internal);
    }
    const counted = new Set<string>();
    for (const ns of namespaceCapacity(resources, nodes)) {
        counted.add(ns.namespace);
        const s = namespaceLayer.get(ns.namespace) ?? summary(undefined);
        const fits = !ns.quota ? "no quota" : fitsQuota(ns.max, ns.quota) ? "fits" : "DOES NOT FIT";
        s.capacity.push(
            `${ns.namespace}: min replicas ${cost(ns.min)}; max ${cost(ns.max)}` +
                (ns.quota ? `; quota ${cost(ns.quota)}: ${fits}` : "; no quota"),
        );
        if (ns.quota && !fitsQuota(ns.max, ns.quota)) s.overQuota.push(ns.namespace);
    }
    for (const [ns, s] of namespaceLayer)
        if (!counted.has(ns))
            s.capacity.push(`${ns}: pods of charts and operators only (sized by config/sizing.ts), no quota`);
    const byKey = new Map(resources.map((r) => [`${r.type}::${r.name}`, r]));
    for (const f of evaluate(resources.map(toPolicyResource))) {
        const r = f.resource ? byKey.get(f.resource) : undefined;
        summary(r ? tops.get(r.urn) : undefined).findings.push(`[${f.rule}] ${f.resource ?? ""} ${f.message}`.trim());
    }
    // Pending links are named <section>:<peer region> by the layer that waits (mesh:eu, redis:asia, ...).
    for (const link of (outputs.crossRegionPending as string[] | undefined) ?? []) {
        const section = link.split(":")[0].split("-")[0];
        const s = [...layers.values()].find((l) => l.layer.startsWith(section)) ?? summary(undefined);
        s.pending.push(link);
    }
    return [...layers.values()].filter((s) => s.resources > 0 || s.findings.length || s.pending.length);
}

/** The summary as text, one block per layer. */
export function formatSummary(layers: LayerSummary[]): string {
    const lines: string[] = [];
    // Empty categories are left out, except policy findings (their absence is news).
    const list = (label: string, items: string[], none?: string) => {
        if (items.length === 0 && none === undefined) return;
        if (items.length <= 1) lines.push(`  ${label}: ${items[0] ?? none}`);
        else {
            lines.push(`  ${label}:`);
            for (const i of items) lines.push(`    - ${i}`);
        }
    };
    for (const l of layers) {
        lines.push(
            "",
            `## ${l.layer}${l.component ? ` (${l.component})` : ""}: ${l.resources} resource${l.resources === 1 ? "" : "s"}`,
        );
        lines.push(
            `  resources: ${Object.entries(l.kinds)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([k, n]) => `${k} ${n}`)
                .join(", ")}`,
        );
        if (l.charts.length) list("charts", l.charts);
        list("images", l.images, l.charts.length ? "the charts' own" : undefined);
        list("public endpoints", l.publicEndpoints);
        list("internal endpoints", l.internalEndpoints);
        list("storage requests", l.storage);
        list("capacity against quota", l.capacity);
        list("policy findings", l.findings, "none");
        list("cross-region links pending (a later `pulumi up` completes them once the peer is deployed)", l.pending);
    }
    return lines.join("\n");
}
