// Child-process entry: evaluates the whole program for one stack under mocks and writes every
// registered resource (with its options) and the stack outputs as JSON. One stack per process,
// because Node's module cache lets a program run only once per process.
//
//   node -r ts-node/register tests/harness/run-stack.ts <request.json> <result.json>
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

async function main() {
    const [requestFile, resultFile] = process.argv.slice(2);
    const request: EvaluationRequest = JSON.parse(fs.readFileSync(requestFile, "utf8"));
    const root = path.resolve(__dirname, "..", "..");
    const { project, config, secretKeys } = stackConfig(
        root,
        request.stack,
        request.configOverrides,
        request.stackFile,
    );

    const recorded = new Map<string, RecordedResource>();
    // Record every registration the mock monitor receives, with the options the tests check.
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
            if (resp) recorded.set(resp.getUrn(), { urn: resp.getUrn(), ...base });
            callback(err, resp);
        });
    };

    // The SDK records a stack trace for every resource (its source position, walking an unlimited
    // stack) and for every promise it makes (leak debugging); nothing here reads them, and they cost
    // a third of each evaluation. Error messages stay intact.
    (pulumi.Resource as unknown as { callsites: () => unknown[] }).callsites = () => [];
    Error.stackTraceLimit = 0;

    pulumi.runtime.setAllConfig(config, secretKeys);
    const mocks = new PlatformMocks({ stackOutputs: request.stackOutputs });
    await pulumi.runtime.setMocks(mocks, project, request.stack, false);

    const started = performance.now();
    const outputs: Record<string, unknown> = {};
    let error: string | undefined;
    try {
        // The program is loaded by path, like the Pulumi language host does.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(root, request.program ?? "index.ts"));
        const exported = typeof program === "function" ? await program() : program;
        for (const [k, v] of Object.entries(exported ?? {})) outputs[k] = normalise(await resolve(v));
        // Internal to the SDK (no type declaration): waits until every registration reached the mock monitor.
        await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    } catch (e: any) {
        error = e?.message ?? String(e);
    }
    const evaluationMs = performance.now() - started;
    const result: StackEvaluation = {
        stack: request.stack,
        resources: [...recorded.values()],
        outputs,
        evaluationMs,
        error,
        generatedKeys: mocks.generatedKeys,
    };
    fs.writeFileSync(resultFile, JSON.stringify(result));
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
