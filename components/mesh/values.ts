// Istio chart coordinates and Helm values: static defaults from helm/<file>.yaml, merged with what
// the stack computes (sizes, names, identities).
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { deepMerge, Distribution } from "../../config";

/** Istio charts, pinned; all four come from Istio's official Helm repository. */
export const ISTIO_CHARTS = {
    repo: "https://istio-release.storage.googleapis.com/charts",
    version: "1.30.3",
} as const;

const HELM_DIR = path.resolve(__dirname, "..", "..", "helm");

/** The chart's static defaults (helm/<file>) with `computed` merged over them (objects key by key, arrays replace). */
export function chartValues(file: string, computed: Record<string, unknown>): Record<string, unknown> {
    const base = parse(fs.readFileSync(path.join(HELM_DIR, file), "utf8")) ?? {};
    return deepMerge(base, computed) as Record<string, unknown>;
}

/**
 * Istio's `global.platform` for distributions with non-standard CNI paths or namespace rules; undefined
 * for the rest (the charts fail to render an unknown platform, e.g. "kind" or "eks").
 */
export function istioPlatform(distribution: Distribution): string | undefined {
    switch (distribution) {
        case "gke": return "gke";       // CNI binaries in /home/kubernetes/bin; ResourceQuota for node-critical pods
        case "k3d": return "k3d";       // k3s CNI paths
        case "minikube": return "minikube"; // Docker driver netns dir
        default: return undefined;
    }
}
