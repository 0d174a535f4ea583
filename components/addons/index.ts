// STUB — to be implemented (issue 6): metrics-server, cert-manager (+ ClusterIssuer), external-dns.
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import type { StackContext } from "../defaults";

export interface ClusterAddonsArgs {
    ctx: StackContext;
}

export class ClusterAddons extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** cert-manager release: Certificates and ClusterIssuers depend on it (undefined when off). */
    public readonly certManager?: pulumi.Resource;
    /** The ClusterIssuer certificates use, and the resource to depend on (undefined when off). */
    public readonly clusterIssuer?: { name: string; resource: pulumi.Resource };
    public readonly metricsServer?: pulumi.Resource;
    public readonly externalDns?: pulumi.Resource;

    constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ClusterAddons", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
