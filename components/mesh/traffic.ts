// STUB (owned by the mesh work): Istio traffic policy for one service.
import * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../defaults";
import type { ServiceMesh } from "./index";

export interface MeshTrafficArgs {
    ctx: StackContext;
    mesh: ServiceMesh;
    namespace: string;
    /** Service name (host is <service>.<namespace>.svc.cluster.local). */
    service: string;
    port: number;
    /** Labels selecting the workload's pods (for the workload PeerAuthentication). */
    selector: Record<string, string>;
    /** Retry policy: only for idempotent requests; "none" for e.g. payment writes. */
    retries: { attempts: number; perTryTimeout: string; retryOn: string } | "none";
    timeout: string;
    /** Plain-text metrics port scraped by Prometheus from outside the mesh (PERMISSIVE on that port only). */
    metricsPort?: number;
}

/** DestinationRule (ISTIO_MUTUAL, pools, outlier detection), VirtualService (timeout, retries), workload PeerAuthentication. */
export function meshTrafficPolicy(name: string, args: MeshTrafficArgs, parent: pulumi.Resource): void {
    void name; void args; void parent;
}
