import * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "../config";

/**
 * The stack's one Kubernetes provider. Every Kubernetes resource in the program is created with it;
 * stacks set `pulumi:disable-default-providers: [kubernetes]`, so a forgotten `provider` fails the
 * preview instead of deploying to whatever cluster the ambient kubeconfig points at.
 */
export function clusterProvider(cfg: PlatformConfig): k8s.Provider {
    return new k8s.Provider(`k8s-${cfg.cluster.identifier}`, {
        // Empty context = the kubeconfig's current context (allowed for dev only; config enforces it).
        context: cfg.cluster.context,
        // A stable identity: a rotated kubeconfig or renamed context never replaces every resource.
        clusterIdentifier: cfg.cluster.identifier,
        enableServerSideApply: true,
        deleteUnreachable: cfg.tier === "dev",
    });
}
