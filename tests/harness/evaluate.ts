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
import { removalsAsNull } from "./stack-config";
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

/** An evaluation that takes longer than this is stuck: its worker is stopped and the evaluation fails. */
const EVALUATION_TIMEOUT_MS = Number(process.env.EVALUATION_TIMEOUT_MS ?? 120_000);

/**
 * A long-lived evaluation process with its own backlog: it goes on evaluating while the test
 * process is busy (a runtime test waiting for PostgreSQL blocks it), and holds the test process
 * open only while it has work. An evaluation that hangs or a process that dies fails the
 * evaluation under way, with what the process wrote to stderr; the rest of its backlog goes to
 * other workers.
 */
class Worker {
    private readonly child: ChildProcess;
    /** Sent, not yet answered, in order: the worker answers them one after another. */
    readonly backlog: Job[] = [];
    private stderr = "";
    private timer: NodeJS.Timeout | undefined;
    private failure: string | undefined;
    exited = false;

    constructor(private readonly requeue: (jobs: Job[]) => void) {
        this.child = fork(RUN_STACK, ["--serve"], {
            cwd: ROOT,
            env: childEnv(),
            execArgv: ["--require", TRANSPILE],
            stdio: ["ignore", "ignore", "pipe", "ipc"],
        });
        this.child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
        this.child.on("message", (msg: WorkDone) => this.answered(msg));
        // A process that could not start, or a message it can no longer receive: it is done for.
        this.child.on("error", (e) => {
            this.failure ??= e.message;
            this.child.kill("SIGKILL");
        });
        // After the process ended and its pipes (the message channel too) closed: every answer is in.
        // Idle pipes do not hold the test process open; with evaluations owed, they must, until then.
        this.child.on("exit", () => {
            if (this.backlog.length > 0) this.hold();
        });
        this.child.on("close", (code, signal) => this.closed(code, signal));
        this.idle();
    }

    send(job: Job) {
        this.backlog.push(job);
        this.hold();
        if (this.backlog.length === 1) this.watch();
        this.child.send(job.order, (e) => {
            if (e) this.child.emit("error", e);
        });
    }

    private answered(msg: WorkDone) {
        const i = this.backlog.findIndex((j) => j.order.resultFile === msg.resultFile);
        if (i < 0) return;
        const [job] = this.backlog.splice(i, 1);
        this.stderr = "";
        if (msg.retired) this.exited = true;
        this.watch();
        if (this.backlog.length === 0 || this.exited) this.idle();
        finish(job);
        // A retired worker leaves its backlog to the others.
        if (this.exited) this.requeue(this.backlog.splice(0));
    }

    private closed(code: number | null, signal: NodeJS.Signals | null) {
        clearTimeout(this.timer);
        const wasRetired = this.exited;
        this.exited = true;
        const [current, ...rest] = this.backlog.splice(0);
        if (current && !wasRetired) {
            const how = this.failure ?? (signal ? `signal ${signal}` : `exit ${code}`);
            current.reject(new Error(`evaluating stack ${current.request.stack} failed (${how})\n${this.stderr}`));
            discard(current);
        }
        this.requeue(wasRetired && current ? [current, ...rest] : rest);
    }

    /** Time the evaluation now at the head of the backlog. */
    private watch() {
        clearTimeout(this.timer);
        if (this.backlog.length === 0) return;
        this.timer = setTimeout(() => {
            this.failure = `no answer after ${EVALUATION_TIMEOUT_MS / 1000} s; the worker was stopped`;
            this.child.kill("SIGKILL");
        }, EVALUATION_TIMEOUT_MS);
        this.timer.unref();
    }

    private hold() {
        this.child.ref();
        (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
        (this.child.stderr as { ref?: () => void } | null)?.ref?.();
    }

    private idle() {
        this.child.unref();
        (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
        (this.child.stderr as { unref?: () => void } | null)?.unref?.();
    }
}

/** The request's working files, once nothing will read them. */
const discard = (job: Job) => fs.rmSync(path.dirname(job.order.requestFile), { recursive: true, force: true });

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
    discard(job);
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
    // An override of undefined or null removes a key (config/files.ts); only null survives the request's JSON.
    if (given.configOverrides) given.configOverrides = removalsAsNull(given.configOverrides as Record<string, unknown>);
    const request = JSON.parse(JSON.stringify({ stack, ...given })) as EvaluationRequest;
    const key = JSON.stringify(request);
    let result = cache.get(key);
    if (!result) {
        result = run(request);
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
