// `npm run check -- <stack>...`: what `pulumi up` would do with a stack file, offline, in seconds.
// Reads the stack's configuration as the program does and prints its problems (exit 1), or runs the
// program under Pulumi mocks and prints, per layer: resources by kind, images and charts, public and
// internal endpoints, storage requests, capacity against the namespaces' quotas, policy findings and
// cross-region links still pending. A stack is a name (Pulumi.<name>.yaml next to Pulumi.yaml) or
// the path of a stack file anywhere; without arguments, every stack file next to Pulumi.yaml.
import * as path from "node:path";
import { ConfigError } from "../config";
import { readStackConfig, stackNames } from "../config/files";
import { evaluateStack } from "../tests/harness/evaluate";
import { formatSummary, summarise } from "../tests/harness/report";

const ROOT = path.resolve(__dirname, "..");

export interface CheckResult {
    stack: string;
    ok: boolean;
    text: string;
}

/** `dev` -> the stack dev; `some/dir/Pulumi.sa.yaml` -> the stack sa from that file. */
export function target(arg: string): { stack: string; file?: string; problem?: string } {
    const m = /(?:^|[\\/])Pulumi\.([^.\\/]+)\.ya?ml$/.exec(arg);
    if (m) return { stack: m[1], file: path.resolve(arg) };
    if (/[\\/]|\.ya?ml$/.test(arg))
        return {
            stack: path.basename(arg),
            problem: `${arg}: expected a stack file named Pulumi.<stack>.yaml (the name after "Pulumi." is the stack's)`,
        };
    return { stack: arg };
}

export async function checkStack(arg: string): Promise<CheckResult> {
    const { stack, file, problem } = target(arg);
    if (problem) return { stack, ok: false, text: `# ${arg}\n\n${problem}` };
    const started = performance.now();
    const shownFile = !file
        ? `Pulumi.${stack}.yaml`
        : file.startsWith(ROOT + path.sep)
          ? path.relative(ROOT, file)
          : file;
    const lines: string[] = [`# stack ${stack} (${shownFile})`];
    let cfg;
    try {
        cfg = readStackConfig(ROOT, stack, {}, file);
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        lines.push("", "Configuration errors; `pulumi up` would stop before creating anything:");
        lines.push(...e.problems.map((p) => `  - ${p}`));
        return { stack, ok: false, text: lines.join("\n") };
    }
    const layersOn = Object.entries(cfg.layers)
        .filter(([, on]) => on)
        .map(([l]) => l);
    lines.push(
        `tier ${cfg.tier}, region ${cfg.region}, ${cfg.cluster.distribution} cluster ${cfg.cluster.identifier}` +
            ` (kubeconfig context: ${cfg.cluster.context ?? "the current one"}), domain ${cfg.domain}`,
        `layers on: ${layersOn.join(", ")}`,
    );
    const evaluation = await evaluateStack(stack, file ? { stackFile: file } : {});
    if (evaluation.error) {
        lines.push("", `The program failed under mocks: ${evaluation.error}`);
        return { stack, ok: false, text: lines.join("\n") };
    }
    // DaemonSets count once per node: one laptop node, or a node per zone (at least three) in a region.
    const nodes = cfg.tier === "dev" ? 1 : Math.max(3, cfg.cluster.zones.length);
    const layers = summarise(evaluation, nodes);
    const findings = layers.flatMap((l) => l.findings);
    const overQuota = layers.flatMap((l) => l.overQuota);
    lines.push(
        `${evaluation.resources.length} resources, evaluated offline in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
            `(peer stacks not read: their links show as pending; DaemonSets counted on ${nodes} node${nodes > 1 ? "s" : ""})`,
        formatSummary(layers),
        "",
        findings.length || overQuota.length
            ? `NOT OK: ${findings.length} policy finding(s), ${overQuota.length} namespace(s) over quota`
            : "OK: no policy finding, every quota holds its namespace at maximum replicas",
    );
    return { stack, ok: findings.length === 0 && overQuota.length === 0, text: lines.join("\n") };
}

async function main() {
    const args = process.argv.slice(2);
    const stacks = args.length ? args : stackNames(ROOT);
    // Evaluations run side by side (the harness runs as many as the machine has cores).
    const results = await Promise.all(stacks.map(checkStack));
    for (const r of results) console.log(`${r.text}\n`);
    const failed = results.filter((r) => !r.ok).map((r) => r.stack);
    if (failed.length) {
        console.error(`npm run check: ${failed.join(", ")} would not deploy as configured (see above)`);
        process.exitCode = 1;
    }
}

if (require.main === module)
    main().catch((e: unknown) => {
        console.error(e);
        process.exitCode = 1;
    });
