// A copy of a stack's evaluation for a self-test to damage: the resource list and every record are the
// copy's own, and a record's inputs are copied deeply the first time the copy hands the record out
// (much cheaper than a deep copy of the whole stack, which the cached evaluation must never see).
import { deployedStack } from "../evaluate";
import type { K8sObject } from "../k8s";
import type { RecordedResource, StackEvaluation } from "../types";

export interface BrokenCopy {
    ev: StackEvaluation;
    /** The first record matching, with inputs of its own to change. */
    find(pred: (r: RecordedResource) => boolean): RecordedResource;
    /** The first object of a kind (and name). */
    kind(kind: string, name?: string): RecordedResource;
    /** The Helm release of a chart. */
    chart(chart: string): RecordedResource;
    /** The Helm release of that name. */
    release(name: string): RecordedResource;
    /** Adds an object the stack does not have, recorded as `like` is (its provider, parent, dependencies). */
    add(like: RecordedResource, manifest: K8sObject): RecordedResource;
}

/** A broken copy of a shipped stack's evaluation. */
export const stackCopy = async (stack: string) => brokenCopy(await deployedStack(stack));

export function brokenCopy(original: StackEvaluation): BrokenCopy {
    const ev: StackEvaluation = {
        ...original,
        resources: original.resources.map((r) => ({ ...r, dependencies: [...r.dependencies] })),
    };
    const owned = new WeakSet<RecordedResource>();
    const find = (pred: (r: RecordedResource) => boolean) => {
        const r = ev.resources.find(pred);
        if (!r) throw new Error("no such resource in the evaluation");
        if (!owned.has(r)) {
            r.inputs = structuredClone(r.inputs);
            owned.add(r);
        }
        return r;
    };
    const isRelease = (r: RecordedResource) => r.type === "kubernetes:helm.sh/v3:Release";
    return {
        ev,
        find,
        kind: (kind, name) =>
            find((r) => r.inputs?.kind === kind && (name === undefined || r.inputs.metadata?.name === name)),
        chart: (chart) => find((r) => isRelease(r) && r.inputs.chart === chart),
        release: (name) => find((r) => isRelease(r) && r.inputs.name === name),
        add: (like, manifest) => {
            const r = {
                ...like,
                urn: `urn:test::${manifest.kind}`,
                type: `kubernetes:${manifest.apiVersion}:${manifest.kind}`,
                inputs: manifest,
            };
            ev.resources.push(r);
            return r;
        },
    };
}
