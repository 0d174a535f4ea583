// STUB — to be implemented (issue 3): the Warung Kopi shop.
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import type { StackContext } from "../defaults";
import type { ServiceMesh } from "../mesh";
import type { Observability } from "../observability";
import type { ClusterAddons } from "../addons";
import type { CacheEndpoint } from "../cache";

export interface WarungKopiArgs {
    ctx: StackContext;
    mesh?: ServiceMesh;
    observability?: Observability;
    addons: ClusterAddons;
    /** External cache (Redis Enterprise Active-Active); when absent the shop runs its own Redis. */
    cache?: CacheEndpoint;
}

export class WarungKopi extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** The cache the shop uses (its own Redis, or the external one). */
    public readonly cache?: CacheEndpoint;

    constructor(name: string, args: WarungKopiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:WarungKopi", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
