// Evaluates the program for a stack in a child process (see run-stack.ts) and returns what it
// registered. Results are cached per request for the life of the test process.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EvaluationRequest } from "./run-stack";
import type { RecordedResource, StackEvaluation } from "./types";

const ROOT = path.resolve(__dirname, "..", "..");
const cache = new Map<string, Promise<StackEvaluation>>();

function run(request: EvaluationRequest): Promise<StackEvaluation> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-eval-"));
    const requestFile = path.join(dir, "request.json");
    const resultFile = path.join(dir, "result.json");
    fs.writeFileSync(requestFile, JSON.stringify(request));
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", path.join(__dirname, "run-stack.ts"), requestFile, resultFile],
            {
                cwd: ROOT,
                env: {
                    ...process.env,
                    TS_NODE_TRANSPILE_ONLY: "true",
                    TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json"),
                },
                maxBuffer: 64 * 1024 * 1024,
                timeout: 120_000,
            },
            (err, _stdout, stderr) => {
                if (err || !fs.existsSync(resultFile)) {
                    reject(new Error(`evaluating stack ${request.stack} failed: ${err?.message}\n${stderr}`));
                    return;
                }
                const result: StackEvaluation = JSON.parse(fs.readFileSync(resultFile, "utf8"));
                fs.rmSync(dir, { recursive: true, force: true });
                resolve(result);
            },
        );
    });
}

/** Evaluate a stack (optionally with config overrides and peer stack outputs); cached per request. */
export function evaluateStack(stack: string, options: Omit<EvaluationRequest, "stack"> = {}): Promise<StackEvaluation> {
    const key = JSON.stringify({ stack, ...options });
    if (!cache.has(key)) cache.set(key, run({ stack, ...options }));
    return cache.get(key)!;
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
