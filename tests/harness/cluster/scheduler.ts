// Placement as the Kubernetes scheduler decides it, for the rules that matter here: nodeSelector,
// required node affinity, tolerations against taints, required pod anti-affinity against replicas and
// nodes, and topology spread against zones. The nodes are the stack's node pools (config
// cluster.nodePools, each pool's fewest nodes spread over its zones); the pods are every pod template
// the stack would run: its own workloads, each component of each Helm release (placed from the values
// that chart reads for it, ./catalog.ts) and the pods operators make of custom resources.
//
// Pods are placed one at a time, as the scheduler does, never moved once placed. Preferences
// (preferred affinity, ScheduleAnyway spread) only order the candidates.
import type { PlatformConfig, Taint } from "../../../config";
import { helmReleases, type K8sObject, kubernetesObjects, podTemplate, unsecret } from "../k8s";
import type { StackEvaluation } from "../types";
import {
    CHART_FACTS,
    type ChartComponent,
    chartView,
    isCustomResource,
    kindFacts,
    type PodGroup,
    type PodScheduling,
    type Values,
} from "./catalog";

export interface Node {
    name: string;
    pool: string;
    labels: Record<string, string>;
    taints: { key: string; value?: string; effect: string }[];
}

/** The stack's nodes: each pool's fewest nodes, spread over its zones, with the labels every node carries. */
export function nodesOf(cfg: PlatformConfig): Node[] {
    const zoneLabel = cfg.cluster.profile.zoneLabel;
    return cfg.cluster.nodePools.flatMap((pool) =>
        Array.from({ length: pool.minNodes }, (_, i) => {
            const name = `${pool.name}-${i}`;
            const zones = pool.zones ?? [];
            const zone = zones.length > 0 ? zones[i % zones.length] : undefined;
            return {
                name,
                pool: pool.name,
                labels: {
                    ...pool.labels,
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    ...(zone ? { [zoneLabel]: zone } : {}),
                },
                taints: pool.taints.map((t: Taint) => ({ ...t })),
            };
        }),
    );
}

// ---- the rules ---------------------------------------------------------------------------------

function requirementMatches(r: any, value: string | undefined): boolean {
    switch (r.operator) {
        case "In":
            return value !== undefined && (r.values ?? []).includes(value);
        case "NotIn":
            return value === undefined || !(r.values ?? []).includes(value);
        case "Exists":
            return value !== undefined;
        case "DoesNotExist":
            return value === undefined;
        case "Gt":
            return value !== undefined && Number(value) > Number(r.values?.[0]);
        case "Lt":
            return value !== undefined && Number(value) < Number(r.values?.[0]);
        default:
            return false;
    }
}

/** A label selector (matchLabels and matchExpressions) against labels. */
export function selectorMatches(selector: any, labels: Record<string, string>): boolean {
    if (!selector) return false;
    return (
        Object.entries<string>(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v) &&
        ((selector.matchExpressions ?? []) as any[]).every((r) => requirementMatches(r, labels[r.key]))
    );
}

/** One nodeSelectorTerm (its expressions ANDed; matchFields on metadata.name) against a node. */
export function nodeSelectorTermMatches(term: any, node: Node): boolean {
    return (
        ((term.matchExpressions ?? []) as any[]).every((r) => requirementMatches(r, node.labels[r.key])) &&
        ((term.matchFields ?? []) as any[]).every((r) =>
            requirementMatches(r, r.key === "metadata.name" ? node.name : undefined),
        )
    );
}

/** Whether the tolerations let a pod onto a node with this taint (PreferNoSchedule never keeps it away). */
export function tolerates(tolerations: readonly any[] | undefined, taint: Node["taints"][number]): boolean {
    if (taint.effect === "PreferNoSchedule") return true;
    return (tolerations ?? []).some((t) => {
        if (t.effect && t.effect !== taint.effect) return false;
        if ((t.operator ?? "Equal") === "Exists") return !t.key || t.key === taint.key;
        return t.key === taint.key && (t.value ?? "") === (taint.value ?? "");
    });
}

const requiredNodeTerms = (spec: PodScheduling): any[] | undefined =>
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;

/** Node selector and required node affinity (no taints): the nodes a pod's spec asks for. */
function selects(spec: PodScheduling, node: Node): string | undefined {
    for (const [k, v] of Object.entries(spec.nodeSelector ?? {}))
        if (node.labels[k] !== v) return `nodeSelector ${k}=${v}`;
    const terms = requiredNodeTerms(spec);
    if (terms && !terms.some((t) => nodeSelectorTermMatches(t, node))) return "required node affinity";
    return undefined;
}

