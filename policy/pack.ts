// The CrossGuard policies built from the pure rules in ./rules.ts (policy/index.ts registers them as
// a PolicyPack). Kept apart from index.ts so the tests can run exactly these policies without
// starting a policy-pack server.
//
// Context: every tier-dependent rule is a stack rule, and a stack policy sees every resource, so
// CrossGuard takes the tier from the Namespace objects' ecommerce-platform.io/tier label with the
// same function the tests use (contextFromResources). The policy config value `tier` (dev | staging |
// production) is only an override, per policy, e.g. { "disruption-budget-and-spread": { "tier": "staging" } }.
//
// What CrossGuard cannot see, compared with the test suite:
//  - secretness: @pulumi/policy hands policies plain values, so the "Secret data must be a Pulumi
//    secret" check runs only in the tests (the Kubernetes SDK marks Secret data secret anyway);
//  - retainOnDelete: @pulumi/policy 1.21 passes `protect` but not `retainOnDelete` in opts (for
//    resource and stack policies alike), so here only `protect: true` satisfies stateful-data-protected.
import type {
    PolicyResource as CrossGuardResource,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import {
    contextFromResources,
    type PolicyResource,
    RESOURCE_RULES,
    type RuleContext,
    STACK_RULES,
    type Tier,
    TIERS,
} from "./rules";

export const PACK_NAME = "ecommerce-platform-guardrails";

const tierOverride = {
    configSchema: {
        properties: {
            tier: {
                type: "string" as const,
                enum: [...TIERS],
                description: "Overrides the tier the stack's namespaces declare (label ecommerce-platform.io/tier).",
            },
        },
    },
};

/** What a CrossGuard resource looks like to the rules. */
export function fromCrossGuard(
    r: Pick<CrossGuardResource, "type" | "name" | "urn" | "props" | "opts">,
): PolicyResource {
    // retainOnDelete and secretness are not visible to CrossGuard: left undefined on purpose.
    return { type: r.type, name: r.name, urn: r.urn, props: r.props, protect: r.opts?.protect };
}

/** The context of a stack policy: the namespaces' tier unless the policy config overrides it. */
export function crossGuardContext(resources: PolicyResource[], config: { tier?: Tier }): RuleContext {
    return contextFromResources(resources, config.tier);
}

const common = (rule: { name: string; description: string; readsTier?: boolean }) => ({
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory" as const,
    ...(rule.readsTier ? tierOverride : {}),
});

/** Every rule as a mandatory CrossGuard policy. */
export function crossGuardPolicies(): (ResourceValidationPolicy | StackValidationPolicy)[] {
    return [
        ...RESOURCE_RULES.map((rule): ResourceValidationPolicy => ({
            ...common(rule),
            validateResource: (args, reportViolation) => {
                for (const message of rule.check(fromCrossGuard(args))) reportViolation(message);
            },
        })),
        ...STACK_RULES.map((rule): StackValidationPolicy => ({
            ...common(rule),
            validateStack: (args, reportViolation) => {
                const resources = args.resources.map(fromCrossGuard);
                const ctx = crossGuardContext(resources, args.getConfig<{ tier?: Tier }>());
                for (const v of rule.check(resources, ctx)) reportViolation(v.message, v.resource?.urn);
            },
        })),
    ];
}
