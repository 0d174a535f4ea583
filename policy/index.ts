// CrossGuard wrapper around the pure rules in ./rules.ts:
//   pulumi preview --policy-pack policy [--policy-pack-config policy-config.json]
//
// Every rule is mandatory. Rules that depend on the tier (stateful-data-protected,
// disruption-budget-and-spread) read the policy config value `tier` (dev | staging | production,
// default production, the strictest). CrossGuard config is per policy, e.g. for a dev stack:
//   { "stateful-data-protected": { "tier": "dev" }, "disruption-budget-and-spread": { "tier": "dev" } }
// (The test suite instead takes the tier from the namespaces' ecommerce-platform.io/tier label.)
//
// What CrossGuard cannot see, compared with the test suite:
//  - secretness: @pulumi/policy hands policies plain values, so the "Secret data must be a Pulumi
//    secret" check runs only in the tests (the Kubernetes SDK marks Secret data secret anyway);
//  - retainOnDelete: @pulumi/policy 1.21 passes `protect` but not `retainOnDelete` in args.opts, so
//    here only `protect: true` satisfies stateful-data-protected.
import { PolicyPack, PolicyResourceOptions, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { PolicyResource, RESOURCE_RULES, RuleContext, STACK_RULES, Tier, TIERS } from "./rules";

const tierConfig = {
    configSchema: {
        properties: {
            tier: { type: "string" as const, enum: [...TIERS], default: "production", description: "Tier of the stack under test." },
        },
    },
};

function context(args: { getConfig<T extends object>(): T }): RuleContext {
    return { tier: args.getConfig<{ tier?: Tier }>().tier ?? "production" };
}

function toPolicyResource(r: { type: string; name: string; urn: string; props: Record<string, any>; opts: PolicyResourceOptions }): PolicyResource {
    // retainOnDelete and secretness are not visible to CrossGuard: left undefined on purpose.
    return { type: r.type, name: r.name, urn: r.urn, props: r.props, protect: r.opts.protect };
}

const common = (rule: { name: string; description: string; readsTier?: boolean }) => ({
    name: rule.name,
    description: rule.description,
    enforcementLevel: "mandatory" as const,
    ...(rule.readsTier ? tierConfig : {}),
});

new PolicyPack("ecommerce-platform-guardrails", {
    enforcementLevel: "mandatory",
    policies: [
        ...RESOURCE_RULES.map((rule): ResourceValidationPolicy => ({
            ...common(rule),
            validateResource: (args, reportViolation) => {
                for (const message of rule.check(toPolicyResource(args), context(args))) reportViolation(message);
            },
        })),
        ...STACK_RULES.map((rule): StackValidationPolicy => ({
            ...common(rule),
            validateStack: (args, reportViolation) => {
                for (const v of rule.check(args.resources.map(toPolicyResource), context(args))) reportViolation(v.message, v.resource?.urn);
            },
        })),
    ],
});