/** Why a pod cannot go on this node by its own spec (undefined: it can). */
export function staticMisfit(spec: PodScheduling, node: Node): string | undefined {
    const s = selects(spec, node);
    if (s) return s;
    const t = node.taints.find((x) => !tolerates(spec.tolerations, x));
    return t ? `taint ${t.key}${t.value !== undefined ? `=${t.value}` : ""}:${t.effect} not tolerated` : undefined;
}

interface Placed {
    group: PodGroup;
    node: Node;
}

/** The namespaces a pod (anti-)affinity term looks at. */
const termNamespaces = (term: any, own: string): string[] | "all" =>
    term.namespaceSelector && Object.keys(term.namespaceSelector).length === 0
        ? "all"
        : term.namespaces?.length
          ? term.namespaces
          : [own];
const inScope = (scope: string[] | "all", ns: string) => scope === "all" || scope.includes(ns);

const antiTerms = (g: PodGroup): any[] =>
    g.spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];

/** Required pod anti-affinity, both ways: the incoming pod's terms and those of the pods already placed. */
function antiAffinityConflict(g: PodGroup, node: Node, placed: readonly Placed[]): string | undefined {
    for (const term of antiTerms(g)) {
        const domain = node.labels[term.topologyKey];
        if (domain === undefined) continue;
        const scope = termNamespaces(term, g.namespace);
        if (
            placed.some(
                (p) =>
                    p.node.labels[term.topologyKey] === domain &&
                    inScope(scope, p.group.namespace) &&
                    selectorMatches(term.labelSelector, p.group.labels),
            )
        )
            return `required anti-affinity on ${term.topologyKey}`;
    }
    for (const p of placed)
        for (const term of antiTerms(p.group)) {
            const domain = p.node.labels[term.topologyKey];
            if (
                domain !== undefined &&
                node.labels[term.topologyKey] === domain &&
                inScope(termNamespaces(term, p.group.namespace), g.namespace) &&
                selectorMatches(term.labelSelector, g.labels)
            )
                return `anti-affinity of ${p.group.id} on ${term.topologyKey}`;
        }
    return undefined;
}

/** Topology spread with DoNotSchedule: the skew the pod would cause in its domain must stay within maxSkew. */
function spreadConflict(
    g: PodGroup,
    node: Node,
    nodes: readonly Node[],
    placed: readonly Placed[],
): string | undefined {
    for (const c of g.spec.topologySpreadConstraints ?? []) {
        if (c.whenUnsatisfiable !== "DoNotSchedule") continue;
        const key = c.topologyKey;
        if (node.labels[key] === undefined) return `topology spread: node has no ${key} label`;
        // nodeAffinityPolicy Honor (default): domains of the nodes the pod may select; nodeTaintsPolicy
        // Ignore (default): tainted nodes count as domains even where the pod cannot go.
        const eligible = nodes.filter(
            (n) =>
                n.labels[key] !== undefined &&
                (c.nodeAffinityPolicy === "Ignore" || !selects(g.spec, n)) &&
                (c.nodeTaintsPolicy !== "Honor" || n.taints.every((t) => tolerates(g.spec.tolerations, t))),
        );
        const counts = new Map<string, number>(eligible.map((n) => [n.labels[key], 0]));
        for (const p of placed)
            if (
                p.group.namespace === g.namespace &&
                selectorMatches(c.labelSelector, p.group.labels) &&
                counts.has(p.node.labels[key])
            )
                counts.set(p.node.labels[key], counts.get(p.node.labels[key])! + 1);
        const min = counts.size < (c.minDomains ?? 1) ? 0 : Math.min(...counts.values());
        const self = selectorMatches(c.labelSelector, g.labels) ? 1 : 0;
        const skew = (counts.get(node.labels[key]) ?? 0) + self - min;
        if (skew > c.maxSkew) return `topology spread on ${key} (maxSkew ${c.maxSkew}, DoNotSchedule)`;
    }
    return undefined;
}

/** Per pool, why none of its nodes takes the pod. */
function whyNowhere(spec: PodScheduling, nodes: readonly Node[]): string {
    const byPool = new Map<string, string>();
    for (const n of nodes) if (!byPool.has(n.pool)) byPool.set(n.pool, staticMisfit(spec, n) ?? "fits");
    return [...byPool].map(([pool, why]) => `pool ${pool}: ${why}`).join("; ");
}

