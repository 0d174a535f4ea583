// Evaluates the program for a stack and returns what it registered. Evaluations run in worker
// processes (./run-stack.ts --serve), as many as the machine has cores, each evaluating one request
// after another with the program loaded afresh; each distinct request runs once per test process
// and is shared by every test file. A test file that calls evaluateStack() at load time starts its
// stacks before the first test runs. `fresh: true` evaluates in a process of its own, as
// `pulumi preview` would (`npm run bench` measures that).
import { type ChildProcess, execFile, fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EvaluationRequest, WorkDone, WorkOrder } from "./run-stack";
import { deepFreeze } from "./k8s";
import type { RecordedResource, StackEvaluation } from "./types";

const ROOT = path.resolve(__dirname, "..", "..");
const TRANSPILE = path.join(__dirname, "transpile.js");
const RUN_STACK = path.join(__dirname, "run-stack.ts");
const cache = new Map<string, Promise<StackEvaluation>>();
const slots = Math.max(1, os.availableParallelism());

// No source maps in the children (see transpile.js): strip the parent's flag. Node keeps compiled
// module code in .cache/node, so a new process loads the SDK faster.
const childEnv = () => ({
    ...process.env,
    NODE_OPTIONS: (process.env.NODE_OPTIONS ?? "").replace(/--enable-source-maps/g, ""),
    NODE_COMPILE_CACHE: path.join(ROOT, ".cache", "node"),
});

interface Job {
    order: WorkOrder;
    request: EvaluationRequest;
    resolve: (r: StackEvaluation) => void;
    reject: (e: Error) => void;
}

/**
 * A long-lived evaluation process with its own backlog: it goes on evaluating while the test
 * process is busy (a runtime test waiting for PostgreSQL blocks it), and holds the test process
 * open only while it has work.
 */
class Worker {
    private readonly child: ChildProcess;
    /** Sent, not yet answered, in order: the worker answers them one after another. */
    readonly backlog: Job[] = [];
    private stderr = "";
    exited = false;

    constructor(private readonly requeue: (jobs: Job[]) => void) {
        this.child = fork(RUN_STACK, ["--serve"], {
            cwd: ROOT,
            env: childEnv(),
            execArgv: ["--require", TRANSPILE],
            stdio: ["ignore", "ignore", "pipe", "ipc"],
        });
        this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
        this.child.on("message", (msg: WorkDone) => {
            const job = this.backlog.shift()!;
            this.stderr = "";
            if (msg.retired) this.exited = true;
            if (this.backlog.length === 0 || this.exited) this.idle();
            finish(job);
            // A retired worker leaves its backlog to the others.
            if (this.exited) this.requeue(this.backlog.splice(0));
        });
        this.child.on("exit", (code) => {
            const wasRetired = this.exited;
            this.exited = true;
            const [current, ...rest] = this.backlog.splice(0);
            if (current && !wasRetired)
                current.reject(
                    new Error(`evaluating stack ${current.request.stack} failed (exit ${code})\n${this.stderr}`),
                );
            this.requeue(wasRetired && current ? [current, ...rest] : rest);
        });
        this.idle();
    }

    send(job: Job) {
        this.backlog.push(job);
        this.child.ref();
        (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
        this.child.send(job.order);
    }

    private idle() {
        this.child.unref();
        (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
        (this.child.stderr as { unref?: () => void } | null)?.unref?.();
    }
}

let workers: Worker[] = [];

/** Each job goes to the worker with the shortest backlog, a new one while fewer than the cores run. */
function dispatch(jobs: Job[]) {
    workers = workers.filter((w) => !w.exited);
    for (const job of jobs) {
        let worker = workers.reduce<Worker | undefined>(
            (best, w) => (!best || w.backlog.length < best.backlog.length ? w : best),
            undefined,
        );
        if (!worker || (worker.backlog.length > 0 && workers.length < slots)) {
            worker = new Worker(dispatch);
            workers.push(worker);
        }
        worker.send(job);
    }
}

function finish(job: Job) {
    const { resultFile } = job.order;
    const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as StackEvaluation;
    fs.rmSync(path.dirname(resultFile), { recursive: true, force: true });
    // EVALUATION_LOG=<file>: one line per evaluation (for `npm run bench` and test-time work).
    if (process.env.EVALUATION_LOG)
        fs.appendFileSync(
            process.env.EVALUATION_LOG,
            `${Math.round(result.evaluationMs)}\t${JSON.stringify(job.request).slice(0, 200)}\n`,
        );
    // Shared by every test that asks: frozen, so a test changes only its own copy (structuredClone).
    job.resolve(deepFreeze(result));
}

function order(request: EvaluationRequest): WorkOrder {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-eval-"));
    const requestFile = path.join(dir, "request.json");
    fs.writeFileSync(requestFile, JSON.stringify(request));
    return { requestFile, resultFile: path.join(dir, "result.json") };
}

function run(request: EvaluationRequest): Promise<StackEvaluation> {
    return new Promise((resolve, reject) => {
        dispatch([{ order: order(request), request, resolve, reject }]);
    });
}

/** One evaluation in a new process (a worker's evaluations are faster than `pulumi preview`'s). */
export function evaluateFresh(request: EvaluationRequest): Promise<StackEvaluation> {
    const job = order(request);
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            ["--require", TRANSPILE, RUN_STACK, job.requestFile, job.resultFile],
            { cwd: ROOT, env: childEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
            (err, _stdout, stderr) => {
                if (err || !fs.existsSync(job.resultFile)) {
                    reject(new Error(`evaluating stack ${request.stack} failed: ${err?.message}\n${stderr}`));
                    return;
                }
                finish({ order: job, request, resolve, reject });
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
        result = run({ stack, ...given });
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
