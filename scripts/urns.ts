// `npm run urns`: records the URNs each shipped stack's program registers into tests/fixtures/urns/,
// the snapshot a test holds later versions to (a resource whose URN changes without an alias is
// deleted and created again by `pulumi up`). Run it when a resource is removed on purpose.
import * as fs from "node:fs";
import * as path from "node:path";
import { deployedStack } from "../tests/harness/evaluate";
import { ROOT, STACKS } from "../tests/harness/stack-config";
import { snapshotOf } from "../tests/harness/urns";

async function main() {
    for (const stack of STACKS) {
        const { resources } = await deployedStack(stack);
        const file = path.join(ROOT, "tests", "fixtures", "urns", `${stack}.txt`);
        fs.writeFileSync(file, snapshotOf(resources).join("\n") + "\n");
        console.log(`${path.relative(ROOT, file)}: ${resources.length} resources`);
    }
}

main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
});