export interface Schedule {
    /** Nodes each pod group's pods landed on. */
    placements: Map<string, string[]>;
    problems: string[];
    /** Pods placed (a DaemonSet counts once per node). */
    placed: number;
}

/** Place every pod of every group on the nodes, DaemonSets first, then the rest one pod at a time. */
export function schedule(groups: readonly PodGroup[], nodes: readonly Node[], zoneLabel: string): Schedule {
    const placed: Placed[] = [];
    const placements = new Map<string, string[]>();
    const problems: string[] = [];
    const zones = new Set(nodes.map((n) => n.labels[zoneLabel]).filter((z) => z !== undefined));
    const ordered = [...groups.filter((g) => g.kind === "DaemonSet"), ...groups.filter((g) => g.kind !== "DaemonSet")];
    for (const g of ordered) {
        const on: string[] = [];
        placements.set(g.id, on);
        if (g.spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length) {
            problems.push(`${g.id}: required pod affinity is not modelled`);
            continue;
        }
        if (g.kind === "DaemonSet") {
            // A node agent must run on every node: a node it skips has pods it cannot serve.
            const skipped = new Map<string, string>();
            for (const n of nodes) {
                const why = staticMisfit(g.spec, n);
                if (why) skipped.set(n.pool, why);
                else {
                    placed.push({ group: g, node: n });
                    on.push(n.name);
                }
            }
            if (skipped.size > 0)
                problems.push(
                    `${g.id}: a DaemonSet that skips the nodes of ${[...skipped]
                        .map(([pool, why]) => `pool ${pool} (${why})`)
                        .join(", ")}`,
                );
            continue;
        }
        const fitting = nodes.filter((n) => !staticMisfit(g.spec, n));
        if (fitting.length === 0) {
            problems.push(`${g.id}: no node takes it (${whyNowhere(g.spec, nodes)}); it stays Pending`);
            continue;
        }
        for (let i = 0; i < g.replicas; i++) {
            let why: string | undefined;
            const candidates = fitting.filter((n) => {
                const conflict = antiAffinityConflict(g, n, placed) ?? spreadConflict(g, n, nodes, placed);
                why ??= conflict;
                return !conflict;
            });
            if (candidates.length === 0) {
                problems.push(
                    `${g.id}: pod ${i + 1} of ${g.replicas} has no node (${why}; ${fitting.length} node(s) take it); it stays Pending`,
                );
                break;
            }
            const mine = (pred: (p: Placed) => boolean) => placed.filter((p) => p.group === g && pred(p)).length;
            const score = (n: Node) => [
                mine((p) => p.node.labels[zoneLabel] === n.labels[zoneLabel]),
                mine((p) => p.node === n),
                placed.filter((p) => p.node === n).length,
            ];
            const best = candidates
                .map((n) => ({ n, s: score(n) }))
                .sort((a, b) => a.s[0] - b.s[0] || a.s[1] - b.s[1] || a.s[2] - b.s[2])[0].n;
            placed.push({ group: g, node: best });
            on.push(best.name);
        }
        // Zone spread is asked for: replicas that all fit in fewer zones than they could use do not survive a zone.
        const spreadsZones = (g.spec.topologySpreadConstraints ?? []).some((c) => c.topologyKey === zoneLabel);
        const usedZones = new Set(on.map((name) => nodes.find((n) => n.name === name)!.labels[zoneLabel]));
        const reachable = new Set(fitting.map((n) => n.labels[zoneLabel]).filter((z) => z !== undefined));
        if (spreadsZones && on.length >= 2 && usedZones.size < Math.min(on.length, zones.size))
            problems.push(
                `${g.id}: spreads across zones, but its ${on.length} pods fit in ${reachable.size} of the cluster's ${zones.size} zones`,
            );
    }
    return { placements, problems, placed: placed.length };
}

// ---- the stack's pods --------------------------------------------------------------------------

const POD_KEY = /^(nodeSelector|tolerations|affinity|podTemplate|template|replicas|instances)$/;
const podLike = (v: unknown): boolean =>
    Array.isArray(v)
        ? v.some(podLike)
        : !!v && typeof v === "object" && Object.entries(v).some(([k, x]) => POD_KEY.test(k) || podLike(x));

