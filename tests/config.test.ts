// The configuration module: every stack file is valid, and bad input is stopped before any
// resource is registered, with a message naming the key, the value and what is expected.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { CONFIG_KEYS, ConfigError, parseConfig, PROJECT, rawFromFlat } from "../config";
import { readProjectFile } from "../config/files";
import { STACKS, stackConfig } from "./harness/stack-config";
import { evaluateStack, prefetch } from "./harness/evaluate";

const ROOT = path.resolve(__dirname, "..");

/** The raw config of a stack file, as the program's loadConfig sees it. */
const rawStack = (stack: string) => rawFromFlat(stackConfig(ROOT, stack).config);

function expectProblem(stack: string, change: Record<string, unknown>, key: string, expected: RegExp) {
    const raw = { ...rawStack(stack), ...change };
    assert.throws(
        () => parseConfig(stack, raw),
        (e: unknown) => {
            assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
            const line = e.message.split("\n").find((l) => l.includes(`${PROJECT}:${key}`));
            assert.ok(line, `message should name ${PROJECT}:${key}:\n${e.message}`);
            assert.match(line, expected);
            return true;
        },
    );
}

prefetch({ stack: "us", configOverrides: { shop: { worker: { replicas: 0 } } } });

describe("configuration", () => {
    for (const stack of STACKS) {
        it(`accepts Pulumi.${stack}.yaml`, () => {
            const cfg = parseConfig(stack, rawStack(stack));
            assert.equal(cfg.stack, stack);
        });
    }

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

    it("declares in Pulumi.yaml exactly the keys the program reads, each with a type and description; only tier and region have no default", () => {
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

    describe("rejects bad input, naming key, value and expectation", () => {
        const cases: [string, string, Record<string, unknown>, string, RegExp][] = [
            ["unknown region", "us", { region: "mars" }, "region", /"mars".*expected one of local, us, eu, asia/],
            ["unknown tier", "dev", { tier: "prod" }, "tier", /"prod".*expected one of dev, staging, production/],
            [
                "zero replicas",
                "dev",
                { shop: { worker: { replicas: 0 } } },
                "shop.worker.replicas",
                /= 0: expected at least 1 replicas/,
            ],
            [
                "min above max",
                "us",
                {
                    services: [
                        {
                            name: "payment",
                            autoscaling: { minReplicas: 5, maxReplicas: 3, cpuUtilization: 70 },
                        },
                    ],
                },
                "services[1].autoscaling.minReplicas",
                /= 5: expected minReplicas <= maxReplicas \(3\)/,
            ],
            [
                "malformed CPU",
                "dev",
                { resources: { backend: { requests: { cpu: "half", memory: "64Mi" }, limits: { memory: "128Mi" } } } },
                "resources.backend.requests.cpu",
                /"half": expected a positive CPU quantity/,
            ],
            [
                "malformed memory",
                "dev",
                {
                    resources: {
                        backend: { requests: { cpu: "50m", memory: "64 megs" }, limits: { memory: "128Mi" } },
                    },
                },
                "resources.backend.requests.memory",
                /"64 megs": expected a positive memory quantity/,
            ],
            [
                "limit below request",
                "dev",
                { resources: { backend: { requests: { cpu: "50m", memory: "256Mi" }, limits: { memory: "128Mi" } } } },
                "resources.backend.limits.memory",
                /expected limits.memory >= requests.memory/,
            ],
            [
                "invalid DNS-1123 name",
                "dev",
                { shop: { namespace: "Warung_Kopi" } },
                "shop.namespace",
                /"Warung_Kopi": expected a DNS-1123 label/,
            ],
            [
                "untagged image",
                "dev",
                { images: { redis: "redis" } },
                "images.redis",
                /"redis": expected an image pinned by tag or digest/,
            ],
            ["latest image", "dev", { images: { postgres: "postgres:latest" } }, "images.postgres", /`latest`/],
            [
                "HPA utilisation above 100",
                "us",
                { shop: { backend: { autoscaling: { minReplicas: 2, maxReplicas: 4, cpuUtilization: 150 } } } },
                "shop.backend.autoscaling.cpuUtilization",
                /= 150: expected a CPU utilisation between 1 and 100/,
            ],
            [
                "HPA utilisation 0",
                "us",
                { shop: { backend: { autoscaling: { minReplicas: 2, maxReplicas: 4, cpuUtilization: 0 } } } },
                "shop.backend.autoscaling.cpuUtilization",
                /= 0: expected a CPU utilisation between 1 and 100/,
            ],
            [
                "negative storage size",
                "dev",
                { shop: { postgres: { storage: "-5Gi" } } },
                "shop.postgres.storage",
                /"-5Gi": expected a positive storage size/,
            ],
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
                "missing context on a production stack",
                "us",
                {
                    cluster: {
                        identifier: "ecommerce-us",
                        distribution: "eks",
                        apiServer: "https://api.example.com",
                        zones: ["a", "b"],
                        nodePools: [{ name: "general", minNodes: 3 }],
                    },
                },
                "cluster.context",
                /\(not set\): expected the kubeconfig context of the production cluster/,
            ],
            [
                "production stack on the local region",
                "us",
                { region: "local" },
                "region",
                /"local": expected one of us, eu, asia for a production stack/,
            ],
            ["unknown layer", "dev", { layers: { kafka: true } }, "layers.kafka", /layers\.kafka: unknown key/],
            [
                "non-boolean layer toggle",
                "dev",
                { layers: { mesh: "yes" } },
                "layers.mesh",
                /"yes": expected true or false/,
            ],
            [
                "peer stack not fully qualified",
                "us",
                { peers: { eu: "eu" } },
                "peers.eu",
                /"eu": expected a fully qualified stack name/,
            ],
            [
                "own region as a peer",
                "us",
                { peers: { us: "acme/ecommerce-platform/us" } },
                "peers.us",
                /expected only other regions as peers/,
            ],
            [
                "Redis Enterprise below quorum",
                "us",
                { redisEnterprise: { nodes: 1 } },
                "redisEnterprise.nodes",
                /= 1: expected at least 3 nodes/,
            ],
            [
                "bad backup schedule",
                "dev",
                { shop: { postgres: { backupSchedule: "daily" } } },
                "shop.postgres.backupSchedule",
                /"daily": expected a five-field cron schedule/,
            ],
            [
                "ACME without e-mail",
                "dev",
                { tls: { issuer: "acme-http01" } },
                "tls.acmeEmail",
                /expected an e-mail address when tls.issuer is acme-http01/,
            ],
            ["unknown config key", "dev", { colour: "blue" }, "colour", /unknown key/],
        ];
        for (const [what, stack, change, key, expected] of cases) {
            it(what, () => expectProblem(stack, change, key, expected));
        }
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
        assert.throws(
            () =>
                parseConfig("us", {
                    ...rawStack("us"),
                    services: [{ name: "inventory", replicas: 2, calls: ["auth"] }],
                }),
            /resources\.inventory = \(not set\): expected \{requests/,
        );
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
        assert.throws(
            () => parseConfig("dev", { tier: "prod", region: "mars" }),
            /tier[\s\S]*region|region[\s\S]*tier/,
        );
    });

    it("stops the program before any resource is registered", async function () {
        this.timeout(120000);
        const result = await evaluateStack("us", { configOverrides: { shop: { worker: { replicas: 0 } } } });
        assert.match(result.error ?? "", /ecommerce-platform:shop\.worker\.replicas = 0: expected at least 1 replicas/);
        assert.deepEqual(
            result.resources.map((r) => r.type),
            [],
            "no resource may be registered",
        );
    });
});
