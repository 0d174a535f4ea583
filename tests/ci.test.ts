// The CI workflows, parsed: what runs with which credentials. Pull-request code never gets a stored
// credential; previews of production stacks wait for an approval; deploys run from main only; every
// action is pinned by commit; checkouts leave no token behind; installs run no package scripts.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ROOT } from "./harness/stack-config";
import { messageProblems } from "../scripts/commits";

type Workflow = { on: any; permissions?: any; jobs: Record<string, Job> };
type Job = { "runs-on"?: string; if?: string; environment?: string; permissions?: any; steps?: Step[] };
type Step = { uses?: string; run?: string; with?: Record<string, unknown>; name?: string };

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const ACTIONS = path.join(ROOT, ".github", "actions");
const read = (file: string): Workflow => parse(fs.readFileSync(file, "utf8"), { merge: true }) as Workflow;
const workflows = () =>
    fs
        .readdirSync(WORKFLOWS)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => ({ file: f, wf: read(path.join(WORKFLOWS, f)) }));
const compositeSteps = () =>
    fs.readdirSync(ACTIONS).flatMap((dir) => {
        const action = parse(fs.readFileSync(path.join(ACTIONS, dir, "action.yml"), "utf8")) as {
            runs: { steps: Step[] };
        };
        return action.runs.steps.map((step) => ({ where: `.github/actions/${dir}`, step }));
    });

