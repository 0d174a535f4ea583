// CrossGuard policy pack: the rules of ./rules.ts as mandatory policies (built in ./pack.ts).
//   pulumi preview --policy-pack policy [--policy-pack-config <override>.json]
// The tier comes from the stack's Namespace labels (ecommerce-platform.io/tier), as in the tests;
// policy config `tier` only overrides it (see ./pack.ts and PulumiPolicy.yaml).
import { PolicyPack } from "@pulumi/policy";
import { crossGuardPolicies, PACK_NAME } from "./pack";

new PolicyPack(PACK_NAME, { enforcementLevel: "mandatory", policies: crossGuardPolicies() });
