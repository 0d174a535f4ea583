// The documentation against the stacks: every kubectl command, object name, URN and file it names
// exists in what the shipped stacks create (or in the repository), so a user can paste it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { configOf, ROOT, STACKS } from "./harness/stack-config";
import { deployedStack, prefetch } from "./harness/evaluate";
import {
    type ClusterObject,
    clusterObjects,
    declaredObjects,
    distributionObjects,
    kubectlCommands,
    kubectlProblems,
} from "./harness/docs";
import { claimedUrns } from "./harness/urns";
import { ALL_PEERS_OF_US } from "./harness/peer-outputs";
import type { StackEvaluation } from "./harness/types";

// The shipped stacks, and us once both peers published (the Active-Active databases exist only then;
// the same request as tests/redis-enterprise.test.ts, evaluated once).
const US_LINKED = { stack: "us", stackOutputs: ALL_PEERS_OF_US };
prefetch(...STACKS.map((stack) => ({ stack })), US_LINKED);

/** The documents a user reads: README, docs/, and each component's README. */
const DOCUMENTS = [
    "README.md",
    ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
    ...fs
        .readdirSync(path.join(ROOT, "components"), { withFileTypes: true })
        .filter((d) => d.isDirectory() && fs.existsSync(path.join(ROOT, "components", d.name, "README.md")))
        .map((d) => `components/${d.name}/README.md`),
];
const read = (doc: string) => fs.readFileSync(path.join(ROOT, doc), "utf8");

/** Names of the repository's files, anywhere in it (a bare `deploy.yml` may mean .github/workflows/deploy.yml). */
const REPOSITORY_FILES = new Set<string>();
(function walk(dir: string) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (["node_modules", ".git", ".cache"].includes(e.name)) continue;
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else REPOSITORY_FILES.add(e.name);
    }
})(ROOT);

async function evaluations(): Promise<Record<string, StackEvaluation>> {
    return {
        ...Object.fromEntries(await Promise.all(STACKS.map(async (s) => [s, await deployedStack(s)] as const))),
        "us (peers linked)": await deployedStack(US_LINKED.stack, { stackOutputs: US_LINKED.stackOutputs }),
    };
}

async function context() {
    const evaluated = await evaluations();
    return {
        stacks: Object.fromEntries(
            Object.entries(evaluated).map(([s, e]) => [s, [...clusterObjects(e.resources), ...distributionObjects()]]),
        ),
        contexts: STACKS.map((s) => configOf(s).cluster.context).filter((c): c is string => !!c),
    };
}

/** Kinds the documents name objects by, as `Kind \`name\``, and the kind each stands for. */
const NAMED_KINDS: Record<string, string> = {
    Namespace: "Namespace",
    ResourceQuota: "ResourceQuota",
    LimitRange: "LimitRange",
    NetworkPolicy: "NetworkPolicy",
    NetworkPolicies: "NetworkPolicy",
    ConfigMap: "ConfigMap",
    Secret: "Secret",
    Secrets: "Secret",
    StorageClass: "StorageClass",
    PersistentVolume: "PersistentVolume",
    PVC: "PersistentVolumeClaim",
    StatefulSet: "StatefulSet",
    Service: "Service",
    Services: "Service",
    Deployment: "Deployment",
    Job: "Job",
    CronJob: "CronJob",
    DaemonSet: "DaemonSet",
    Ingress: "Ingress",
    IngressClass: "IngressClass",
    ClusterIssuer: "ClusterIssuer",
    "Role/RoleBinding": "Role",
};

