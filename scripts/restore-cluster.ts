// `npm run --silent restore-cluster -- <stack> <new cluster name> [<target time RFC 3339>]`: prints the
// manifest of a NEW CloudNativePG Cluster that recovers the stack's database from its object store
// (base backup + WAL up to the target time), built by the same builder the tests validate
// (components/cloudnative-pg/plan.ts restoreCluster). Apply it with kubectl; the live Cluster is untouched.
import { stringify } from "yaml";
import { restoreCluster } from "../components/cloudnative-pg/plan";
import { PLATFORM_STORAGE_CLASS } from "../components/storage";
import { configOf } from "../tests/harness/stack-config";

const [stack, name, targetTime] = process.argv.slice(2);
if (!stack || !name) {
    console.error(
        "usage: npm run --silent restore-cluster -- <stack> <new cluster name> [<target time, e.g. 2026-12-01T09:55:00Z>]",
    );
    process.exit(2);
}
const cfg = configOf(stack);
if (!cfg.layers.cloudNativePg) {
    console.error(`stack ${stack} does not run CloudNativePG (layers.cloudNativePg is false)`);
    process.exit(2);
}
process.stdout.write(
    stringify(restoreCluster(cfg, PLATFORM_STORAGE_CLASS, cfg.layers.coreServices, { name, targetTime })),
);
