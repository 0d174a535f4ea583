// STUB — to be implemented (issue 4 §2): Istio base/cni/istiod/gateways, mTLS, multi-primary.
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import type { input } from "@pulumi/kubernetes/types";
import type { StackContext } from "../defaults";
import type { PeerRegions } from "../peers";
import type { ClusterAddons } from "../addons";

export interface ServiceMeshArgs {
    ctx: StackContext;
    peers: PeerRegions;
    addons: ClusterAddons;
}

export class ServiceMesh extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** Resources that injected workloads and Istio custom resources must wait for (CRDs + istiod). */
    public readonly ready: pulumi.Resource[] = [];
    /** Egress every pod in an injected namespace needs (sidecar to istiod, spans to the collector). */
    public readonly workloadEgress: input.networking.v1.NetworkPolicyEgressRule[] = [];
    /** Peers allowed to reach application ports: the ingress gateway (and east-west gateway). */
    public readonly gatewayPeers: input.networking.v1.NetworkPolicyPeer[] = [];

    constructor(name: string, args: ServiceMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ServiceMesh", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