/** `Kind \`a\`, \`b\`` mentions: [kind, name pattern] (`<...>` in a name stands for any text). */
function namedObjects(markdown: string): [string, string][] {
    const prose = markdown.replace(/```[\s\S]*?```/g, "");
    const kinds = Object.keys(NAMED_KINDS)
        .sort((a, b) => b.length - a.length)
        .map((k) => k.replace("/", "\\/"))
        .join("|");
    const out: [string, string][] = [];
    const re = new RegExp(`\\b(${kinds}) ((?:\`[^\`]+\`(?:,? (?:and |\\+ |\\(\\+ )?|, )?)+)`, "g");
    for (const m of prose.matchAll(re))
        for (const name of m[2].matchAll(/`([^`]+)`/g)) out.push([NAMED_KINDS[m[1]], name[1]]);
    return out;
}

/** Whether `name` fits a documented name: `<...>` stands for any name part, `[...]` for an optional part. */
function matchesName(pattern: string, name: string): boolean {
    const parts = pattern.split(/(<[^>]*>|\[|\])/).map((p) => {
        if (p.startsWith("<")) return "[a-z0-9]+";
        if (p === "[") return "(?:";
        if (p === "]") return ")?";
        return p.replace(/[.*+?^${}()|\\-]/g, "\\$&");
    });
    return new RegExp(`^${parts.join("")}$`).test(name);
}

describe("documentation matches what the stacks create", () => {
    it(`finds the documents (${DOCUMENTS.join(", ")})`, () => {
        assert.ok(DOCUMENTS.includes("README.md") && DOCUMENTS.includes("docs/runbook.md"));
        assert.ok(DOCUMENTS.includes("components/shop/README.md"));
    });

    for (const doc of DOCUMENTS) {
        it(`${doc}: every kubectl command names namespaces, objects, ports, containers and keys some stack has`, async () => {
            const text = read(doc);
            const commands = kubectlCommands(text);
            const ctx = { ...(await context()), created: declaredObjects(text) };
            assert.deepEqual(
                commands.flatMap((c) => kubectlProblems(c, ctx)),
                [],
            );
        });
    }

    it("the stacks' own runbook outputs (portForward) name what the stacks have", async () => {
        const evaluated = await evaluations();
        const ctx = await context();
        const problems = Object.entries(evaluated).flatMap(([stack, e]) =>
            Object.values((e.outputs.portForward ?? {}) as Record<string, string>).flatMap((c) =>
                kubectlProblems(c, { ...ctx, stacks: { [stack]: ctx.stacks[stack] } }),
            ),
        );
        assert.deepEqual(problems, []);
    });

    it("sees a wrong namespace, object, port, container, Secret key, selector and context (damaged commands)", async () => {
        const ctx = { ...(await context()), created: [] as ClusterObject[] };
        const wrong = [
            "kubectl get all -n warungkopi",
            "kubectl port-forward svc/frontend -n warung-kopi 8080:8080",
            "kubectl logs -f deployment/product-catalogue -n ecommerce",
            "kubectl logs -n monitoring statefulset/prometheus-kps-prometheus -c prometheus-server",
            "kubectl get secret grafana-admin -n monitoring -o jsonpath='{.data.password}'",
            "kubectl wait --for=condition=complete job -l app.kubernetes.io/name=migrate -n warung-kopi",
            "kubectl describe hpa keda-hpa-product-catalog -n ecommerce",
            "kubectl config use-context ecommerce-mars",
        ];
        const problems = wrong.map((c) => kubectlProblems(c, ctx));
        for (const [i, p] of problems.entries()) assert.equal(p.length, 1, `not seen: ${wrong[i]}`);
        assert.match(problems[1][0], /port 8080 on Service frontend/);
        // KEDA names the HPA after the ScaledObject's horizontalPodAutoscalerConfig.name, not keda-hpa-<name>.
        assert.match(problems[6][0], /HorizontalPodAutoscaler keda-hpa-product-catalog in ecommerce/);
    });

    for (const doc of DOCUMENTS) {
        it(`${doc}: every object it names by kind exists in some stack`, async () => {
            const ctx = await context();
            const all = Object.values(ctx.stacks).flat();
            const missing = namedObjects(read(doc)).filter(
                ([kind, name]) => !all.some((o) => o.kind === kind && matchesName(name, o.name)),
            );
            assert.deepEqual(
                missing.map(([kind, name]) => `${kind} ${name}`),
                [],
            );
        });
    }

    it("sees an object the program does not create (damaged text)", () => {
        assert.deepEqual(
            namedObjects("ConfigMap `warung-kopi-config`, Secrets `a`, `b` and `c`, Job `db-migrate-<sha8>`"),
            [
                ["ConfigMap", "warung-kopi-config"],
                ["Secret", "a"],
                ["Secret", "b"],
                ["Secret", "c"],
                ["Job", "db-migrate-<sha8>"],
            ],
        );
        assert.ok(matchesName("db-migrate-<sha8 of SQL>[-<sha8>]", "db-migrate-0a1b2c3d-4e5f6a7b"));
        assert.ok(matchesName("db-migrate-<sha8 of SQL>[-<sha8>]", "db-migrate-0a1b2c3d"));
        assert.ok(!matchesName("warung-kopi-standard", "platform-standard"));
    });

    it("every URN in the documents belongs to a stack (full URNs, and `...::<name>` abbreviations)", async () => {
        const evaluated = await evaluations();
        const urns = new Set(Object.values(evaluated).flatMap((e) => [...claimedUrns(e.resources).values()].flat()));
        const names = new Set(Object.values(evaluated).flatMap((e) => e.resources.map((r) => r.name)));
        const problems: string[] = [];
        for (const doc of DOCUMENTS) {
            const text = read(doc);
            // URN patterns (pulumi up --target 'urn:...::**::storage**') must match some resource.
            for (const m of text.matchAll(/urn:pulumi:[^\s`'"<>)|]+/g)) {
                const pattern = new RegExp(
                    `^${m[0]
                        .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
                        .replace(/\*\*/g, "\0")
                        .replace(/\*/g, "[^:$]*")
                        .replace(/\0/g, ".*")}$`,
                );
                if (!urns.has(m[0]) && ![...urns].some((u) => pattern.test(u)))
                    problems.push(`${doc}: ${m[0]} is no resource of the shipped stacks`);
            }
            for (const m of text.matchAll(/\.\.\.::([a-z0-9<>-]+)/g))
                if (![...names].some((n) => matchesName(m[1], n)))
                    problems.push(`${doc}: ...::${m[1]} names no resource of the shipped stacks`);
        }
        assert.deepEqual(problems, []);
    });

    it("every repository file the documents name exists, and none points outside the repository", () => {
        const top = fs.readdirSync(ROOT).filter((f) => !f.startsWith(".") || [".ci", ".github"].includes(f));
        const problems: string[] = [];
        for (const doc of DOCUMENTS) {
            const text = read(doc);
            for (const m of text.matchAll(/(^|[\s`(])(\/(?:work|home|tmp|Users|root)\/[^\s`)]*)/g))
                problems.push(`${doc}: ${m[2]} is outside the repository (a user's clone has none)`);
            // Files in code spans are named from the repository's root; links are relative to the document.
            // A bare file name (`index.ts`) may also be next to the document.
            for (const [, code] of text.matchAll(/`([^`\s]+)`/g)) {
                const rel = code.replace(/^\.\//, "").replace(/:\d+(-\d+)?$/, "");
                if (/[<*{]/.test(rel)) continue;
                const bareFile = !rel.includes("/") && /^[\w.-]+\.(ts|js|cjs|mjs|md|ya?ml|json|sql)$/.test(rel);
                if (!bareFile && !top.includes(rel.split("/")[0])) continue;
                const found = bareFile ? REPOSITORY_FILES.has(rel) : fs.existsSync(path.join(ROOT, rel));
                if (!found) problems.push(`${doc}: \`${code}\` does not exist`);
            }
            for (const [, link] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
                if (/^[a-z]+:/.test(link)) continue;
                if (!fs.existsSync(path.join(ROOT, path.dirname(doc), link)))
                    problems.push(`${doc}: link ${link} does not exist`);
            }
        }
        assert.deepEqual(problems, []);
    });
});
