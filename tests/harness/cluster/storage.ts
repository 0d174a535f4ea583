// Storage as a cluster sees it: every persistent volume a stack asks for, wherever it is declared
// (PersistentVolumeClaims, StatefulSet claim templates, generic ephemeral volumes, Helm values,
// custom resources), and whether each would bind on the stack's distribution or stay Pending.
//
// A chart or custom resource kind declares its volumes in ./catalog.ts; a value or spec key that looks
// like storage but that no catalog entry reads is reported, so a new volume is never missed silently.
import type { ClusterProfile } from "../../../config";
import { parseQuantity } from "../../../config/quantity";
import { helmReleases, type K8sObject, kubernetesObjects, podTemplate, unsecret } from "../k8s";
import type { StackEvaluation } from "../types";
import { CHART_FACTS, chartView, isCustomResource, kindFacts, type StorageRequest, type Values } from "./catalog";
import { type Node, nodeSelectorTermMatches } from "./scheduler";

/** Key names that hold volume settings in charts and custom resources. */
const STORAGE_KEY =
    /^(storage|storageclass|storageclassname|storagespec|walstorage|volumeclaimtemplates?|persistence|persistentvolume|persistentvolumeclaim|persistentspec|pvc|pvctemplate|volumesize|datavolumeclaimspec)$/i;

/** Dotted paths (array indices as `*`) under `v` whose key looks like storage and no `known` pattern covers. */
export function storageLikePaths(v: unknown, known: readonly string[], prefix = ""): string[] {
    const covered = (path: string) =>
        known.some((k) => {
            const re = new RegExp(`^${k.replace(/\./g, "\\.").replace(/\*/g, "[^.]+")}(\\.|$)`);
            return re.test(path);
        });
    if (Array.isArray(v)) return v.flatMap((x) => storageLikePaths(x, known, `${prefix}${prefix ? "." : ""}*`));
    if (!v || typeof v !== "object") return [];
    return Object.entries(v).flatMap(([k, x]) => {
        const path = `${prefix}${prefix ? "." : ""}${k}`;
        if (covered(path)) return [];
        if (STORAGE_KEY.test(k)) return [path];
        return storageLikePaths(x, known, path);
    });
}

