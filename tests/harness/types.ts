// What the offline harness records for every resource a stack's program registers.

/** A secret input value as recorded: the plain value, marked so tests can tell it was a Pulumi secret. */
export interface SecretValue {
    $secret: unknown;
}

export interface AliasSpec {
    urn?: string;
    name?: string;
    type?: string;
    parentUrn?: string;
    noParent?: boolean;
}

export interface RecordedResource {
    urn: string;
    /** Pulumi type token, e.g. "kubernetes:apps/v1:Deployment" or "kubernetes:helm.sh/v3:Release". */
    type: string;
    /** Logical (Pulumi) name. */
    name: string;
    custom: boolean;
    /** Inputs as sent to the provider; Pulumi secrets appear as `{ $secret: value }`. */
    inputs: any;
    /** URN of the parent resource (component), if any. */
    parent?: string;
    /** Provider reference "<provider urn>::<provider id>", for custom resources. */
    provider?: string;
    /** URNs this resource depends on (dependsOn plus input dependencies). */
    dependencies: string[];
    /** Alias specs as the program gave them (the engine derives children's aliases from their parents'). */
    aliases: AliasSpec[];
    protect: boolean;
    retainOnDelete: boolean;
    ignoreChanges: string[];
    customTimeouts?: { create?: string; update?: string; delete?: string };
}

export interface StackEvaluation {
    stack: string;
    resources: RecordedResource[];
    /** The program's stack outputs, resolved (secrets as `{ $secret }`). */
    outputs: Record<string, unknown>;
    /** Wall time of the program evaluation under mocks, in milliseconds. */
    evaluationMs: number;
    /** Set when the program failed; resources holds what was registered before. */
    error?: string;
    /** Real private keys the mocks generated for this evaluation's tls.PrivateKey resources, by resource name. */
    generatedKeys?: Record<string, string[]>;
}
