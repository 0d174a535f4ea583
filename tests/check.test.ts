// `npm run check -- <stack>`: a stack seen without a cluster. It reuses the evaluations the other
// test files run (the harness caches them per request), so only its own bad stack file costs time.
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkStack, target } from "../scripts/check";
import { deployedStack, prefetch } from "./harness/evaluate";
import { formatSummary, summarise } from "./harness/report";
import { ROOT, STACKS } from "./harness/stack-config";

prefetch(...STACKS.map((stack) => ({ stack })));

const BAD_STACK_FILE = `# A region's first draft, with the mistakes issue 11 met: a misspelt tier and a misspelt key.
config:
  ecommerce-platform:teir: production
  ecommerce-platform:region: eu
  ecommerce-platform:shpo:
    frontend:
      replicas: 4
`;

describe("npm run check", () => {
    it("names a stack by name or by the path of its file", () => {
        assert.deepEqual(target("us"), { stack: "us" });
        assert.deepEqual(target("drafts/Pulumi.sa.yaml"), { stack: "sa", file: path.resolve("drafts/Pulumi.sa.yaml") });
    });

    for (const stack of STACKS) {
        it(`${stack}: prints per layer what would be created, and finds nothing wrong`, async () => {
            const { ok, text } = await checkStack(stack);
            assert.ok(ok, text);
            for (const part of [
                `# stack ${stack} (Pulumi.${stack}.yaml)`,
                "## warung-kopi (WarungKopi)",
                "## core-services (CoreServices)",
                "## mesh (ServiceMesh)",
                "  resources: ",
                "  images:",
                "  public endpoints:",
                "  internal endpoints:",
                "  storage requests:",
                "  capacity against quota:",
                "  policy findings: none",
                "OK: no policy finding, every quota holds its namespace at maximum replicas",
            ])
                assert.ok(text.includes(part), `${stack}: no "${part}" in\n${text}`);
        });
    }

    it("shows what a user would check: hosts, images, volumes, quotas, pending links", async () => {
        const { text } = await checkStack("us");
        assert.match(text, /https:\/\/kopi\.us\.shop\.example\.com \(Ingress warung-kopi\/warung-kopi\)/);
        assert.match(
            text,
            /https:\/\/api\.us\.shop\.example\.com\/payments\/ \(VirtualService ecommerce\/payment-public\)/,
        );
        assert.match(text, /LoadBalancer warung-kopi\/frontend-public:80 \(internal, from 10\.0\.0\.0\/8\)/);

        assert.match(text, /Cluster databases\/postgres: data 50Gi \+ WAL 20Gi per instance, 3 instance\(s\)/);
        assert.match(text, /ghcr\.io\/cloudnative-pg\/postgresql/);
        assert.match(
            (await checkStack("dev")).text,
            /StatefulSet warung-kopi\/postgres claim data per replica: 2Gi/,
            "dev keeps the shop's own PostgreSQL",
        );
        assert.match(
            text,
            /kube-prometheus-stack prometheus\.prometheusSpec\.storageSpec\.volumeClaimTemplate\.spec: 50Gi/,
        );
        assert.match(text, /warung-kopi: min replicas requests .*; quota requests .*: fits/);
        assert.match(
            text,
            /## mesh[\s\S]*cross-region links pending[^\n]*\n(\s+- mesh:[^\n]+\n)*\s+- mesh:eu\n\s+- mesh:asia/,
        );
        assert.match(text, /## redis-enterprise[\s\S]*cross-region links pending[^\n]*\n\s+- redis:asia/);
    });

    it("reports a policy finding and a namespace over its quota under the layer they belong to (damaged copy)", async () => {
        const evaluation = structuredClone(await deployedStack("dev"));
        const deployment = evaluation.resources.find(
            (r) => r.type === "kubernetes:apps/v1:Deployment" && r.inputs.metadata.name === "backend",
        )!;
        deployment.inputs.spec.template.spec.containers[0].securityContext = { privileged: true };
        const quota = evaluation.resources.find(
            (r) => r.type === "kubernetes:core/v1:ResourceQuota" && r.inputs.metadata.namespace === "ecommerce",
        )!;
        quota.inputs.spec.hard["requests.cpu"] = "10m";
        const layers = summarise(evaluation, 1);
        const shop = layers.find((l) => l.layer === "warung-kopi")!;
        const core = layers.find((l) => l.layer === "core-services")!;
        assert.ok(
            shop.findings.some((f) => f.includes("backend")),
            formatSummary([shop]),
        );
        assert.deepEqual(core.overQuota, ["ecommerce"]);
        assert.match(formatSummary([core]), /ecommerce: .*: DOES NOT FIT/);
    });

    it("names what is wrong with the file itself in plain words: a key twice, no such stack, a file not named for a stack", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-"));
        try {
            // A recipe's snippet pasted below the key it belongs under, instead of merged into it.
            const file = path.join(dir, "Pulumi.eu.yaml");
            const text = fs.readFileSync(path.join(ROOT, "Pulumi.eu.yaml"), "utf8");
            fs.writeFileSync(file, `${text}  ecommerce-platform:shop:\n    ingressHost: kopi.eu.shop.example.com\n`);
            const twice = await checkStack(file);
            assert.equal(twice.ok, false);
            const line = text.split("\n").length;
            assert.match(
                twice.text,
                new RegExp(
                    `Pulumi\\.eu\\.yaml line ${line}: "ecommerce-platform:shop:" appears twice in the same map: merge the two`,
                ),
            );
            const missing = await checkStack("euu");
            assert.equal(missing.ok, false);
            assert.match(missing.text, /no stack file .*Pulumi\.euu\.yaml: expected .*\(here: asia, dev, eu, us\)/);
            const misnamed = await checkStack(path.join(dir, "eu.yaml"));
            assert.equal(misnamed.ok, false);
            assert.match(misnamed.text, /expected a stack file named Pulumi\.<stack>\.yaml/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("stops at configuration errors, in plain words, without evaluating the program, and exits non-zero", async function () {
        this.timeout(60000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-"));
        const file = path.join(dir, "Pulumi.draft.yaml");
        fs.writeFileSync(file, BAD_STACK_FILE);
        const { ok, text } = await checkStack(file);
        assert.equal(ok, false);
        assert.match(text, /Configuration errors; `pulumi up` would stop before creating anything/);
        assert.match(text, /ecommerce-platform:teir: unknown key; did you mean "tier"\?/);
        assert.match(text, /ecommerce-platform:shpo: unknown key; did you mean "shop"\?/);
        assert.match(text, /ecommerce-platform:tier = \(not set\): expected one of dev, staging, production/);
        // The command itself, as CI runs it.
        const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
            execFile(
                process.execPath,
                ["--require", "./tests/harness/transpile.js", "scripts/check.ts", file],
                { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: "" } },
                (err, stdout, stderr) => resolve({ code: err ? (err.code as number) : 0, stdout, stderr }),
            ),
        );
        assert.equal(run.code, 1, run.stdout + run.stderr);
        assert.match(run.stdout, /did you mean "tier"/);
        assert.match(run.stderr, /npm run check: draft would not deploy as configured/);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});
