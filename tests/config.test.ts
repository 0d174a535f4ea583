// The configuration module: every stack file is valid; bad input is stopped before any resource is
// registered, with a message naming the key, the value given, what is expected and an example; and
// Pulumi.yaml describes every key the program reads.
import * as assert from "node:assert/strict";
import { z } from "zod";
import {
    BACKUP_CREDENTIAL_KEYS,
    CONFIG_KEYS,
    ConfigError,
    DNS_CREDENTIAL_KEYS,
    keyPaths,
    keysAt,
    LIBRARY_WORDING,
    parseConfig,
    parseSchema,
    PROJECT,
    rawFromFlat,
    schema,
    withDefaults,
} from "../config";
import { parseFlatConfig } from "../config/load";
import { keyName } from "../config/messages";
import { RULES } from "../config/rules";
import { readProjectFile, readStackConfig, secretValue } from "../config/files";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { descriptionProblems, expandBraces, type KeyPath } from "./harness/config-docs";
import { ROOT, STACKS, stackConfig } from "./harness/stack-config";
import { evaluateStack, prefetch } from "./harness/evaluate";
import { TEST_LICENCE } from "./harness/bootstrap";

/** The raw config of a stack file, as the program's loadConfig sees it. */
const rawStack = (stack: string) => rawFromFlat(stackConfig(ROOT, stack).config);

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

/** `base` with `change` applied as an edit to the stack file: objects key by key, `null` deletes, other values replace. */
function edit(base: unknown, change: unknown): unknown {
    if (!isPlain(change) || !isPlain(base)) return change;
    const out: Plain = { ...base };
    for (const [k, v] of Object.entries(change)) {
        if (v === null) delete out[k];
        else out[k] = edit(base[k], v);
    }
    return out;
}

/**
 * The problems `pulumi up` would stop with, for the stack file edited by `change` (top-level keys
 * of the project, or full `<namespace>:<key>` names; `secretValue(x)` sets a key as a secret). Read
 * as the program reads it: files, the flat runtime map, every namespace.
 */
function problemsOf(stack: string, change: Plain): string[] {
    const raw = rawStack(stack);
    const overrides: Plain = {};
    for (const [key, value] of Object.entries(change)) {
        const secret = isPlain(value) && "$secret" in value;
        const edited = key.includes(":") || secret ? value : edit(raw[key], value);
        overrides[key] = edited === null ? undefined : edited;
    }
    const { config, secretKeys } = stackConfig(ROOT, stack, overrides);
    try {
        parseFlatConfig(stack, config, (k) => secretKeys.includes(k));
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
        return e.problems;
    }
    assert.fail(`accepted: ${JSON.stringify(change)}`);
}

