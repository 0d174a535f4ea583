import type * as pulumi from "@pulumi/pulumi";

/** A login on a PostgreSQL database run by one layer and used by another (e.g. payment's transaction history). */
export interface DatabaseLogin {
    host: string;
    port: number;
    database: string;
    username: string;
    /** A Pulumi secret; the consumer copies it into a Secret in its own namespace. */
    password: pulumi.Output<string>;
    /** Namespace and pod labels of the database, for the consumer's egress rule. */
    namespace: string;
    podSelector: Record<string, string>;
}
