// Views of recorded resources as Kubernetes objects, and their validation against the API schema.
import * as path from "node:path";
import type { RecordedResource } from "./types";
import { cloudNativePgSchemaProblems } from "../schemas/cloudnative-pg";
import { redisEnterpriseSchemaProblems } from "../schemas/redis-enterprise";

const NODE_MODULES = path.resolve(__dirname, "..", "..", "node_modules");

/** Strip `{ $secret }` markers, giving the plain values the cluster would receive. */
export function unsecret(v: any): any {
    if (Array.isArray(v)) return v.map(unsecret);
    if (v && typeof v === "object") {
        if ("$secret" in v && Object.keys(v).length === 1) return unsecret(v.$secret);
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unsecret(x)]));
    }
    return v;
}

export interface K8sObject {
    apiVersion: string;
    kind: string;
    metadata: {
        name?: string;
        namespace?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        [k: string]: any;
    };
    [k: string]: any;
}

/** Freezes a value and everything in it: what the harness shares between tests, no test can change. */
export function deepFreeze<T>(v: T): T {
    if (v && typeof v === "object" && !Object.isFrozen(v)) {
        Object.freeze(v);
        for (const x of Object.values(v)) deepFreeze(x);
    }
    return v;
}

const objectsOf = new WeakMap<RecordedResource[], (K8sObject & { $resource: RecordedResource })[]>();

/**
 * Kubernetes objects (not Helm releases, not providers) the stack would send, as plain manifests;
 * worked out once per shared (frozen) evaluation, and shared, frozen, by every test that asks. A
 * test's own changed copy of an evaluation is worked out at each call.
 */
export function kubernetesObjects(resources: RecordedResource[]): (K8sObject & { $resource: RecordedResource })[] {
    if (!Object.isFrozen(resources)) return manifests(resources);
    let objects = objectsOf.get(resources);
    if (!objects) objectsOf.set(resources, (objects = deepFreeze(manifests(resources))));
    return objects;
}

function manifests(resources: RecordedResource[]): (K8sObject & { $resource: RecordedResource })[] {
    return resources
        .filter(
            (r) =>
                r.custom &&
                r.type.startsWith("kubernetes:") &&
                !r.type.startsWith("kubernetes:helm.sh/") &&
                r.inputs?.apiVersion &&
                r.inputs?.kind,
        )
        .map((r) => ({ ...unsecret(r.inputs), $resource: r }));
}

export const helmReleases = (resources: RecordedResource[]) =>
    resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");

export function ofKind<T extends K8sObject>(objects: T[], kind: string, namespace?: string): T[] {
    return objects.filter((o) => o.kind === kind && (namespace === undefined || o.metadata.namespace === namespace));
}

export function named<T extends K8sObject>(objects: T[], kind: string, name: string, namespace?: string): T {
    const found = objects.find(
        (o) =>
            o.kind === kind &&
            o.metadata.name === name &&
            (namespace === undefined || o.metadata.namespace === namespace),
    );
    if (!found)
        throw new Error(
            `no ${kind} ${namespace ? namespace + "/" : ""}${name}; have ${ofKind(objects, kind)
                .map((o) => `${o.metadata.namespace}/${o.metadata.name}`)
                .join(", ")}`,
        );
    return found;
}

const WORKLOAD_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"];

/** The pod template spec of a workload (or a Pod's spec), with the template's metadata. */
export function podTemplate(o: K8sObject): { metadata: any; spec: any } | undefined {
    if (WORKLOAD_KINDS.includes(o.kind)) return o.spec?.template;
    if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template;
    if (o.kind === "Pod") return { metadata: o.metadata, spec: o.spec };
    return undefined;
}

/** API versions removed from Kubernetes (1.22-1.29) that an object must never use. */
export const REMOVED_API_VERSIONS: Record<string, string[]> = {
    "extensions/v1beta1": ["*"],
    "apps/v1beta1": ["*"],
    "apps/v1beta2": ["*"],
    "networking.k8s.io/v1beta1": ["*"],
    "batch/v1beta1": ["CronJob"],
    "policy/v1beta1": ["*"],
    "autoscaling/v2beta1": ["*"],
    "autoscaling/v2beta2": ["*"],
    "rbac.authorization.k8s.io/v1beta1": ["*"],
    "storage.k8s.io/v1beta1": ["*"],
    "apiextensions.k8s.io/v1beta1": ["*"],
    "admissionregistration.k8s.io/v1beta1": ["*"],
    "flowcontrol.apiserver.k8s.io/v1beta2": ["*"],
    "discovery.k8s.io/v1beta1": ["*"],
};

export function isRemovedApi(o: K8sObject): boolean {
    const kinds = REMOVED_API_VERSIONS[o.apiVersion];
    return !!kinds && (kinds.includes("*") || kinds.includes(o.kind));
}

/** Model packages that carry the OpenAPI schema of each API group. */
const MODEL_PACKAGES: [RegExp, string][] = [
    [/\.istio\.io$/, "@kubernetes-models/istio"],
    [/^monitoring\.coreos\.com$/, "@kubernetes-models/prometheus-operator"],
    [/(^|\.)cert-manager\.io$/, "@kubernetes-models/cert-manager"],
    [/^keda\.sh$/, "@kubernetes-models/keda"],
];

/** Load the kubernetes-models class for an object's apiVersion and kind, or undefined if no package knows it. */
export function modelFor(apiVersion: string, kind: string): (new (o: any) => { validate(): void }) | undefined {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const pkg =
        group === "" || !group.includes(".") || group.endsWith(".k8s.io")
            ? "kubernetes-models"
            : MODEL_PACKAGES.find(([re]) => re.test(group))?.[1];
    if (!pkg) return undefined;
    // The packages are ESM with import-only exports: load the group's module by path (require(esm), Node >= 22.12).
    const modulePath = path.join(NODE_MODULES, pkg, group, version, "index.js");
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known only at run time
        return require(modulePath)[kind];
    } catch {
        return undefined;
    }
}

/** Validate an object against its API schema; returns problems (empty when valid). */
export function schemaProblems(o: K8sObject): string[] {
    const Model = modelFor(o.apiVersion, o.kind);
    // API groups without a model package: hand-written JSON schemas (tests/schemas/).
    const fromJsonSchema = Model ? undefined : (redisEnterpriseSchemaProblems(o) ?? cloudNativePgSchemaProblems(o));
    if (fromJsonSchema) return fromJsonSchema;
    if (!Model) return [`no schema known for ${o.apiVersion} ${o.kind}`];
    const { $resource: _resource, ...plain } = o as any;
    try {
        new Model(plain).validate();
        return [];
    } catch (e: any) {
        return [String(e?.message ?? e)];
    }
}
