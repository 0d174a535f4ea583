// Cluster-wide things the platform offers (the `istio` IngressClass, the public gateway, the
// ClusterIssuer) are meant for the namespaces the program creates. A ValidatingAdmissionPolicy (built
// into the API server, no webhook) refuses objects that would use them from any other namespace: a
// namespace the program creates carries TIER_LABEL, which only someone able to change namespaces can add.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { TIER_LABEL } from "./defaults";

export interface ScopedUse {
    /** Objects checked, as admission rules name them. */
    resources: { apiGroups: string[]; apiVersions: string[]; resources: string[] }[];
    /** CEL over `object`: true when the object uses the platform's shared thing. */
    uses: string;
    /** What is refused, for the error message. */
    message: string;
}

/** CEL: the request's namespace is one the program created. */
export const IN_PLATFORM_NAMESPACE = `has(namespaceObject.metadata.labels) && '${TIER_LABEL}' in namespaceObject.metadata.labels`;

/** The policy spec (pure): deny `uses` outside the platform's namespaces. */
export function scopedUsePolicySpec(use: ScopedUse) {
    return {
        failurePolicy: "Fail",
        matchConstraints: {
            resourceRules: use.resources.map((r) => ({ ...r, operations: ["CREATE", "UPDATE"] })),
        },
        validations: [{ expression: `!(${use.uses}) || (${IN_PLATFORM_NAMESPACE})`, message: use.message }],
    };
}

/** A ValidatingAdmissionPolicy and its binding (Deny) for one shared thing. */
export function platformNamespacesOnly(
    name: string,
    policyName: string,
    use: ScopedUse,
    opts: pulumi.CustomResourceOptions,
): k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding {
    const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
        name,
        { metadata: { name: policyName }, spec: scopedUsePolicySpec(use) },
        opts,
    );
    return new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
        name,
        {
            metadata: { name: policyName },
            spec: { policyName: policy.metadata.name, validationActions: ["Deny"] },
        },
        { ...opts, dependsOn: [policy] },
    );
}
