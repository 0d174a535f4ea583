// What every PostgreSQL server of the platform shares, whichever engine runs it (the shop's own
// StatefulSet in dev, CloudNativePG in the regions): where its pods may run.
import type { input } from "@pulumi/kubernetes/types";
import type { PlatformConfig } from "../config";

/** PostgreSQL's port, on every engine. */
export const POSTGRES_PORT = 5432;

/**
 * Node placement of the database: the stack's nodeSelector and tolerations; a required Linux
 * node; and, when config names database nodes, a preference for them. A nodeSelector on the same
 * label key would contradict that preference, so it becomes "either value" in the required term.
 */
export function databaseScheduling(cfg: PlatformConfig): Pick<input.core.v1.PodSpec, "nodeSelector" | "affinity"> {
    const db = cfg.scheduling.databaseNodeAffinity;
    const nodeSelector = { ...cfg.scheduling.nodeSelector };
    const required: input.core.v1.NodeSelectorRequirement[] = [
        { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
    ];
    if (db && db.key in nodeSelector) {
        required.push({ key: db.key, operator: "In", values: [...new Set([nodeSelector[db.key], db.value])] });
        delete nodeSelector[db.key];
    }
    return {
        nodeSelector: Object.keys(nodeSelector).length > 0 ? nodeSelector : undefined,
        affinity: {
            nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: required }] },
                preferredDuringSchedulingIgnoredDuringExecution: db
                    ? [
                          {
                              weight: 100,
                              preference: { matchExpressions: [{ key: db.key, operator: "In", values: [db.value] }] },
                          },
                      ]
                    : undefined,
            },
        },
    };
}
