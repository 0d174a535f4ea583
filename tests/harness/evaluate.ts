// Evaluates the program for a stack in a child process (./run-stack.ts) and returns what it
// registered. Each distinct request runs once per test process and is shared by every test file;
// evaluations run side by side, as many as the machine has cores. A test file that calls
// evaluateStack() at load time starts its stacks before the first test runs.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EvaluationRequest } from "./run-stack";
import type { RecordedResource, StackEvaluation } from "./types";

const ROOT = path.resolve(__dirname, "..", "..");
const TRANSPILE = path.join(__dirname, "transpile.js");
const cache = new Map<string, Promise<StackEvaluation>>();
const slots = Math.max(1, os.availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
    if (running >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
        return await work();
    } finally {
        running--;
        waiting.shift()?.();
    }
}

function run(request: EvaluationRequest): Promise<StackEvaluation> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-eval-"));
    const requestFile = path.join(dir, "request.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(requestFile, JSON.stringify(request));
    return new Promise((resolve, reject) => {
        // No source maps in the child (see transpile.js): strip the parent's flag.
        const nodeOptions = (process.env.NODE_OPTIONS ?? "").replace(/--enable-source-maps/g, "");
        execFile(
            process.execPath,
            ["--require", TRANSPILE, path.join(__dirname, "run-stack.ts"), requestFile, resultFile],
            {
                cwd: ROOT,
                // Node keeps compiled module code in .cache/node: the SDK loads faster from the second evaluation on.
                env: {
                    ...process.env,
                    NODE_OPTIONS: nodeOptions,
                    NODE_COMPILE_CACHE: path.join(ROOT, ".cache", "node"),
                },
                maxBuffer: 64 * 1024 * 1024,
                timeout: 120_000,
            },
            (err, _stdout, stderr) => {
                if (err || !fs.existsSync(resultFile)) {
                    reject(new Error(`evaluating stack ${request.stack} failed: ${err?.message}\n${stderr}`));
                    return;
                }
                const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as StackEvaluation;
                fs.rmSync(dir, { recursive: true, force: true });
                // EVALUATION_LOG=<file>: one line per evaluation (for `npm run bench` and test-time work).
                if (process.env.EVALUATION_LOG)
                    fs.appendFileSync(
                        process.env.EVALUATION_LOG,
                        `${Math.round(result.evaluationMs)}\t${JSON.stringify(request).slice(0, 200)}\n`,
                    );
                resolve(result);
            },
        );
    });
}

/** Evaluate a stack (optionally with config overrides and peer stack outputs); once per request. */
export function evaluateStack(stack: string, options: Omit<EvaluationRequest, "stack"> = {}): Promise<StackEvaluation> {
    // Empty overrides or peer outputs are the same request as none: one evaluation for both.
    const given = Object.fromEntries(
        Object.entries(options).filter(
            ([, v]) => v !== undefined && !(typeof v === "object" && Object.keys(v as object).length === 0),
        ),
    );
    const key = JSON.stringify({ stack, ...given });
    let result = cache.get(key);
    if (!result) {
        result = slot(() => run({ stack, ...given }));
        // Started ahead of the test that awaits it: a failure is reported there, not as unhandled.
        result.catch(() => undefined);
        cache.set(key, result);
    }
    return result;
}

/** Like evaluateStack, but fails when the program itself failed. */
export async function deployedStack(
    stack: string,
    options: Omit<EvaluationRequest, "stack"> = {},
): Promise<StackEvaluation> {
    const result = await evaluateStack(stack, options);
    if (result.error) throw new Error(`stack ${stack} failed under mocks: ${result.error}`);
    return result;
}

export const isKubernetes = (r: RecordedResource) =>
    r.type.startsWith("kubernetes:") && r.custom && !r.type.startsWith("pulumi:providers:");

/**
 * Start evaluations a test file will need, at load time: mocha loads every file before it runs the
 * first test, so the machine's cores evaluate stacks while earlier tests run.
 */
export function prefetch(...requests: ({ stack: string } & Omit<EvaluationRequest, "stack">)[]): void {
    for (const { stack, ...options } of requests) void evaluateStack(stack, options);
}
