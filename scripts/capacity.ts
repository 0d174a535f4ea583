// `npm run capacity`: per stack and namespace, total CPU/memory requests and limits of the pods the
// program runs, at minimum and at maximum replicas, next to the namespace's ResourceQuota.
// DaemonSets count once per node (NODES, default 1 for dev and 3 for the regions); Jobs and CronJobs
// count at maximum only. Of the pods operators and charts run, the CloudNativePG instances, OpenSearch
// and Jaeger are counted (tests/harness/capacity.ts operatedWorkloads); other chart pods are outside.
import { deployedStack } from "../tests/harness/evaluate";
import { fitsQuota, namespaceCapacity, type PodCost } from "../tests/harness/capacity";
import { STACKS } from "../tests/harness/stack-config";
import { formatCpu, formatMemory } from "../config/quantity";

const cpu = (v: number) => (Number.isNaN(v) ? "—" : formatCpu(v));
const mem = (v: number) => (Number.isNaN(v) ? "—" : formatMemory(v));
const cell = (c: PodCost) =>
    `${cpu(c.requests.cpu)} / ${mem(c.requests.memory)} · ${cpu(c.limits.cpu)} / ${mem(c.limits.memory)}`;

async function main() {
    const stacks = process.argv.slice(2).length ? process.argv.slice(2) : [...STACKS];
    for (const stack of stacks) {
        const nodes = Number(process.env.NODES ?? (stack === "dev" ? 1 : 3));
        const { resources } = await deployedStack(stack);
        const rows = namespaceCapacity(resources, nodes);
        console.log(`\n### ${stack} (${nodes} node${nodes > 1 ? "s" : ""} for DaemonSets)\n`);
        console.log(
            "| namespace | at min replicas: requests CPU / mem · limits CPU / mem | at max replicas | quota | fits |",
        );
        console.log("| --- | --- | --- | --- | --- |");
        for (const r of rows) {
            const fits = !r.quota ? "no quota" : fitsQuota(r.max, r.quota) ? "yes" : "**NO**";
            console.log(
                `| ${r.namespace} | ${cell(r.min)} | ${cell(r.max)} | ${r.quota ? cell(r.quota) : "—"} | ${fits} |`,
            );
        }
        const total = rows.reduce(
            (a, r) => ({ cpu: a.cpu + r.min.requests.cpu, memory: a.memory + r.min.requests.memory }),
            { cpu: 0, memory: 0 },
        );
        console.log(
            `\nTotal requests at min replicas: ${formatCpu(total.cpu)} CPU, ${formatMemory(total.memory)} memory.`,
        );
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
