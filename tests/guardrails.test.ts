// The policy pack's rules (policy/rules.ts) over every stack: a violation fails `npm test` before
// it ever reaches `pulumi preview --policy-pack policy`.
import * as assert from "node:assert/strict";
import { evaluate, formatFindings, toPolicyResource } from "../policy/rules";
import { deployedStack } from "./harness/evaluate";
import { STACKS } from "./harness/stack-config";

describe("guardrails (policy pack) over every stack", () => {
    for (const stack of STACKS) {
        it(`${stack}: no policy violation`, async () => {
            const { resources } = await deployedStack(stack);
            const findings = evaluate(resources.map(toPolicyResource));
            assert.deepEqual(findings, [], formatFindings(findings));
        });
    }
});
