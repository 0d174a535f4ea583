// Child-process entry: evaluates the whole program for a stack under mocks and writes every
// registered resource (with its options) and the stack outputs as JSON.
//
//   node -r ./tests/harness/transpile.js tests/harness/run-stack.ts <request.json> <result.json>
//       one evaluation in a fresh process, as `pulumi preview` runs the program (`npm run bench`);
//   node -r ./tests/harness/transpile.js tests/harness/run-stack.ts --serve
//       a worker for the test process (./evaluate.ts): evaluations one after another, each in its own
//       Pulumi runtime state (the SDK's per-program store, as the Automation API runs inline
//       programs) and with the project's modules loaded afresh; the SDK and the providers' packages
//       stay loaded, which is most of a fresh process's cost.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { deserializeProperties } from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { PlatformMocks } from "./mocks";
import { stackConfig } from "./stack-config";
import type { RecordedResource, StackEvaluation } from "./types";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface EvaluationRequest {
    stack: string;
    /** Config keys (without project prefix) replacing the stack file's values. */
    configOverrides?: Record<string, unknown>;
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** Program to evaluate, relative to the project root (default index.ts); the benchmark uses an empty one. */
    program?: string;
    /** The stack file, when it is not Pulumi.<stack>.yaml in the project root (`npm run check -- path/to/file`). */
    stackFile?: string;
}

/** Replace Pulumi's wire form of secrets with `{ $secret: value }`; drop unknowns' internals. */
function normalise(v: any): any {
    if (Array.isArray(v)) return v.map(normalise);
    if (v && typeof v === "object") {
        if (v[SECRET_SIG] === "1b47061264138c4ac30d75fd1eb44270") return { $secret: normalise(v.value) };
        if (pulumi.Resource.isInstance(v)) return { $resource: (v as any).__name };
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
    }
    return v;
}

async function resolve(value: unknown): Promise<unknown> {
    const out = pulumi.output(value as any) as pulumi.Output<unknown>;
    const [plain, secret] = await Promise.all([
        new Promise((res) =>
            out.apply((x) => {
                res(x);
                return x;
            }),
        ),
        (out as any).isSecret as Promise<boolean>,
    ]);
    return secret ? { $secret: plain } : plain;
}

const ROOT = path.resolve(__dirname, "..", "..");

// Record every registration the mock monitor receives, with the options the tests check, into the
// evaluation under way (one at a time per process).
let recorded: Map<string, RecordedResource> | undefined;
type Register = (this: MockMonitor, req: any, callback: (err: any, resp: any) => void) => Promise<void>;
const original = Object.getOwnPropertyDescriptor(MockMonitor.prototype, "registerResource")!.value as Register;
MockMonitor.prototype.registerResource = function (
    this: MockMonitor,
    req: any,
    callback: (err: any, resp: any) => void,
) {
    const timeouts = req.getCustomtimeouts?.();
    const base = {
        type: req.getType(),
        name: req.getName(),
        custom: req.getCustom(),
        inputs: normalise(deserializeProperties(req.getObject())),
        parent: req.getParent() || undefined,
        provider: req.getProvider() || undefined,
        dependencies: [
            ...new Set<string>([
                ...req.getDependenciesList(),
                ...[...req.getPropertydependenciesMap().entries()].flatMap(([, d]: any) => d.getUrnsList()),
            ]),
        ],
        aliases: (req.getAliasesList?.() ?? []).map((a: any) =>
            a.hasSpec()
                ? {
                      name: a.getSpec().getName() || undefined,
                      type: a.getSpec().getType() || undefined,
                      parentUrn: a.getSpec().getParenturn() || undefined,
                      noParent: a.getSpec().getNoparent() || undefined,
                  }
                : { urn: a.getUrn() },
        ),
        protect: !!req.getProtect?.(),
        retainOnDelete: !!req.getRetainondelete?.(),
        ignoreChanges: req.getIgnorechangesList?.() ?? [],
        customTimeouts: timeouts
            ? {
                  create: timeouts.getCreate() || undefined,
                  update: timeouts.getUpdate() || undefined,
                  delete: timeouts.getDelete() || undefined,
              }
            : undefined,
    };
    return original.call(this, req, (err: any, resp: any) => {
        if (resp) recorded?.set(resp.getUrn(), { urn: resp.getUrn(), ...base });
        callback(err, resp);
    });
};

