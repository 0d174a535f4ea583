// Istio values that depend on the cluster's distribution (chart pins and values files: ../helm.ts).
import type { Distribution } from "../../config";

/**
 * Istio's `global.platform` for distributions with non-standard CNI paths or namespace rules; undefined
 * for the rest (the charts fail to render an unknown platform, e.g. "kind" or "eks").
 */
export function istioPlatform(distribution: Distribution): string | undefined {
    switch (distribution) {
        case "gke":
            return "gke"; // CNI binaries in /home/kubernetes/bin; ResourceQuota for node-critical pods
        case "k3d":
            return "k3d"; // k3s CNI paths
        case "minikube":
            return "minikube"; // Docker driver netns dir
        default:
            return undefined;
    }
}

/**
 * CNI paths the cni chart must be given explicitly. On GKE the chart's `gke` platform profile leaves
 * the binary directory empty and relies on detecting "-gke" in the API server's version string, which
 * Helm 3.19.0 strips (helm/helm#31423, istio/istio#58094): the agent then writes to the read-only
 * /opt/cni/bin and never becomes ready. The value goes under `cni.` because the chart copies `cni.*`
 * over its top-level values after applying the profile, which can overwrite a top-level cniBinDir.
 */
export function istioCniPaths(distribution: Distribution): Record<string, unknown> {
    return distribution === "gke" ? { cni: { cniBinDir: "/home/kubernetes/bin" } } : {};
}
