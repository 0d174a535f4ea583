// `npm run clusters`: per stack, what the cluster models find — volume requests and the claims they
// make, pods placed on the declared node pools, start needs checked — and the first deploy's
// critical path. The same models the tests use (tests/harness/cluster/).
import { kubernetesObjects } from "../tests/harness/k8s";
import { deployedStack } from "../tests/harness/evaluate";
import { configOf, STACKS } from "../tests/harness/stack-config";
import { criticalPath, orderProblems, startNeeds } from "../tests/harness/cluster/order";
import { nodesOf, schedule, stackPods } from "../tests/harness/cluster/scheduler";
import { bindingProblems, claimCount, storageRequests } from "../tests/harness/cluster/storage";

async function main() {
    const stacks = process.argv.slice(2).length ? process.argv.slice(2) : [...STACKS];
    console.log("| stack | volume requests (claims) | pod templates | pods placed | nodes | start needs | problems |");
    console.log("| --- | --- | --- | --- | --- | --- | --- |");
    const paths: string[] = [];
    for (const stack of stacks) {
        const ev = await deployedStack(stack);
        const cfg = configOf(stack);
        const nodes = nodesOf(cfg);
        const storage = storageRequests(ev);
        const pods = stackPods(ev);
        const placed = schedule(pods.groups, nodes, cfg.cluster.profile.zoneLabel);
        const problems = [
            ...storage.unknown,
            ...bindingProblems(storage.requests, kubernetesObjects(ev.resources), cfg.cluster.profile, nodes),
            ...pods.unknown,
            ...placed.problems,
            ...orderProblems(ev),
        ];
        console.log(
            `| ${stack} | ${storage.requests.length} (${claimCount(storage.requests)}) | ${pods.groups.length} | ${placed.placed} | ${nodes.length} | ${startNeeds(ev).length} | ${problems.length} |`,
        );
        for (const p of problems) console.log(`  - ${p}`);
        paths.push(
            `${stack}: ${criticalPath(ev)
                .map((s) => s.label)
                .join(" → ")}`,
        );
    }
    console.log(`\nCritical path of a first deploy:\n${paths.map((p) => `- ${p}`).join("\n")}`);
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
