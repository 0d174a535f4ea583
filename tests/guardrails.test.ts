// The policy pack's rules (policy/rules.ts) over every stack: a violation fails `npm test` before
// it ever reaches `pulumi preview --policy-pack policy`. The CrossGuard policies themselves
// (policy/pack.ts) run over the same resources as the engine shows them, with the same context.
import * as assert from "node:assert/strict";
import { contextFromResources, evaluate, formatFindings, toPolicyResource } from "../policy/rules";
import { crossGuardPolicies } from "../policy/pack";
import { deployedStack } from "./harness/evaluate";
import { STACKS } from "./harness/stack-config";

/** Runs every CrossGuard policy as the engine would (plain values, protect in opts, no policy config). */
function crossGuard(resources: ReturnType<typeof toPolicyResource>[]): string[] {
    const shown = resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        props: r.props,
        opts: { protect: r.protect ?? false, ignoreChanges: [] },
        dependencies: [],
        propertyDependencies: {},
    }));
    const out: string[] = [];
    const getConfig = () => ({});
    const notApplicable = () => {
        throw new Error("not applicable");
    };
    for (const policy of crossGuardPolicies()) {
        const report = (message: string) => out.push(`[${policy.name}] ${message}`);
        if ("validateStack" in policy)
            (policy.validateStack as any)({ resources: shown, stackTags: new Map(), getConfig, notApplicable }, report);
        else for (const r of shown) (policy.validateResource as any)({ ...r, getConfig, notApplicable }, report);
    }
    return out;
}

describe("guardrails (policy pack) over every stack", () => {
    for (const stack of STACKS) {
        it(`${stack}: no policy violation`, async () => {
            const { resources } = await deployedStack(stack);
            const findings = evaluate(resources.map(toPolicyResource));
            assert.deepEqual(findings, [], formatFindings(findings));
        });

        it(`${stack}: the CrossGuard pack, without policy config, agrees (tier ${stack === "dev" ? "dev" : "production"} from the namespaces)`, async () => {
            const policyResources = (await deployedStack(stack)).resources.map(toPolicyResource);
            assert.equal(contextFromResources(policyResources).tier, stack === "dev" ? "dev" : "production");
            assert.deepEqual(crossGuard(policyResources), []);
        });
    }
});
