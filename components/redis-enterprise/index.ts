// STUB — to be implemented (issue 4 §3): operator, REC, RERCs, Active-Active database.
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import type { StackContext } from "../defaults";
import type { PeerRegions } from "../peers";
import type { ServiceMesh } from "../mesh";
import type { Observability } from "../observability";
import type { CacheEndpoint } from "../cache";

export interface RedisEnterpriseArgs {
    ctx: StackContext;
    peers: PeerRegions;
    mesh?: ServiceMesh;
    observability?: Observability;
}

export class RedisEnterprise extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    public readonly cache?: CacheEndpoint;

    constructor(name: string, args: RedisEnterpriseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:RedisEnterprise", name, {}, opts);
        void args;
        this.registerOutputs({});
    }
}