/** Every problem in plain words: a key of the project, no validation-library wording, nothing dumped. */
function assertPlain(problems: string[]) {
    for (const p of problems) {
        assert.doesNotMatch(p, LIBRARY_WORDING, `validation-library wording in: ${p}`);
        assert.match(p, /^(ecommerce-platform|kubernetes|[a-z-]+):\S/, `names no key: ${p}`);
        assert.match(p, /expected|unknown key|unknown namespace|is ignored|is not/, `says nothing expected: ${p}`);
        assert.ok(p.length < 1000, `too long (${p.length} characters): ${p.slice(0, 200)}...`);
        // Objects are summarised by their keys ({requests, limits}), never dumped.
        assert.doesNotMatch(p, /\{"[^"]*":/, `an object dumped in: ${p}`);
    }
}

/** The line about `key` (below the project namespace unless it has its own), checked against `expected`. */
function expectProblem(stack: string, change: Plain, key: string, expected: RegExp) {
    const problems = problemsOf(stack, change);
    assertPlain(problems);
    const name = key.includes(":") ? key : `${PROJECT}:${key}`;
    const line = problems.find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}:`));
    assert.ok(line, `no message names ${name}:\n${problems.join("\n")}`);
    assert.match(line, expected);
}

// A real run (loadConfig through the Pulumi runtime): every key of every namespace is read.
const BROKEN_RUN = {
    shop: { worker: { replicas: 0 } },
    shpo: { namespace: "shop" },
    "kubernetes:context": "ecommerce-us",
};
prefetch({ stack: "us", configOverrides: BROKEN_RUN });

describe("configuration", () => {
    for (const stack of STACKS) {
        it(`accepts Pulumi.${stack}.yaml`, () => {
            const cfg = parseConfig(stack, rawStack(stack));
            assert.equal(cfg.stack, stack);
        });
    }

    it("reads a stack file holding encrypted values (pulumi config set --secret, with and without --path) and emptied keys", () => {
        // As the CLI writes them: the whole value, or leaves of an object, each {secure: <ciphertext>}.
        const file = parse(fs.readFileSync(path.join(ROOT, "Pulumi.us.yaml"), "utf8"));
        const cipher = (n: number) => ({ secure: `v1:${Buffer.from(`ciphertext ${n}`).toString("base64")}` });
        const c = file.config;
        // Its only key deleted by hand: the key is left with nothing under it (YAML null), not a string.
        assert.deepEqual(Object.keys(c["ecommerce-platform:redisEnterprise"]), ["licenseSecretName"]);
        c["ecommerce-platform:redisEnterprise"] = null;
        c["ecommerce-platform:redisEnterpriseLicense"] = cipher(1);
        c["ecommerce-platform:meshReaderToken"] = cipher(2);
        c["ecommerce-platform:dns"] = { provider: "aws", zone: "us.shop.example.com" };
        c["ecommerce-platform:tls"] = { issuer: "acme-dns01", acmeEmail: "platform-team@example.com" };
        c["ecommerce-platform:dnsCredentials"] = { accessKeyId: cipher(3), secretAccessKey: cipher(4) };
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "secure-"));
        const draft = path.join(dir, "Pulumi.us.yaml");
        fs.writeFileSync(draft, stringify(file));
        try {
            const { secretKeys } = stackConfig(ROOT, "us", {}, draft);
            for (const key of ["redisEnterpriseLicense", "meshReaderToken", "dnsCredentials"])
                assert.ok(secretKeys.includes(`ecommerce-platform:${key}`), key);
            const cfg = readStackConfig(ROOT, "us", {}, draft);
            assert.equal(cfg.redisEnterprise.licenseSecretName, undefined);
            assert.equal(cfg.tls.issuer, "acme-dns01");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("gives the regions production sizing and the dev stack laptop sizing", () => {
        const us = parseConfig("us", rawStack("us"));
        const dev = parseConfig("dev", rawStack("dev"));
        assert.equal(us.tier, "production");
        assert.equal(us.shop.frontend.replicas, 3);
        assert.equal(us.shop.backend.replicas, 2);
        assert.equal(us.mesh.gatewayServiceType, "LoadBalancer");
        assert.equal(dev.tier, "dev");
        assert.deepEqual(us.shop.directAccessCidrs, ["10.0.0.0/8"]);
        assert.equal(dev.layers.redisEnterprise, false);
    });

    it("derives the shop's host from the domain the stack names", () => {
        const cfg = parseConfig("dev", { ...rawStack("dev"), domain: "kopi-lab.example.org" });
        assert.equal(cfg.shop.ingressHost, "kopi.kopi-lab.example.org");
        assert.equal(parseConfig("us", rawStack("us")).shop.ingressHost, "kopi.us.shop.example.com");
    });

    it("takes any short region name, so a new region needs no code change", () => {
        const cfg = parseConfig("sa", {
            ...rawStack("eu"),
            region: "sa",
            cluster: {
                ...(rawStack("eu").cluster as Plain),
                context: "ecommerce-sa",
                identifier: "ecommerce-sa",
                distribution: "eks",
                apiServer: "https://api.ecommerce-sa.k8s.example.com",
            },
            peers: { us: "acme/ecommerce-platform/us" },
            domain: "sa.shop.example.com",
            dns: { provider: "aws", zone: "sa.shop.example.com" },
            shop: undefined,
        });
        assert.equal(cfg.region, "sa");
        assert.equal(cfg.mesh.network, "network-sa");
        assert.equal(cfg.shop.ingressHost, "kopi.sa.shop.example.com");
    });

    it("merges a stack's service entries into the tier defaults by name, keeping the others", () => {
        const cfg = parseConfig("us", {
            ...rawStack("us"),
            services: [{ name: "product-catalog", autoscaling: { minReplicas: 5 } }],
        });
        assert.deepEqual(
            cfg.services.map((s) => s.name),
            ["product-catalog", "payment", "recommendation", "auth"],
        );
        assert.deepEqual(cfg.services[0].autoscaling, {
            minReplicas: 5,
            maxReplicas: 10,
            cpuUtilization: 70,
            requestsPerSecond: 20,
        });
        assert.equal(cfg.services[1].autoscaling?.minReplicas, 3, "payment untouched");
        const added = parseConfig("us", {
            ...rawStack("us"),
            services: [{ name: "inventory", replicas: 2, calls: ["auth"] }],
            resources: { inventory: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } } },
        });
        assert.deepEqual(
            added.services.map((s) => s.name),
            ["product-catalog", "payment", "recommendation", "auth", "inventory"],
        );
    });

    it("lists every problem at once", () => {
        const problems = problemsOf("dev", { tier: "prod", region: "Mars" });
        assert.equal(problems.length, 2);
        assert.match(problems.join("\n"), /tier[\s\S]*region/);
    });

    it("stops a real run before any resource is registered, reading every key of every namespace", async function () {
        this.timeout(120000);
        const result = await evaluateStack("us", { configOverrides: BROKEN_RUN });
        const error = result.error ?? "";
        assert.match(error, /ecommerce-platform:shop\.worker\.replicas = 0: expected at least 1 replicas/);
        assert.match(error, /ecommerce-platform:shpo: unknown key; did you mean "shop"\?/);
        assert.match(error, /kubernetes:context is ignored: .*expected ecommerce-platform:cluster\.context instead/);
        assert.deepEqual(
            result.resources.map((r) => r.type),
            [],
            "no resource may be registered",
        );
    });
});

/** Every key path the program reads: the schema's, and the secret keys (dnsCredentials, backupCredentials). */
const readPaths = (): KeyPath[] => [
    ...keyPaths(schema).filter((p) => p.path !== "stack"),
    { path: "dnsCredentials", leaf: false },
    ...[...new Set(Object.values(DNS_CREDENTIAL_KEYS).flat())].map((k) => ({
        path: `dnsCredentials.${k}`,
        leaf: true,
    })),
    { path: "backupCredentials", leaf: false },
    ...[...new Set(Object.values(BACKUP_CREDENTIAL_KEYS).flat())].map((k) => ({
        path: `backupCredentials.${k}`,
        leaf: true,
    })),
];

describe("Pulumi.yaml describes the configuration", () => {
    it("declares exactly the keys the program reads, each with a type and description; only tier and region have no default", () => {
        const declared: Record<string, any> = readProjectFile(ROOT).config ?? {};
        assert.deepEqual(Object.keys(declared).sort(), [...CONFIG_KEYS].sort());
        for (const [key, decl] of Object.entries<any>(declared)) {
            assert.ok(["string", "integer", "boolean", "array", "object"].includes(decl.type), `${key} has a type`);
            assert.ok(decl.description?.length > 10, `${key} has a description`);
            // A declared key without a default is required by the CLI: every stack file must name it.
            assert.equal(
                "default" in decl,
                !["tier", "region"].includes(key),
                `${key}: default declared only for optional keys`,
            );
        }
    });

    it("describes every key below them (nested keys included), and none the program does not read", () => {
        const paths = readPaths();
        assert.ok(paths.length > 100, `expected the schema's key paths, found ${paths.length}`);
        assert.deepEqual(descriptionProblems(readProjectFile(ROOT), CONFIG_KEYS, paths), []);
    });

    it("sees a key left out of the descriptions, and a described key the program does not read (damaged copy)", () => {
        const project = clone(readProjectFile(ROOT));
        const cluster = project.config!.cluster;
        cluster.description = cluster.description!.replace("`cluster.apiServer`", "the API server");
        project.config!.redisEnterprise.description += " `redisEnterprise.nodeResources`: per-node size.";
        const problems = descriptionProblems(project, CONFIG_KEYS, readPaths());
        assert.deepEqual(problems, [
            "Pulumi.yaml does not describe `cluster.apiServer`: name it in backticks, with what it sets, in the description of config key `cluster`",
            "Pulumi.yaml describes `redisEnterprise.nodeResources` under `redisEnterprise`, which the program does not read (config/schema.ts)",
        ]);
        // A key someone adds to the schema without describing it.
        const added = [...readPaths(), { path: "shop.postgres.instances", leaf: true }];
        assert.match(
            descriptionProblems(readProjectFile(ROOT), CONFIG_KEYS, added).join("\n"),
            /does not describe `shop\.postgres\.instances`.*config key `shop`/,
        );
        assert.deepEqual(expandBraces("a.{b,c}.{d,e}"), ["a.b.d", "a.b.e", "a.c.d", "a.c.e"]);
    });

    it("stack files use only declared keys", () => {
        for (const stack of STACKS) {
            const { stackFile } = stackConfig(ROOT, stack);
            for (const key of Object.keys(stackFile.config ?? {})) {
                if (!key.startsWith(`${PROJECT}:`)) continue;
                assert.ok(
                    (CONFIG_KEYS as readonly string[]).includes(key.slice(PROJECT.length + 1)),
                    `${stack}: ${key} is not declared`,
                );
            }
        }
    });
});

