import type * as pulumi from "@pulumi/pulumi";

/** A Redis-protocol cache/session store that applications connect to. */
export interface CacheEndpoint {
    /** In-cluster host name. */
    host: pulumi.Input<string>;
    port: number;
    /** Password (a Pulumi secret); consumers copy it into a Secret in their own namespace. */
    password: pulumi.Output<string>;
    tls: boolean;
    /** Namespace the cache runs in, for NetworkPolicy egress rules. */
    namespace: string;
    /** Labels selecting the cache's pods, for NetworkPolicy egress rules. */
    podSelector?: Record<string, string>;
}