/** Everything in one workflow that breaks the rules above, in words. */
export function workflowProblems(file: string, wf: Workflow): string[] {
    const out: string[] = [];
    const on = wf.on ?? {};
    if ("pull_request_target" in on) out.push(`${file}: pull_request_target runs with the base repository's secrets`);
    const top = wf.permissions;
    if (top === undefined || (typeof top === "string" ? top !== "read-all" : Object.keys(top).length > 0))
        out.push(`${file}: top-level permissions must be {} (each job names what it needs)`);
    if (/\$\{\{\s*secrets\./.test(JSON.stringify(wf)))
        out.push(`${file}: uses a stored secret; credentials come from OIDC`);
    for (const [name, job] of Object.entries(wf.jobs)) {
        const where = `${file} ${name}`;
        if (!job["runs-on"] || /latest/.test(job["runs-on"]))
            out.push(`${where}: runs-on ${job["runs-on"]}: pin the runner image (e.g. ubuntu-24.04)`);
        const perms = job.permissions;
        if (perms === undefined) out.push(`${where}: no job permissions (it would inherit the workflow's)`);
        const writes = Object.entries(perms ?? {})
            .filter(([, v]) => v === "write")
            .map(([k]) => k);
        if (writes.includes("id-token") && !job.environment)
            out.push(`${where}: id-token: write outside an environment (no approval, no scoped identity)`);
        for (const step of job.steps ?? []) out.push(...stepProblems(where, step));
    }
    const triggers = Object.keys(on);
    if (triggers.includes("push") || triggers.includes("schedule") || triggers.includes("workflow_dispatch")) {
        const branches: string[] | undefined = on.push?.branches;
        if (triggers.includes("push") && JSON.stringify(branches) !== '["main"]')
            out.push(`${file}: push deploys from ${JSON.stringify(branches)}: main only`);
        for (const [name, job] of Object.entries(wf.jobs))
            if (job.environment && !/github\.ref == 'refs\/heads\/main'/.test(job.if ?? ""))
                out.push(`${file} ${name}: deploys without checking that the ref is main`);
    }
    return out;
}

function stepProblems(where: string, step: Step): string[] {
    const out: string[] = [];
    if (step.uses && !step.uses.startsWith("./")) {
        if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(step.uses))
            out.push(`${where}: ${step.uses}: pin the action to a full commit SHA`);
        if (step.uses.startsWith("actions/checkout@") && step.with?.["persist-credentials"] !== false)
            out.push(`${where}: checkout without persist-credentials: false leaves the token in .git/config`);
    }
    for (const line of (step.run ?? "").split("\n"))
        if (/\bnpm (ci|install|i)\b/.test(line) && !/--ignore-scripts/.test(line))
            out.push(`${where}: "${line.trim()}" runs the packages' install scripts`);
    if (/kubectl create token/.test(step.run ?? "")) {
        const hours = /--duration=(\d+)h/.exec(step.run!)?.[1];
        if (!hours || Number(hours) > 168) out.push(`${where}: reader tokens live 168h at most (--duration)`);
    }
    return out;
}

describe("CI workflows", () => {
    it("follow the rules: pinned actions and runners, no stored secrets, no persisted token, no install scripts", () => {
        const problems = workflows().flatMap(({ file, wf }) => workflowProblems(file, wf));
        for (const { where, step } of compositeSteps()) problems.push(...stepProblems(where, step));
        assert.deepEqual(problems, []);
    });

    it("previews: production stacks only in approval environments, with short-lived read-only credentials", () => {
        const wf = read(path.join(WORKFLOWS, "preview.yml"));
        assert.deepEqual(Object.keys(wf.on), ["pull_request"]);
        const preview = wf.jobs.preview;
        assert.equal(preview.environment, "preview-${{ matrix.stack }}");
        const stacks = (preview as any).strategy.matrix.include.map((m: any) => m.stack);
        assert.deepEqual(stacks, ["us", "eu", "asia"]);
        assert.match(preview.if ?? "", /head\.repo\.full_name == github\.repository/, "no OIDC token for forks");
        const steps = preview.steps ?? [];
        const auth = steps.find((s) => s.uses?.startsWith("pulumi/auth-actions@"));
        assert.ok(auth, "Pulumi Cloud token through OIDC");
        assert.ok(Number(auth.with?.["token-expiration"]) <= 3600, "an hour at most");
        assert.match(String(auth.with?.scope), /PULUMI_PREVIEW_TEAM/, "a team that only reads the stacks");
        const login = steps.find((s) => s.uses === "./.github/actions/cluster-login");
        assert.match(String(login?.with?.identity), /CLUSTER_READER_IDENTITY/, "the read-only cluster identity");
        assert.deepEqual(
            steps.filter((s) => s.uses?.startsWith("pulumi/actions@")).map((s) => s.with?.command),
            ["preview"],
        );
    });

    it("deploys: main only, each region behind its production environment, tokens renewed weekly", () => {
        const wf = read(path.join(WORKFLOWS, "deploy.yml"));
        assert.deepEqual(wf.on.push, { branches: ["main"] });
        assert.ok(wf.on.schedule?.length, "a scheduled run renews reader tokens and intermediates");
        for (const name of ["up", "link-peers"]) {
            const job = wf.jobs[name];
            assert.equal(job.environment, "production-${{ matrix.stack }}");
            assert.match(job.if ?? "", /github\.ref == 'refs\/heads\/main'/);
            const run = (job.steps ?? []).map((s) => s.run ?? "").join("\n");
            assert.match(run, /kubectl create token istio-remote-reader -n istio-system --duration=168h/);
            assert.match(run, /pulumi config set --secret meshReaderToken/);
        }
    });

    it("checks the pull request's commit messages: subject of 72 characters at most, a body saying why", () => {
        const test = read(path.join(WORKFLOWS, "preview.yml")).jobs.test;
        const runs = (test.steps ?? []).map((s) => s.run ?? "");
        assert.ok(
            runs.includes(
                "npm run commits -- ${{ github.event.pull_request.base.sha }}..${{ github.event.pull_request.head.sha }}",
            ),
        );
        assert.equal(test.steps?.find((s) => s.uses?.startsWith("actions/checkout@"))?.with?.["fetch-depth"], 0);
        const body = "\n\nBecause the reason matters.\n";
        assert.deepEqual(messageProblems(`Share evaluations between test files${body}`), []);
        assert.deepEqual(messageProblems(`${"x".repeat(73)}${body}`), ["subject of 73 characters (at most 72)"]);
        assert.deepEqual(messageProblems("Fix it"), ["no body saying why"]);
        assert.deepEqual(messageProblems("Fix it\nno blank line"), [
            "no blank line after the subject",
            "no body saying why",
        ]);
    });

    it("sees a damaged workflow", () => {
        const broken: Workflow = {
            on: { pull_request_target: {}, push: { branches: ["main", "release/*"] } },
            permissions: { contents: "write" },
            jobs: {
                deploy: {
                    "runs-on": "ubuntu-latest",
                    environment: "production-us",
                    permissions: { "id-token": "write" },
                    steps: [
                        { uses: "actions/checkout@v4" },
                        { run: "npm ci" },
                        { run: "kubectl create token x --duration=8760h" },
                        { uses: "pulumi/actions@v6", with: { "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}" } },
                    ],
                },
            },
        };
        assert.deepEqual(workflowProblems("broken.yml", broken), [
            "broken.yml: pull_request_target runs with the base repository's secrets",
            "broken.yml: top-level permissions must be {} (each job names what it needs)",
            "broken.yml: uses a stored secret; credentials come from OIDC",
            "broken.yml deploy: runs-on ubuntu-latest: pin the runner image (e.g. ubuntu-24.04)",
            "broken.yml deploy: actions/checkout@v4: pin the action to a full commit SHA",
            "broken.yml deploy: checkout without persist-credentials: false leaves the token in .git/config",
            'broken.yml deploy: "npm ci" runs the packages\' install scripts',
            "broken.yml deploy: reader tokens live 168h at most (--duration)",
            "broken.yml deploy: pulumi/actions@v6: pin the action to a full commit SHA",
            'broken.yml: push deploys from ["main","release/*"]: main only',
            "broken.yml deploy: deploys without checking that the ref is main",
        ]);
    });
});