const AWS_KEYS = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "example-secret" };
/** us's node pools, as its stack file names them. */
const POOLS = (rawStack("us").cluster as { nodePools: Plain[] }).nodePools;

/** [what, stack, change to its stack file, key the message names, what the message says]. */
const BAD_INPUTS: [string, string, Plain, string, RegExp][] = [
    // Required keys, tier and region
    ["misspelt top-level key", "us", { shpo: { namespace: "x" } }, "shpo", /unknown key; did you mean "shop"\?/],
    [
        "misspelt tier, so no tier (would have deployed the dev tier)",
        "us",
        { tier: null, teir: "production" },
        "teir",
        /unknown key; did you mean "tier"\?/,
    ],
    ["no tier", "us", { tier: null }, "tier", /\(not set\): expected one of dev, staging, production; .*no default/],
    ["no region", "us", { region: null }, "region", /\(not set\): expected a short region name .*no default/],
    ["unknown tier", "dev", { tier: "prod" }, "tier", /"prod": expected one of dev, staging, production/],
    ["region that is no name", "us", { region: "EU West" }, "region", /"EU West": expected a short region name/],
    [
        "production on the laptop region",
        "us",
        { region: "local" },
        "region",
        /"local": expected a region name .* production/,
    ],
    [
        "production without a cluster context",
        "us",
        { cluster: { context: null } },
        "cluster.context",
        /\(not set\): expected the kubeconfig context of the production cluster, e.g. ecommerce-us/,
    ],
    [
        "empty cluster context",
        "us",
        { cluster: { context: "" } },
        "cluster.context",
        /"": expected the name of a context/,
    ],
    ["unknown distribution", "dev", { cluster: { distribution: "openshift" } }, "cluster.distribution", /one of kind/],
    [
        "API server not a URL",
        "us",
        { cluster: { apiServer: "api.us" } },
        "cluster.apiServer",
        /"api.us": expected the API server URL, e.g./,
    ],
    [
        "misspelt profile key, four levels down",
        "us",
        { cluster: { profile: { storage: { provsioner: "ebs.csi.aws.com" } } } },
        "cluster.profile.storage.provsioner",
        /unknown key; did you mean "provisioner"\?/,
    ],
    // Layers
    ["misspelt layer", "dev", { layers: { mesj: false } }, "layers.mesj", /unknown key; did you mean "mesh"\?/],
    ["layer toggle not a boolean", "dev", { layers: { mesh: "yes" } }, "layers.mesh", /"yes": expected true or false/],
    [
        "multi-cluster without the mesh",
        "us",
        { layers: { mesh: false } },
        "layers.multiCluster",
        /= true: expected layers.mesh: true as well .*east-west/,
    ],
    [
        "Redis Enterprise without the mesh",
        "us",
        {
            layers: { mesh: false, multiCluster: false, tracing: false, externalDns: false },
            dns: null,
            tls: { issuer: "acme-http01" },
        },
        "layers.redisEnterprise",
        /expected layers.mesh: true as well/,
    ],
    [
        "request-rate autoscaling without monitoring",
        "dev",
        { layers: { monitoring: false, tracing: false } },
        "layers.customMetricsAutoscaling",
        /expected layers.monitoring: true as well \(the request-rate metric comes from Prometheus\)/,
    ],
    ["tracing without the mesh", "dev", { layers: { mesh: false } }, "layers.tracing", /expected layers.mesh: true/],
    [
        "tracing without monitoring",
        "dev",
        { layers: { monitoring: false, customMetricsAutoscaling: false } },
        "layers.tracing",
        /expected layers.monitoring: true as well \(Jaeger runs in the monitoring layer\)/,
    ],
    [
        "external-dns without the mesh's sources",
        "dev",
        {
            layers: { externalDns: true, mesh: false, tracing: false },
            dns: { provider: "cloudflare", zone: "localtest.me" },
        },
        "layers.externalDns",
        /expected layers.mesh: true as well \(the names it publishes come from the Istio/,
    ],
    [
        "metrics-server where the cluster has one",
        "eu",
        { layers: { metricsServer: true } },
        "layers.metricsServer",
        /= true: expected false: gke clusters run their own metrics-server/,
    ],
    // Scaling
    [
        "replicas next to the autoscaler",
        "us",
        { shop: { frontend: { replicas: 5 } } },
        "shop.frontend.replicas",
        /= 5: is ignored while autoscaling governs the count \(minReplicas 3, maxReplicas 10\)/,
    ],
    [
        "a service's replicas next to its autoscaler",
        "us",
        { services: [{ name: "payment", replicas: 5 }] },
        "services[1].replicas",
        /is ignored while autoscaling governs the count/,
    ],
    [
        "autoscaler off without a count",
        "us",
        { shop: { backend: { autoscaling: false } } },
        "shop.backend.replicas",
        /\(not set\): expected a replica count \(e.g. 2\) or an autoscaling range/,
    ],
    [
        "zero replicas",
        "dev",
        { shop: { worker: { replicas: 0 } } },
        "shop.worker.replicas",
        /= 0: expected at least 1 replicas/,
    ],
    [
        "minimum above maximum",
        "us",
        { services: [{ name: "payment", autoscaling: { minReplicas: 5, maxReplicas: 3 } }] },
        "services[1].autoscaling.minReplicas",
        /= 5: expected minReplicas <= maxReplicas \(3\)/,
    ],
    [
        "misspelt autoscaling key",
        "us",
        { shop: { frontend: { autoscaling: { minReplica: 2 } } } },
        "shop.frontend.autoscaling.minReplica",
        /unknown key; did you mean "minReplicas"\?/,
    ],
    [
        "autoscaling neither a range nor false",
        "us",
        { shop: { frontend: { autoscaling: "yes" } } },
        "shop.frontend.autoscaling",
        /"yes": expected \{minReplicas, maxReplicas, cpuUtilization\} or false/,
    ],
    [
        "CPU target above 100",
        "us",
        { shop: { backend: { autoscaling: { cpuUtilization: 150 } } } },
        "shop.backend.autoscaling.cpuUtilization",
        /= 150: expected a CPU utilisation between 1 and 100/,
    ],
    [
        "request-rate target without KEDA",
        "dev",
        { layers: { customMetricsAutoscaling: false }, shop: { frontend: { autoscaling: { requestsPerSecond: 50 } } } },
        "shop.frontend.autoscaling.requestsPerSecond",
        /= 50: is ignored: only KEDA scales on request rate/,
    ],
    // Resources
    [
        "malformed CPU",
        "dev",
        { resources: { backend: { requests: { cpu: "half" } } } },
        "resources.backend.requests.cpu",
        /"half": expected a positive CPU quantity such as 250m/,
    ],
    [
        "malformed memory",
        "dev",
        { resources: { backend: { requests: { memory: "64 megs" } } } },
        "resources.backend.requests.memory",
        /"64 megs": expected a positive memory quantity/,
    ],
    [
        "limit below request",
        "dev",
        { resources: { backend: { requests: { cpu: "50m", memory: "256Mi" }, limits: { memory: "128Mi" } } } },
        "resources.backend.limits.memory",
        /expected limits.memory >= requests.memory \(256Mi\)/,
    ],
    [
        "misspelt workload",
        "dev",
        { resources: { fronted: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } } } },
        "resources.fronted",
        /is not a workload of this stack; did you mean "frontend"\?/,
    ],
    [
        "workload name that is no name",
        "dev",
        { resources: { Front_End: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } } } },
        "resources.Front_End",
        /is not a valid name here: expected a DNS-1123 label/,
    ],
    [
        "sizing for a layer that is off",
        "dev",
        {
            layers: { mesh: false, tracing: false },
            resources: { istiod: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "2Gi" } } },
        },
        "resources.istiod",
        /is ignored: istiod runs in layers.mesh, which is false/,
    ],
    // Images
    [
        "untagged image",
        "dev",
        { images: { redis: "redis" } },
        "images.redis",
        /"redis": expected an image pinned by tag or digest/,
    ],
    ["latest image", "dev", { images: { postgres: "postgres:latest" } }, "images.postgres", /`latest`/],
    [
        "misspelt image",
        "dev",
        { images: { postgress: "postgres:16.6" } },
        "images.postgress",
        /did you mean "postgres"\?/,
    ],
    [
        "image for a layer that is off",
        "dev",
        { layers: { coreServices: false }, images: { service: "node:22.12.0-alpine" } },
        "images.service",
        /is ignored: the service image runs in layers.coreServices, which is false/,
    ],
    // Shop
    [
        "invalid namespace",
        "dev",
        { shop: { namespace: "Warung_Kopi" } },
        "shop.namespace",
        /"Warung_Kopi": expected a DNS-1123 label/,
    ],
    [
        "negative storage",
        "dev",
        { shop: { postgres: { storage: "-5Gi" } } },
        "shop.postgres.storage",
        /expected a positive storage size such as 20Gi/,
    ],
    [
        "backup schedule not cron",
        "dev",
        { shop: { postgres: { backupSchedule: "daily" } } },
        "shop.postgres.backupSchedule",
        /"daily": expected a five-field cron schedule/,
    ],
    [
        "misspelt backup volume key",
        "us",
        { shop: { backupVolume: { server: null, sever: "backups.example.com" } } },
        "shop.backupVolume.sever",
        /unknown key; did you mean "server"\?/,
    ],
    [
        "unknown backup volume type",
        "us",
        { shop: { backupVolume: { type: "s3" } } },
        "shop.backupVolume.type",
        /expected \{type: local, path\} or \{type: nfs, server, path\}/,
    ],
    [
        "the internet allowed to the plain-HTTP frontend in production",
        "us",
        { shop: { directAccessCidrs: ["0.0.0.0/0"] } },
        "shop.directAccessCidrs[0]",
        /expected a private network range in a production stack/,
    ],
    [
        "a direct-access range inside the cluster's pod range",
        "dev",
        { shop: { directAccessCidrs: ["10.244.8.0/24"] } },
        "shop.directAccessCidrs[0]",
        /expected a network outside the cluster: 10\.244\.8\.0\/24 lies in its pod or service range 10\.244\.0\.0\/16/,
    ],
    [
        "CIDR with host bits",
        "us",
        { shop: { directAccessCidrs: ["10.1.2.3/8"] } },
        "shop.directAccessCidrs[0]",
        /no host bits set/,
    ],
    [
        "shop settings while the shop is off",
        "us",
        { layers: { shop: false }, shop: { worker: { replicas: 3 } }, scheduling: { databaseNodeAffinity: null } },
        "shop",
        /is ignored: layers.shop is false/,
    ],
    // Core services
    [
        "duplicate service names",
        "us",
        {
            services: [
                { name: "auth", autoscaling: false, replicas: 2 },
                { name: "auth", autoscaling: false, replicas: 2 },
            ],
        },
        "services[4].name",
        /"auth" appears twice/,
    ],
    [
        "a call to a service that does not exist",
        "us",
        { services: [{ name: "auth", calls: ["paymnet"] }] },
        "services[3].calls[0]",
        /"paymnet": is not another core service of this stack; did you mean "payment"\?/,
    ],
    [
        "a misspelt service name becomes a new service without resources",
        "us",
        { services: [{ name: "paymnet", autoscaling: false, replicas: 3 }] },
        "resources.paymnet",
        /expected \{requests: \{cpu, memory\}, limits: \{memory\}\} for the new service "paymnet".*did you mean to change "payment"\?/,
    ],
    [
        "misspelt service key",
        "us",
        { services: [{ name: "payment", publicPrefx: "/pay" }] },
        "services[1].publicPrefx",
        /did you mean "publicPrefix"\?/,
    ],
    [
        "a cache the stack does not run",
        "dev",
        { layers: { shop: false } },
        "services[0].cache",
        /= true: expected false: the stack runs no cache/,
    ],
    [
        "a public prefix without the gateway",
        "dev",
        { layers: { mesh: false, tracing: false }, services: [{ name: "auth", publicPrefix: "/login" }] },
        "services[3].publicPrefix",
        /is ignored: the public API host is served by the Istio ingress gateway/,
    ],
    // Mesh, peers, Redis Enterprise
    [
        "own region as a peer",
        "us",
        { peers: { us: "acme/ecommerce-platform/us" } },
        "peers.us",
        /expected only other regions as peers/,
    ],
    [
        "peer stack not fully qualified",
        "us",
        { peers: { eu: "eu" } },
        "peers.eu",
        /"eu": expected a fully qualified stack name/,
    ],
    [
        "root CA from a region that is no peer",
        "eu",
        { mesh: { rootCaFrom: "sa" } },
        "mesh.rootCaFrom",
        /"sa": expected the region whose stack holds the shared mesh root CA: this region \(eu\) or a peer \(us, asia\)/,
    ],
    [
        "root CA region on a single-cluster mesh",
        "dev",
        { mesh: { rootCaFrom: "us" } },
        "mesh.rootCaFrom",
        /is ignored: a single-cluster mesh has its own root/,
    ],
    [
        "LoadBalancer gateway where nothing answers LoadBalancers",
        "dev",
        { mesh: { gatewayServiceType: "LoadBalancer" } },
        "mesh.gatewayServiceType",
        /expected NodePort: nothing answers LoadBalancer Services on kind/,
    ],
    [
        "multi-cluster without the API server URL",
        "us",
        { cluster: { apiServer: null } },
        "cluster.apiServer",
        /expected the API server URL peers use/,
    ],
    [
        "API server URL without multi-cluster",
        "dev",
        { cluster: { apiServer: "https://api.dev.example.com" } },
        "cluster.apiServer",
        /is ignored: only peers of a multi-cluster mesh use it/,
    ],
    [
        "peers without cross-region layers",
        "dev",
        { peers: { us: "acme/ecommerce-platform/us" } },
        "peers",
        /is ignored: peers link/,
    ],
    [
        "Redis Enterprise below quorum",
        "us",
        { redisEnterprise: { nodes: 1 } },
        "redisEnterprise.nodes",
        /= 1: expected at least 3 nodes/,
    ],
    [
        "Active-Active owner that is no peer",
        "us",
        { redisEnterprise: { activeActiveOwner: "sa" } },
        "redisEnterprise.activeActiveOwner",
        /expected this region \(us\) or one of its peers \(eu, asia\)/,
    ],
    [
        "Redis Enterprise settings while it is off",
        "dev",
        { redisEnterprise: { nodes: 5 } },
        "redisEnterprise",
        /= \{nodes\}: is ignored: layers.redisEnterprise is false/,
    ],
    // Monitoring
    [
        "monitoring settings while it is off",
        "dev",
        {
            layers: { monitoring: false, tracing: false, customMetricsAutoscaling: false },
            monitoring: { retention: "7d" },
        },
        "monitoring",
        /is ignored: layers.monitoring is false/,
    ],
    [
        "retention not a duration",
        "dev",
        { monitoring: { retention: "2 weeks" } },
        "monitoring.retention",
        /expected a Prometheus retention such as 15d/,
    ],
    // TLS and DNS
    [
        "ACME without e-mail",
        "dev",
        { tls: { issuer: "acme-http01" } },
        "tls.acmeEmail",
        /expected an e-mail address when tls.issuer is acme-http01/,
    ],
    [
        "e-mail that is none",
        "us",
        { tls: { acmeEmail: "platform-team" } },
        "tls.acmeEmail",
        /expected an e-mail address for the ACME account, e.g./,
    ],
    [
        "ACME e-mail with a self-signed issuer",
        "dev",
        { tls: { acmeEmail: "a@example.com" } },
        "tls.acmeEmail",
        /is ignored: tls.issuer is self-signed/,
    ],
    [
        "HTTP-01 without the gateway that answers it",
        "dev",
        { layers: { mesh: false, tracing: false }, tls: { issuer: "acme-http01", acmeEmail: "a@example.com" } },
        "tls.issuer",
        /expected acme-dns01 or self-signed: acme-http01 answers the challenge through the Istio ingress gateway/,
    ],
    [
        "DNS-01 without a provider",
        "dev",
        { tls: { issuer: "acme-dns01", acmeEmail: "a@example.com" } },
        "tls.issuer",
        /"acme-dns01": expected dns.provider \(aws, google, azure or cloudflare\) as well/,
    ],
    [
        "TLS settings without cert-manager",
        "us",
        { layers: { certManager: false } },
        "tls",
        /is ignored: certificates come from cert-manager/,
    ],
    [
        "external-dns without a zone",
        "us",
        { dns: { zone: null } },
        "dns",
        /expected dns.provider and dns.zone when layers.externalDns is true/,
    ],
    [
        "provider block of another provider",
        "us",
        { dns: { google: { project: "acme" } } },
        "dns.google",
        /is ignored: dns.provider is aws; expected dns.google only with dns.provider: google/,
    ],
    [
        "domain outside the zone",
        "us",
        { domain: "shop.example.org" },
        "domain",
        /expected a name inside dns.zone us.shop.example.com/,
    ],
    [
        "Azure DNS without its zone's place",
        "asia",
        { dns: { azure: null } },
        "dns.azure",
        /expected \{subscriptionId, resourceGroup\} of the Azure DNS zone/,
    ],
    [
        "Cloud DNS without its project for DNS-01",
        "eu",
        { dns: { google: null } },
        "dns.google",
        /expected \{project\} of the Cloud DNS zone/,
    ],
    [
        "DNS settings with nothing writing DNS",
        "dev",
        { dns: { zone: "localtest.me" } },
        "dns",
        /is ignored: nothing writes DNS records/,
    ],
    [
        "empty AWS region",
        "us",
        { dns: { aws: { region: "" } } },
        "dns.aws.region",
        /"": expected an AWS region such as us-east-1/,
    ],
    // Scheduling
    [
        "misspelt toleration key inside a list",
        "us",
        { scheduling: { tolerations: [{ key: "dedicated", value: "ecommerce", efect: "NoSchedule" }] } },
        "scheduling.tolerations[0].efect",
        /unknown key; did you mean "effect"\?/,
    ],
    [
        "unknown taint effect",
        "us",
        { scheduling: { tolerations: [{ key: "dedicated", effect: "NoRun" }] } },
        "scheduling.tolerations[0].effect",
        /"NoRun": expected one of NoSchedule, PreferNoSchedule, NoExecute/,
    ],
    [
        "label value not text",
        "us",
        { scheduling: { nodeSelector: { "workload-class": true } } },
        "scheduling.nodeSelector.workload-class",
        /= true: expected a text value; quote YAML booleans/,
    ],
    // Other namespaces and secrets
    [
        "the Kubernetes provider's own context key",
        "us",
        { "kubernetes:context": "ecommerce-us" },
        "kubernetes:context",
        /is ignored: every resource goes through the stack's own Kubernetes provider.*expected ecommerce-platform:cluster.context instead/,
    ],
    [
        "misspelt project namespace",
        "us",
        { "ecommerce-platfrom:shop": JSON.stringify({ namespace: "x" }) },
        "ecommerce-platfrom:shop",
        /unknown namespace "ecommerce-platfrom"; did you mean "ecommerce-platform:shop"\?/,
    ],
    [
        "DNS credentials not set as a secret",
        "us",
        { dnsCredentials: AWS_KEYS },
        "dnsCredentials",
        /expected a secret value; set it with pulumi config set --secret/,
    ],
    [
        "DNS credentials of another provider",
        "us",
        { dnsCredentials: secretValue({ apiToken: "x" }) },
        "dnsCredentials",
        /has keys \[apiToken\]: expected exactly \{accessKeyId, secretAccessKey\} for dns.provider aws/,
    ],
    [
        "Cloudflare without credentials",
        "us",
        { dns: { provider: "cloudflare", aws: null } },
        "dnsCredentials",
        /\(not set\): expected a secret \{apiToken\}/,
    ],
    [
        "DNS credentials nothing uses",
        "dev",
        { dnsCredentials: secretValue(AWS_KEYS) },
        "dnsCredentials",
        /is ignored: nothing writes DNS records/,
    ],
    // Node pools: every pod must have somewhere to run
    [
        "a node pool named twice",
        "us",
        { cluster: { nodePools: [...POOLS, { name: "general", minNodes: 1 }] } },
        "cluster.nodePools[3].name",
        /"general" appears twice; expected each pool once/,
    ],
    [
        "a pool in a zone the cluster does not have",
        "us",
        { cluster: { nodePools: [{ ...POOLS[0], zones: ["us-east-1x"] }, ...POOLS.slice(1)] } },
        "cluster.nodePools[0].zones[0]",
        /"us-east-1x" is not one of cluster.zones/,
    ],
    [
        "pods that no pool takes",
        "us",
        { scheduling: { nodeSelector: { "workload-class": "gpu" }, databaseNodeAffinity: null } },
        "scheduling",
        /no node pool takes the stack's pods/,
    ],
    [
        "a database node label no pool has",
        "us",
        { scheduling: { databaseNodeAffinity: { value: "fast-db" } } },
        "scheduling.databaseNodeAffinity",
        /expected a node pool labelled workload-class=fast-db that takes the stack's pods/,
    ],
    [
        "zone spreading on one zone",
        "us",
        { cluster: { zones: ["us-east-1a"] } },
        "scheduling.spreadAcrossZones",
        /= true: expected the pools that take the stack's pods to span two or more zones \(they span 1\)/,
    ],
    [
        "more Redis Enterprise nodes than nodes",
        "us",
        { redisEnterprise: { nodes: 40 } },
        "redisEnterprise.nodes",
        /= 40: expected at most \d+: each Redis Enterprise node pod needs a node of its own/,
    ],
    [
        "production caches without Redis Enterprise",
        "us",
        { layers: { redisEnterprise: false }, redisEnterprise: null },
        "layers.redisEnterprise",
        /= false: expected true in a production stack: the shop and the core services keep their cache/,
    ],
    [
        "the internet as a Redis Enterprise peer",
        "us",
        { redisEnterprise: { peerSourceRanges: ["0.0.0.0/0"] } },
        "redisEnterprise.peerSourceRanges[0]",
        /expected the peers' own addresses/,
    ],
    [
        "a production region on the Redis Enterprise trial licence",
        "us",
        { redisEnterprise: { licenseSecretName: null } },
        "redisEnterpriseLicense",
        /= \(not set\): expected the Redis Enterprise licence in a production stack: this region's databases take 6 shards \(cache 2, sessions-regional 2, sessions 2\), the trial licence allows 4 for 30 days; set it with pulumi config set --secret redisEnterpriseLicense "\$\(cat license.key\)", or name a Secret/,
    ],
    [
        "a staging region whose databases outgrow the trial licence",
        "us",
        { tier: "staging", redisEnterprise: { licenseSecretName: null } },
        "redisEnterpriseLicense",
        /expected a Redis Enterprise licence: this region's databases take 6 shards .* the trial licence allows 4 for 30 days, so the databases past it would never be created/,
    ],
    [
        "a Redis Enterprise licence both from config and from a Secret kept outside Pulumi",
        "us",
        { redisEnterpriseLicense: secretValue(TEST_LICENCE) },
        "redisEnterprise.licenseSecretName",
        /= "redis-enterprise-license": expected either this Secret .* or the secret redisEnterpriseLicense .*, not both/,
    ],
    [
        "a Redis Enterprise licence in plain text",
        "us",
        { redisEnterprise: { licenseSecretName: null }, "ecommerce-platform:redisEnterpriseLicense": TEST_LICENCE },
        "redisEnterpriseLicense",
        /\(value hidden\): expected a secret value; set it with pulumi config set --secret redisEnterpriseLicense/,
    ],
    [
        "the licence file's name instead of its text",
        "us",
        { redisEnterprise: { licenseSecretName: null }, redisEnterpriseLicense: secretValue("license.key") },
        "redisEnterpriseLicense",
        /\(value hidden\): expected the licence file's text, from its ----- LICENSE START ----- line/,
    ],
    [
        "a Redis Enterprise licence in a stack without Redis Enterprise",
        "dev",
        { redisEnterpriseLicense: secretValue(TEST_LICENCE) },
        "redisEnterpriseLicense",
        /\(value hidden\) is ignored: layers.redisEnterprise is false/,
    ],
    [
        "an old stack file's removed Redis Enterprise egress key",
        "us",
        { redisEnterprise: { egressCidrs: ["203.0.113.10/32"] } },
        "redisEnterprise.egressCidrs",
        /: was removed: expected the region's egress ranges in cluster.egressCidrs, the one key/,
    ],
    // Security settings
    [
        "a production image pinned by tag only",
        "us",
        { images: { redis: "redis:7.4.1-alpine" } },
        "images.redis",
        /"redis:7.4.1-alpine": expected name:tag@sha256:<64 hex> .* \(a production stack runs images pinned by digest only\)/,
    ],
    [
        "a signing root outside the trust bundle",
        "us",
        { mesh: { rootCa: { trusted: [1], signing: 2 } } },
        "mesh.rootCa.signing",
        /= 2: expected one of the trusted generations \[1\]/,
    ],
    [
        "a root generation trusted twice",
        "us",
        { mesh: { rootCa: { trusted: [1, 1], signing: 1 } } },
        "mesh.rootCa.trusted",
        /expected each generation once/,
    ],
    [
        "root CA generations in a region that does not hold the root",
        "eu",
        { mesh: { rootCa: { trusted: [1, 2], signing: 2 } } },
        "mesh.rootCa",
        /is ignored outside the stack of mesh.rootCaFrom \(us\)/,
    ],
    [
        "multi-cluster without the cluster's egress ranges",
        "us",
        { cluster: { egressCidrs: null } },
        "cluster.egressCidrs",
        /expected the public ranges this cluster's pods leave through/,
    ],
    [
        "the internet as the cluster's egress range",
        "us",
        { cluster: { egressCidrs: ["0.0.0.0/0"] } },
        "cluster.egressCidrs[0]",
        /expected the NAT gateway addresses of the cluster, not the whole internet/,
    ],
    // PostgreSQL on CloudNativePG
    [
        "production data without CloudNativePG",
        "us",
        { layers: { cloudNativePg: false }, cloudNativePg: null },
        "layers.cloudNativePg",
        /= false: expected true in a production stack/,
    ],
    [
        "CloudNativePG without a backup destination",
        "us",
        { cloudNativePg: { backup: { destinationPath: null } } },
        "cloudNativePg.backup.destinationPath",
        /\(not set\): expected the object store for WAL archiving and base backups, e.g. s3:/,
    ],
    [
        "more synchronous standbys than standbys",
        "us",
        { cloudNativePg: { instances: 3, synchronousStandbys: 3 } },
        "cloudNativePg.synchronousStandbys",
        /= 3: expected at most 2 \(instances - 1\)/,
    ],
    [
        "production database on two instances",
        "us",
        { cloudNativePg: { instances: 2, synchronousStandbys: 1 } },
        "cloudNativePg.instances",
        /= 2: expected at least 3 in production/,
    ],
    [
        "production database without a synchronous standby",
        "us",
        { cloudNativePg: { synchronousStandbys: 0 } },
        "cloudNativePg.synchronousStandbys",
        /= 0: expected at least 1 in production/,
    ],
    [
        "CloudNativePG without cert-manager",
        "us",
        { layers: { certManager: false }, tls: null },
        "layers.cloudNativePg",
        /expected layers.certManager: true as well \(the Barman Cloud plugin's certificates/,
    ],
    [
        "CloudNativePG without the shop",
        "us",
        { layers: { shop: false }, shop: null, scheduling: { databaseNodeAffinity: null } },
        "layers.cloudNativePg",
        /expected layers.shop: true as well \(it runs the shop's database/,
    ],
    [
        "the shop's own database settings while CloudNativePG runs it",
        "us",
        { shop: { postgres: { storage: "100Gi" } } },
        "shop.postgres",
        /= \{storage\}: is ignored: the shop's database runs on CloudNativePG/,
    ],
    [
        "a backup volume while CloudNativePG backs up",
        "us",
        { shop: { backupVolume: { type: "local", path: "/mnt" } } },
        "shop.backupVolume",
        /is ignored: backups go to cloudNativePg.backup's object store/,
    ],
    [
        "CloudNativePG settings while it is off",
        "dev",
        { cloudNativePg: { instances: 2 } },
        "cloudNativePg",
        /is ignored: layers.cloudNativePg is false/,
    ],
    [
        "backup credentials nothing uses",
        "dev",
        { backupCredentials: secretValue({ accessKeyId: "a", secretAccessKey: "b" }) },
        "backupCredentials",
        /is ignored: layers.cloudNativePg is off/,
    ],
];

describe("bad input, one case per mistake: the message names the key, the value and what is expected", () => {
    it(`has at least 40 distinct cases (${BAD_INPUTS.length})`, () => {
        assert.ok(BAD_INPUTS.length >= 40);
        assert.equal(new Set(BAD_INPUTS.map(([what]) => what)).size, BAD_INPUTS.length, "case names are distinct");
        assert.equal(
            new Set(BAD_INPUTS.map(([, s, c]) => s + JSON.stringify(c))).size,
            BAD_INPUTS.length,
            "inputs are distinct",
        );
    });
    for (const [what, stack, change, key, expected] of BAD_INPUTS) {
        it(what, () => expectProblem(stack, change, key, expected));
    }

    it("exercises every rule across keys (config/rules.ts) with at least one case", () => {
        const fired = new Set<number>();
        for (const [, stack, change] of BAD_INPUTS) {
            const raw = { ...rawStack(stack) };
            // Secret keys reach the rules as set or not, never by value.
            const secrets: Record<string, boolean> = {};
            for (const [k, v] of Object.entries(change)) {
                if (isPlain(v) && "$secret" in v) secrets[k] = true;
                if (k.includes(":") || (isPlain(v) && "$secret" in v)) continue;
                if (v === null) delete raw[k];
                else raw[k] = edit(raw[k], v);
            }
            const { cfg, given } = parseSchema(stack, raw);
            if (!cfg) continue;
            RULES.forEach((rule, i) => {
                if (rule(cfg, given, secrets).length > 0) fired.add(i);
            });
        }
        const idle = RULES.map((_, i) => i).filter((i) => !fired.has(i));
        assert.deepEqual(
            idle,
            [],
            `rules no bad input above exercises (index in RULES): ${idle.map((i) => RULES[i].toString().slice(0, 160)).join("\n")}`,
        );
    });
});

/** A concrete path into `input` for a key path template (`[]` -> the first entry, `<name>` -> the first key). */
function concrete(input: unknown, template: string): (string | number)[] {
    const out: (string | number)[] = [];
    let v: unknown = input;
    for (const seg of template.match(/[^.[\]]+|\[\]/g) ?? []) {
        if (seg === "[]") {
            out.push(0);
            v = Array.isArray(v) ? v[0] : undefined;
        } else if (seg.startsWith("<")) {
            const key = isPlain(v) ? (Object.keys(v)[0] ?? "example") : "example";
            out.push(key);
            v = isPlain(v) ? v[key] : undefined;
        } else {
            out.push(seg);
            v = isPlain(v) ? v[seg] : undefined;
        }
    }
    return out;
}

/** `input` with `value` at `path`, creating the objects on the way. */
function setAt(input: Plain, path: (string | number)[], value: unknown): Plain {
    const out = clone(input);
    let v: any = out;
    path.slice(0, -1).forEach((k, i) => {
        if (v[k] === undefined) v[k] = typeof path[i + 1] === "number" ? [] : {};
        v = v[k];
    });
    v[path[path.length - 1]] = value;
    return out;
}

/** A value of the wrong kind for what is at a key now. */
const wrongFor = (current: unknown): unknown =>
    typeof current === "string"
        ? 42
        : typeof current === "number"
          ? "many"
          : typeof current === "boolean"
            ? "yes"
            : current === undefined
              ? [1]
              : "text";

/**
 * A complete input with the tier defaults written out, less what the rest of the settings make moot
 * (written out, a default the stack does not use would be "given" and rejected as ignored).
 */
function withoutIgnored(input: Plain): Plain {
    let out = clone(input);
    for (let round = 0; round < 5; round++) {
        let problems: string[];
        try {
            parseConfig("us", out);
            return out;
        } catch (e) {
            problems = e instanceof ConfigError ? e.problems : [];
        }
        const ignored = problems
            .map((p) => new RegExp(`^${PROJECT}:(\\S+) = .*: is ignored`).exec(p)?.[1])
            .filter((k): k is string => !!k);
        if (ignored.length === 0) return out;
        for (const key of ignored) {
            const path = key.split(".");
            const parent = path.slice(0, -1).reduce<any>((v, k) => v?.[k], out);
            if (parent) delete parent[path[path.length - 1]];
        }
        out = clone(out);
    }
    return out;
}

describe("bad input, generated from the schema: every key at every depth", () => {
    // The complete production input (every layer on), from which each case changes one thing.
    const full = withoutIgnored(withDefaults("us", rawStack("us")).input!);
    const paths = keyPaths(schema).filter((p) => p.path !== "stack");
    const problemsFor = (input: Plain) => {
        try {
            parseConfig("us", input);
        } catch (e) {
            assert.ok(e instanceof ConfigError);
            return e.problems;
        }
        return undefined;
    };

    it("starts from an input the program accepts", () => assert.ok(parseConfig("us", full)));

    it("answers a wrong kind of value at every key with a plain message naming that key", () => {
        let tried = 0;
        for (const { path: template } of paths) {
            const path = concrete(full, template);
            const value = wrongFor(path.reduce<any>((v, k) => v?.[k], full));
            const problems = problemsFor(setAt(full, path, value));
            assert.ok(problems, `accepted ${JSON.stringify(value)} at ${template}`);
            assertPlain(problems);
            const name = keyName(path);
            assert.ok(
                problems.some(
                    (p) => p.startsWith(name) || name.startsWith(p.split(/ = |:\s| \(/)[0].replace(/:$/, "")),
                ),
                `no message names ${name}:\n${problems.join("\n")}`,
            );
            tried++;
        }
        assert.ok(tried > 100, `tried ${tried} keys`);
    });

    it('answers a misspelt key in every object, at every depth, with "did you mean"', () => {
        // Objects are the parents of key paths: `resources.<name>.requests.cpu` -> `resources.<name>.requests`, ...
        const objects = new Map<string, string[]>();
        for (const { path } of paths) {
            const m = /^(.*)\.([A-Za-z][A-Za-z0-9]*)$/.exec(path);
            const [parent, key] = m ? [m[1], m[2]] : ["", path];
            objects.set(parent, [...(objects.get(parent) ?? []), key]);
        }
        let depths = 0;
        for (const [template, keys] of objects) {
            const real = keys.find((k) => k.length >= 4) ?? keys[0];
            const typo = real.slice(0, 1) + real.slice(2);
            const path = template === "" ? [] : concrete(full, template);
            const known = template === "" ? [...CONFIG_KEYS] : keysAt(schema, path);
            assert.ok(!known.includes(typo), `${typo} is a real key`);
            const input = template === "" ? { ...full, [typo]: 1 } : setAt(full, [...path, typo], 1);
            const problems = problemsFor(input);
            assert.ok(problems, `accepted ${typo} in ${template || "the top level"}`);
            assertPlain(problems);
            const line = problems.find((p) => p.startsWith(`${keyName([...path, typo])}:`));
            assert.ok(line, `no message names ${keyName([...path, typo])}:\n${problems.join("\n")}`);
            assert.match(line, new RegExp(`unknown key; did you mean "${real}"\\?`));
            depths = Math.max(depths, path.length + 1);
        }
        assert.ok(objects.size > 25 && depths >= 4, `${objects.size} objects, ${depths} levels deep`);
    });

    it("recognises the validation library's own wording (self-test of the check above)", () => {
        const issues = [
            z.string().min(1).safeParse(""),
            z.number().safeParse("x"),
            z.strictObject({}).safeParse({ a: 1 }),
            z.email().safeParse("x"),
            z.enum(["a"]).safeParse("b"),
        ].flatMap((r) => r.error?.issues ?? []);
        assert.equal(issues.length, 5);
        for (const issue of issues) assert.match(issue.message, LIBRARY_WORDING);
    });
});