// The SDK records a stack trace for every resource (its source position, walking an unlimited
// stack) and for every promise it makes (leak debugging); nothing here reads them, and they cost
// a third of each evaluation. Error messages stay intact.
(pulumi.Resource as unknown as { callsites: () => unknown[] }).callsites = () => [];
Error.stackTraceLimit = 0;

// Internal to the SDK (no type declaration): runs a program with its own runtime state (config,
// monitor, stack resource), as the Automation API does for inline programs.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { withLocalStorage } = require("@pulumi/pulumi/runtime/state") as {
    withLocalStorage<T>(this: void, run: () => Promise<T>): Promise<T>;
};

/** The project's own modules (not the harness, not node_modules): loaded afresh for each evaluation. */
function forgetProgramModules() {
    const harness = path.join(ROOT, "tests", "harness") + path.sep;
    for (const file of Object.keys(require.cache))
        if (
            file.startsWith(ROOT + path.sep) &&
            !file.includes(`${path.sep}node_modules${path.sep}`) &&
            !file.startsWith(harness)
        )
            delete require.cache[file];
}

/** Evaluate the program for one request in a Pulumi runtime state of its own. */
export function evaluate(request: EvaluationRequest): Promise<StackEvaluation> {
    forgetProgramModules();
    return withLocalStorage(async () => {
        const { project, config, secretKeys } = stackConfig(
            ROOT,
            request.stack,
            request.configOverrides,
            request.stackFile,
        );
        recorded = new Map<string, RecordedResource>();
        pulumi.runtime.setAllConfig(config, secretKeys);
        const mocks = new PlatformMocks({ stackOutputs: request.stackOutputs });
        await pulumi.runtime.setMocks(mocks, project, request.stack, false);

        const started = performance.now();
        const outputs: Record<string, unknown> = {};
        let error: string | undefined;
        try {
            // The program is loaded by path, like the Pulumi language host does.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const program = require(path.join(ROOT, request.program ?? "index.ts"));
            const exported = typeof program === "function" ? await program() : program;
            for (const [k, v] of Object.entries(exported ?? {})) outputs[k] = normalise(await resolve(v));
            // Internal to the SDK (no type declaration): waits until every registration reached the mock monitor.
            await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
        } catch (e: any) {
            error = e?.message ?? String(e);
        }
        const evaluationMs = performance.now() - started;
        const resources = [...recorded.values()];
        recorded = undefined;
        return { stack: request.stack, resources, outputs, evaluationMs, error, generatedKeys: mocks.generatedKeys };
    });
}

/** A message from the test process to a worker: evaluate the request in one file, write the result to the other. */
export interface WorkOrder {
    requestFile: string;
    resultFile: string;
}

/** A worker's answer; after a program failed half-way the worker exits (`retired`), so nothing of it lingers:
 * the test process gives the orders it had queued to another worker. */
export interface WorkDone {
    resultFile: string;
    retired: boolean;
}

async function once(requestFile: string, resultFile: string) {
    const result = await evaluate(JSON.parse(fs.readFileSync(requestFile, "utf8")) as EvaluationRequest);
    fs.writeFileSync(resultFile, JSON.stringify(result));
    return result;
}

function serve() {
    // The test process is gone: the queued orders have no one to answer to.
    process.on("disconnect", () => process.exit(0));
    // Orders queue up here and run one after another (one evaluation at a time per process).
    let previous = Promise.resolve();
    process.on("message", (order: WorkOrder) => {
        previous = previous.then(() =>
            once(order.requestFile, order.resultFile).then(
                (result) =>
                    new Promise<void>((sent) => {
                        // A program that failed half-way may leave work in flight: a new process for the next.
                        // A configuration error stops it before anything is registered.
                        const retired = result.error !== undefined && result.resources.length > 0;
                        process.send!({ resultFile: order.resultFile, retired } satisfies WorkDone, () => {
                            if (retired) process.exit(0);
                            sent();
                        });
                    }),
                (e) => {
                    console.error(e);
                    process.exit(1);
                },
            ),
        );
    });
}

if (require.main === module) {
    const [first, second] = process.argv.slice(2);
    if (first === "--serve") serve();
    else
        once(first, second).then(
            () => process.exit(0),
            (e) => {
                console.error(e);
                process.exit(1);
            },
        );
}
