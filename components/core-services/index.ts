// STUB — to be implemented (issue 4 §1/§5): product-catalog, payment, recommendation, auth.
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import type { StackContext } from "../defaults";
import type { ServiceMesh } from "../mesh";
import type { Observability } from "../observability";
import type { CacheEndpoint } from "../cache";

export interface CoreServicesArgs {
    ctx: StackContext;
    mesh?: ServiceMesh;
    observability?: Observability;
    cache?: CacheEndpoint;
}

export class CoreServices extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    constructor(name: string, args: CoreServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:CoreServices", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