const where = (o: K8sObject) => `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;

/** Pods at the least: an autoscaler's minimum, else spec.replicas (Jobs: parallelism). */
function minReplicas(o: K8sObject, objects: readonly K8sObject[]): number {
    const ns = o.metadata.namespace;
    const hpa = objects.find(
        (h) =>
            h.kind === "HorizontalPodAutoscaler" &&
            h.metadata.namespace === ns &&
            h.spec?.scaleTargetRef?.kind === o.kind &&
            h.spec?.scaleTargetRef?.name === o.metadata.name,
    );
    if (hpa) return hpa.spec.minReplicas ?? 1;
    const scaled = objects.find(
        (s) =>
            s.kind === "ScaledObject" &&
            s.metadata.namespace === ns &&
            s.spec?.scaleTargetRef?.name === o.metadata.name,
    );
    if (scaled) return scaled.spec.minReplicaCount ?? 1;
    if (o.kind === "Job") return o.spec?.parallelism ?? 1;
    if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.parallelism ?? 1;
    return o.spec?.replicas ?? 1;
}

/** One chart component's pods, as the chart renders them from the release's values. */
export function componentPods(
    release: { name: string; namespace: string; chart: string },
    c: ChartComponent,
    view: Values,
): PodGroup {
    return {
        id: `helm ${release.name} (${release.chart}): ${c.name}`,
        namespace: release.namespace,
        kind: c.kind,
        replicas: c.replicas?.(view) ?? 1,
        labels: c.labels?.(view, release.name) ?? {
            "app.kubernetes.io/instance": release.name,
            "app.kubernetes.io/component": c.name,
        },
        spec: c.pod(view, release.name),
    };
}

export interface StackPods {
    groups: PodGroup[];
    /** Chart components (with their release) among the groups, for the placement-coverage check. */
    components: { group: PodGroup; component: ChartComponent }[];
    /** Charts and custom resource kinds the catalog does not know, that may run pods. */
    unknown: string[];
}

/** Every pod template an evaluated stack would run. */
export function stackPods(ev: StackEvaluation): StackPods {
    const objects = kubernetesObjects(ev.resources);
    const groups: PodGroup[] = [];
    const components: StackPods["components"] = [];
    const unknown: string[] = [];
    for (const o of objects) {
        const t = podTemplate(o);
        if (t) {
            groups.push({
                id: `${o.kind} ${where(o)}`,
                namespace: o.metadata.namespace ?? "default",
                kind: o.kind === "ReplicaSet" ? "Deployment" : (o.kind as PodGroup["kind"]),
                replicas: o.kind === "DaemonSet" ? 1 : minReplicas(o, objects),
                labels: t.metadata?.labels ?? {},
                spec: t.spec ?? {},
            });
            continue;
        }
        if (!isCustomResource(o)) continue;
        const facts = kindFacts(o);
        if (facts?.pods) groups.push(...facts.pods(o));
        else if (!facts && podLike(o.spec))
            unknown.push(
                `${o.kind} ${where(o)}: kind ${o.apiVersion} ${o.kind} is not in the catalog and may run pods`,
            );
    }
    for (const rel of helmReleases(ev.resources)) {
        const release = { name: rel.inputs.name, namespace: rel.inputs.namespace, chart: rel.inputs.chart };
        const facts = CHART_FACTS[release.chart];
        if (!facts) {
            unknown.push(`helm ${release.name} (${release.chart}): chart not in the catalog`);
            continue;
        }
        const view = chartView(facts, unsecret(rel.inputs.values ?? {}));
        for (const c of facts.components) {
            if (c.enabled && !c.enabled(view)) continue;
            const group = componentPods(release, c, view);
            groups.push(group);
            components.push({ group, component: c });
        }
    }
    return { groups, components, unknown };
}

/** Whether a pod spec lands only where the stack's placement says: its nodeSelector and its tolerations. */
export function placementGaps(spec: PodScheduling, cfg: PlatformConfig): string[] {
    const s = cfg.scheduling;
    const gaps: string[] = [];
    for (const [k, v] of Object.entries(s.nodeSelector)) {
        const terms = requiredNodeTerms(spec);
        const pinned =
            spec.nodeSelector?.[k] === v ||
            (terms?.length &&
                terms.every((t: any) =>
                    (t.matchExpressions ?? []).some(
                        (r: any) => r.key === k && r.operator === "In" && r.values?.includes(v),
                    ),
                ));
        if (!pinned) gaps.push(`nodeSelector ${k}=${v}`);
    }
    for (const t of s.tolerations)
        if (!tolerates(spec.tolerations, { key: t.key, value: t.value, effect: t.effect }))
            gaps.push(`toleration ${t.key}=${t.value ?? ""}:${t.effect}`);
    return gaps;
}