const replicasOf = (o: K8sObject) => o.spec?.replicas ?? 1;
const meta = (o: K8sObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

export interface StorageInventory {
    requests: StorageRequest[];
    /** Declarations no model reads: unknown charts, kinds or keys that look like storage. */
    unknown: string[];
}

/** Every persistent volume request of an evaluated stack. */
export function storageRequests(ev: StackEvaluation): StorageInventory {
    const objects = kubernetesObjects(ev.resources);
    const requests: StorageRequest[] = [];
    const unknown: string[] = [];
    for (const o of objects) {
        const ns = o.metadata.namespace ?? "default";
        if (o.kind === "PersistentVolumeClaim") {
            requests.push({
                source: meta(o),
                namespace: ns,
                storageClassName: o.spec?.storageClassName ?? undefined,
                size: o.spec?.resources?.requests?.storage,
                accessModes: o.spec?.accessModes,
                volumeName: o.spec?.volumeName,
                claimName: o.metadata.name,
                count: 1,
            });
        }
        for (const t of (o.kind === "StatefulSet" ? (o.spec?.volumeClaimTemplates ?? []) : []) as any[])
            requests.push({
                source: `${meta(o)}: volumeClaimTemplates ${t.metadata?.name}`,
                namespace: ns,
                storageClassName: t.spec?.storageClassName ?? undefined,
                size: t.spec?.resources?.requests?.storage,
                accessModes: t.spec?.accessModes,
                volumeName: t.spec?.volumeName,
                count: replicasOf(o),
            });
        // Generic ephemeral volumes: a claim per pod, from the pod's own template.
        for (const v of (podTemplate(o)?.spec?.volumes ?? []) as any[])
            if (v.ephemeral?.volumeClaimTemplate)
                requests.push({
                    source: `${meta(o)}: ephemeral volume ${v.name}`,
                    namespace: ns,
                    storageClassName: v.ephemeral.volumeClaimTemplate.spec?.storageClassName ?? undefined,
                    size: v.ephemeral.volumeClaimTemplate.spec?.resources?.requests?.storage,
                    count: o.kind === "DaemonSet" ? 1 : replicasOf(o),
                });
        if (isCustomResource(o)) {
            const facts = kindFacts(o);
            const loose = storageLikePaths(o.spec, facts?.storageKeys ?? []);
            if (!facts && loose.length > 0)
                unknown.push(
                    `${meta(o)}: kind ${o.apiVersion} ${o.kind} is not in the catalog (spec ${loose.join(", ")})`,
                );
            else if (loose.length > 0)
                unknown.push(`${meta(o)}: spec ${loose.join(", ")} looks like storage; no catalog entry reads it`);
            requests.push(...(facts?.storage?.(o) ?? []));
        }
    }
    for (const rel of helmReleases(ev.resources)) {
        const chart: string = rel.inputs.chart;
        const values: Values = unsecret(rel.inputs.values ?? {});
        const facts = CHART_FACTS[chart];
        if (!facts) {
            unknown.push(`helm ${rel.inputs.name} (${chart}): chart not in the catalog`);
            continue;
        }
        const loose = storageLikePaths(values, facts.storageKeys ?? []);
        if (loose.length > 0)
            unknown.push(
                `helm ${rel.inputs.name} (${chart}): values ${loose.join(", ")} look like storage; no catalog entry reads them`,
            );
        requests.push(...(facts.storage?.(chartView(facts, values), rel.inputs.namespace) ?? []));
    }
    return { requests, unknown };
}

/** Why a request would not bind on this cluster (empty when it binds). */
export function bindingProblems(
    requests: readonly StorageRequest[],
    objects: readonly K8sObject[],
    profile: ClusterProfile,
    nodes: readonly Node[],
): string[] {
    const classes = new Map(objects.filter((o) => o.kind === "StorageClass").map((o) => [o.metadata.name!, o]));
    const volumes = objects.filter((o) => o.kind === "PersistentVolume");
    const s = profile.storage;
    const problems: string[] = [];
    // A class the program creates must use a provisioner the cluster runs.
    for (const [name, sc] of classes)
        if (sc.provisioner !== s.provisioner)
            problems.push(
                `StorageClass ${name}: provisioner ${sc.provisioner} does not run on this cluster (its profile names ${s.provisioner}); its claims stay Pending`,
            );
    for (const r of requests) {
        const where = `${r.source} (${r.namespace})`;
        if (r.storageClassName === undefined) {
            problems.push(
                `${where}: names no StorageClass, so it relies on a default class${s.defaultClassProvided ? "" : ", which this cluster does not have"}; expected a class the program creates`,
            );
            continue;
        }
        if (r.storageClassName === "") {
            // Static binding: a PersistentVolume the program creates, reserved for this claim or named by it.
            const pv = volumes.find(
                (v) =>
                    (r.volumeName && v.metadata.name === r.volumeName) ||
                    (r.claimName &&
                        v.spec?.claimRef?.name === r.claimName &&
                        v.spec?.claimRef?.namespace === r.namespace),
            );
            if (!pv) {
                problems.push(`${where}: no StorageClass and no PersistentVolume the program creates for it`);
                continue;
            }
            const ref = pv.spec?.claimRef;
            if (ref && r.claimName && (ref.name !== r.claimName || ref.namespace !== r.namespace))
                problems.push(
                    `${where}: PersistentVolume ${pv.metadata.name} is reserved for ${ref.namespace}/${ref.name}`,
                );
            if ((pv.spec?.storageClassName ?? "") !== "")
                problems.push(
                    `${where}: PersistentVolume ${pv.metadata.name} has class ${pv.spec.storageClassName}, the claim none`,
                );
            if (r.size && parseQuantity(String(pv.spec?.capacity?.storage ?? "0")) < parseQuantity(r.size))
                problems.push(
                    `${where}: asks ${r.size}, PersistentVolume ${pv.metadata.name} holds ${pv.spec?.capacity?.storage}`,
                );
            const missing = (r.accessModes ?? []).filter((m) => !(pv.spec?.accessModes ?? []).includes(m));
            if (missing.length > 0)
                problems.push(`${where}: PersistentVolume ${pv.metadata.name} lacks access mode ${missing.join(", ")}`);
            const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
            if (terms && !nodes.some((n) => terms.some((t: any) => nodeSelectorTermMatches(t, n))))
                problems.push(`${where}: PersistentVolume ${pv.metadata.name} is on no node of the cluster's pools`);
            continue;
        }
        const sc = classes.get(r.storageClassName);
        const guaranteed = s.defaultClassProvided && s.defaultClass === r.storageClassName;
        if (!sc && !guaranteed)
            problems.push(
                `${where}: StorageClass ${r.storageClassName} is neither created by the program nor guaranteed by the cluster's profile; the claim stays Pending`,
            );
    }
    return problems;
}

/** How many claims the requests make (a claim template counts once per replica). */
export const claimCount = (requests: readonly StorageRequest[]) => requests.reduce((n, r) => n + r.count, 0);
