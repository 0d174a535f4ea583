// `npm run bench`: how long the program takes to evaluate per stack under Pulumi mocks, next to an
// empty Pulumi program (the runtime's own cost), and the wall time of the whole test suite.
// Each evaluation runs in a fresh process, as `pulumi preview` would; times are medians of RUNS runs.
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { evaluateFresh } from "../tests/harness/evaluate";
import { STACKS } from "../tests/harness/stack-config";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROOT = path.resolve(__dirname, "..");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(stack: string, program?: string) {
    const times: number[] = [];
    let resources = 0;
    for (let i = 0; i < RUNS; i++) {
        // Each run is a new process, as `pulumi preview` starts one.
        const result = await evaluateFresh({ stack, program });
        if (result.error) throw new Error(`${stack}: ${result.error}`);
        times.push(result.evaluationMs);
        resources = result.resources.length;
    }
    return { ms: median(times), resources };
}

async function main() {
    const rows: string[][] = [["stack", "resources", "program (ms)", "empty program (ms)", "program - empty (ms)"]];
    for (const stack of STACKS) {
        const program = await measure(stack);
        const empty = await measure(stack, "scripts/empty-program.ts");
        rows.push([
            stack,
            String(program.resources),
            program.ms.toFixed(0),
            empty.ms.toFixed(0),
            (program.ms - empty.ms).toFixed(0),
        ]);
    }
    const started = Date.now();
    if (!process.env.BENCH_SKIP_SUITE)
        execFileSync("npx", ["mocha", "tests/**/*.test.ts"], { cwd: ROOT, stdio: "ignore" });
    const suite = (Date.now() - started) / 1000;
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join("  "));
    console.log(
        `\nmedian of ${RUNS} runs per cell, evaluation = program start to last resource registered, under mocks (node ${process.version})`,
    );
    if (!process.env.BENCH_SKIP_SUITE) console.log(`test suite (mocha, all files) wall time: ${suite.toFixed(1)} s`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
