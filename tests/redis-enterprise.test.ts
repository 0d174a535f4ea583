// Redis Enterprise (issue 4 §3, with §6, §7, §9): what `pulumi up` creates for the operator, the
// cluster, the remote-cluster links and the Active-Active database, and how a region wires its peers.
import * as assert from "node:assert/strict";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases, kubernetesObjects, named, ofKind, type K8sObject } from "./harness/k8s";
import type { RecordedResource, StackEvaluation } from "./harness/types";
import { redisEnterpriseSchemaProblems } from "./schemas/redis-enterprise";
import { evaluate, toPolicyResource } from "../policy/rules";

const NS = "redis-enterprise";
const GROUP = "app.redislabs.com/";
const KINDS = {
    rec: "RedisEnterpriseCluster",
    rerc: "RedisEnterpriseRemoteCluster",
    reaadb: "RedisEnterpriseActiveActiveDatabase",
    redb: "RedisEnterpriseDatabase",
};

// What a peer region's stack publishes (stack output publishedForPeers), as the harness's mocked
// stack references return it.
function published(region: "us" | "eu" | "asia", extra: Record<string, string> = {}) {
    return {
        publishedForPeers: {
            region,
            redis: {
                recName: `rec-${region}`,
                recNamespace: NS,
                apiFqdnUrl: `redis-api.${region}.shop.example.com`,
                dbFqdnSuffix: `.redis-db.${region}.shop.example.com`,
                username: `platform-admin@${region}.shop.example.com`,
                password: `peer-admin-password-${region}`,
                ...extra,
            },
        },
    };
}
const stackOf = (region: string) => `acme/ecommerce-platform/${region}`;

const NO_PEERS = {};
const EU_ONLY = { [stackOf("eu")]: published("eu") };
const ALL_PEERS = { [stackOf("eu")]: published("eu"), [stackOf("asia")]: published("asia") };

const US_CREATED = published("us", { databasePassword: "owner-db-password", activeActiveDatabase: "ecommerce-cache" });
const ASIA_OWNS = { redisEnterprise: { activeActiveOwner: "asia" } };
prefetch(
    { stack: "us", stackOutputs: ALL_PEERS },
    { stack: "us", stackOutputs: NO_PEERS },
    { stack: "us", stackOutputs: EU_ONLY },
    { stack: "eu", stackOutputs: { [stackOf("us")]: US_CREATED, [stackOf("asia")]: published("asia") } },
    { stack: "eu", stackOutputs: { [stackOf("us")]: published("us") } },
    { stack: "us", stackOutputs: ALL_PEERS, configOverrides: ASIA_OWNS },
    { stack: "dev" },
);

const redisObjects = (r: StackEvaluation) =>
    kubernetesObjects(r.resources).filter((o) => o.apiVersion.startsWith(GROUP));
const inNamespace = (r: StackEvaluation) =>
    kubernetesObjects(r.resources).filter(
        (o) => o.metadata.namespace === NS || (o.kind === "Namespace" && o.metadata.name === NS),
    );
const operatorRelease = (r: StackEvaluation) =>
    helmReleases(r.resources).find((h) => h.inputs.chart === "redis-enterprise-operator");
const redisPending = (r: StackEvaluation) =>
    (r.outputs.crossRegionPending as string[]).filter((p) => p.startsWith("redis"));

/** Every URN a resource depends on, directly or through other resources' dependencies. */
function transitiveDependencies(all: RecordedResource[], r: RecordedResource): Set<string> {
    const byUrn = new Map(all.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const stack = [...r.dependencies];
    while (stack.length) {
        const urn = stack.pop()!;
        if (seen.has(urn)) continue;
        seen.add(urn);
        stack.push(...(byUrn.get(urn)?.dependencies ?? []));
    }
    return seen;
}

const isSecretMarked = (v: unknown) => typeof v === "object" && v !== null && "$secret" in v;
/** Whether the value at `path` (or a value containing it) was recorded as a Pulumi secret. */
function isSecretAt(v: any, path: string[]): boolean {
    if (isSecretMarked(v)) return true;
    if (path.length === 0 || v === null || typeof v !== "object") return false;
    return isSecretAt(v[path[0]], path.slice(1));
}

describe("Redis Enterprise", function () {
    this.timeout(240_000);

    describe("in a region stack (us, every peer published)", () => {
        let us: StackEvaluation;
        before(async () => {
            us = await deployedStack("us", { stackOutputs: ALL_PEERS });
        });

        it("installs the operator from the official repository at the pinned chart version, as a Helm release with a timeout", () => {
            const release = operatorRelease(us);
            assert.ok(release, "a redis-enterprise-operator release");
            assert.equal(
                release.type,
                "kubernetes:helm.sh/v3:Release",
                "the CRDs come from a hook Job: only a Helm release runs it",
            );
            assert.equal(release.inputs.version, "8.2.0-12");
            assert.equal(release.inputs.repositoryOpts.repo, "https://helm.redis.io/");
            assert.equal(release.inputs.name, "redis-enterprise-operator");
            assert.equal(release.inputs.namespace, NS);
            assert.equal(release.inputs.createNamespace, false);
            assert.ok(release.inputs.timeout >= 300, `timeout ${release.inputs.timeout}s`);
            assert.equal(
                release.inputs.skipAwait ?? false,
                false,
                "the release waits for the operator (its webhook validates our resources)",
            );
            assert.equal(release.inputs.values.cluster.create, false, "the cluster is ours, not the chart's");
            const egress = named(kubernetesObjects(us.resources), "NetworkPolicy", "allow-https-egress", NS);
            assert.ok(
                release.dependencies.includes(egress.$resource.urn),
                "the CRD hook Job can reach the API server once the release starts",
            );
        });

        it("creates one cluster, an RERC per participating region (its own included) and the Active-Active database", () => {
            const objects = redisObjects(us);
            assert.deepEqual(
                ofKind(objects, KINDS.rec).map((o) => o.metadata.name),
                ["rec-us"],
            );
            assert.deepEqual(
                ofKind(objects, KINDS.rerc)
                    .map((o) => o.metadata.name)
                    .sort(),
                ["rerc-asia", "rerc-eu", "rerc-us"],
            );
            const db = named(objects, KINDS.reaadb, "ecommerce-cache", NS);
            assert.deepEqual(db.spec.participatingClusters.map((p: any) => p.name).sort(), [
                "rerc-asia",
                "rerc-eu",
                "rerc-us",
            ]);
            assert.equal(db.spec.globalConfigurations.memorySize, "1GB");
            assert.equal(db.spec.globalConfigurations.databaseSecretName, "ecommerce-cache-password");
            assert.ok(
                objects.every((o) => o.metadata.namespace === NS),
                "everything in the redis-enterprise namespace",
            );
        });

        it("emits custom resources that are valid against the documented CRD fields", () => {
            const objects = redisObjects(us);
            assert.ok(objects.length >= 5);
            const problems = objects.flatMap((o) =>
                (redisEnterpriseSchemaProblems(o) ?? ["not app.redislabs.com"]).map(
                    (p) => `${o.kind} ${o.metadata.name}: ${p}`,
                ),
            );
            assert.deepEqual(problems, []);
        });

        it("configures the cluster from config: nodes, resources, storage, and the public API and database hosts", () => {
            const rec = named(redisObjects(us), KINDS.rec, "rec-us", NS);
            assert.equal(rec.spec.nodes, 3);
            assert.deepEqual(rec.spec.redisEnterpriseNodeResources.requests, { cpu: "2", memory: "4Gi" });
            assert.deepEqual(rec.spec.persistentSpec, {
                enabled: true,
                volumeSize: "20Gi",
                storageClassName: "platform-standard",
            });
            assert.deepEqual(rec.spec.ingressOrRouteSpec, {
                method: "istio",
                apiFqdnUrl: "redis-api.us.shop.example.com",
                dbFqdnSuffix: ".redis-db.us.shop.example.com",
            });
            assert.equal(
                rec.spec.securityContext.resourceLimits.allowAutoAdjustment,
                false,
                "no SYS_RESOURCE capability",
            );
            assert.equal(rec.metadata.annotations?.["pulumi.com/waitFor"], "jsonpath={.status.state}=Running");
        });

        it("orders every custom resource after the operator release; the REC after its credentials; RERCs after the REC; the database after every RERC", () => {
            const all = us.resources;
            const release = operatorRelease(us)!;
            const objects = redisObjects(us);
            const deps = (o: K8sObject) => transitiveDependencies(all, o.$resource);
            for (const o of objects)
                assert.ok(deps(o).has(release.urn), `${o.kind} ${o.metadata.name} depends on the operator release`);
            const rec = named(objects, KINDS.rec, "rec-us");
            const adminSecret = named(kubernetesObjects(all), "Secret", "rec-us", NS);
            assert.ok(deps(rec).has(adminSecret.$resource.urn), "REC after its admin credentials Secret");
            const rercs = ofKind(objects, KINDS.rerc);
            for (const rerc of rercs) {
                assert.ok(deps(rerc).has(rec.$resource.urn), `${rerc.metadata.name} after the REC`);
                const secret = named(kubernetesObjects(all), "Secret", rerc.spec.secretName, NS);
                assert.ok(deps(rerc).has(secret.$resource.urn), `${rerc.metadata.name} after its credentials Secret`);
            }
            const db = named(objects, KINDS.reaadb, "ecommerce-cache");
            for (const rerc of rercs)
                assert.ok(deps(db).has(rerc.$resource.urn), `database after ${rerc.metadata.name}`);
            const dbSecret = named(kubernetesObjects(all), "Secret", "ecommerce-cache-password", NS);
            assert.ok(deps(db).has(dbSecret.$resource.urn), "database after its password Secret");
        });

        it("gives long installs explicit timeouts and protects production data from deletion", () => {
            const objects = redisObjects(us);
            const rec = named(objects, KINDS.rec, "rec-us").$resource;
            const db = named(objects, KINDS.reaadb, "ecommerce-cache").$resource;
            for (const r of [rec, db]) {
                assert.ok(
                    r.customTimeouts?.create && parseInt(r.customTimeouts.create) >= 20,
                    `${r.name} create timeout ${r.customTimeouts?.create}`,
                );
                assert.equal(r.protect, true, `${r.name} protected in production`);
            }
        });

        it("links each peer with the credentials that peer published, in a Secret named redis-enterprise-<rerc>", () => {
            const objects = kubernetesObjects(us.resources);
            const eu = named(objects, KINDS.rerc, "rerc-eu", NS);
            assert.deepEqual(eu.spec, {
                recName: "rec-eu",
                recNamespace: NS,
                apiFqdnUrl: "redis-api.eu.shop.example.com",
                dbFqdnSuffix: ".redis-db.eu.shop.example.com",
                secretName: "redis-enterprise-rerc-eu",
            });
            const secret = named(objects, "Secret", "redis-enterprise-rerc-eu", NS);
            assert.equal(secret.stringData.password, "peer-admin-password-eu");
            assert.ok(
                isSecretAt(secret.$resource.inputs, ["stringData", "password"]),
                "the peer's password stays a Pulumi secret",
            );
            // The local RERC carries this cluster's own admin credentials.
            const admin = named(objects, "Secret", "rec-us", NS);
            const local = named(objects, "Secret", "redis-enterprise-rerc-us", NS);
            assert.deepEqual(local.stringData, admin.stringData);
            assert.deepEqual(Object.keys(admin.stringData).sort(), ["password", "username"]);
        });

        it("keeps credentials in Secrets only: every Secret value is a Pulumi secret, nothing credential-like in Helm values or ConfigMaps", () => {
            const secrets = inNamespace(us).filter((o) => o.kind === "Secret");
            assert.ok(secrets.length >= 5, "admin, three RERC and the database Secrets");
            for (const s of secrets) {
                for (const field of ["data", "stringData"]) {
                    for (const k of Object.keys(s[field] ?? {}))
                        assert.ok(
                            isSecretAt(s.$resource.inputs, [field, k]),
                            `${s.metadata.name} ${field}.${k} is a Pulumi secret`,
                        );
                }
            }
            const passwords = secrets
                .flatMap((s) => Object.values<string>(s.stringData ?? {}))
                .filter((v) => !v.includes("@"));
            const release = operatorRelease(us)!;
            const values = JSON.stringify(release.inputs.values);
            for (const p of passwords) assert.ok(!values.includes(p), "no password in the operator's Helm values");
            const configMaps = kubernetesObjects(us.resources).filter((o) => o.kind === "ConfigMap");
            for (const p of passwords)
                assert.ok(
                    !configMaps.some((c) => JSON.stringify(c.data ?? {}).includes(p)),
                    "no password in any ConfigMap",
                );
            const mine = us.resources.filter(
                (r) => r.urn.includes("RedisEnterprise") || r.inputs?.metadata?.namespace === NS || r === release,
            );
            assert.deepEqual(
                evaluate(mine.map(toPolicyResource))
                    .filter((f) => f.rule === "no-plaintext-secrets")
                    .map((f) => f.message),
                [],
            );
        });

        it("passes credentials to custom resources by Secret name only", () => {
            const text = JSON.stringify(redisObjects(us).map((o) => o.spec));
            for (const s of inNamespace(us).filter((o) => o.kind === "Secret")) {
                for (const v of Object.values<string>(s.stringData ?? {}))
                    if (!v.includes("@"))
                        assert.ok(
                            !text.includes(v),
                            `a value of Secret ${s.metadata.name} appears in a custom resource`,
                        );
            }
        });

        it("runs in a guarded namespace: baseline enforced (restricted warned), default-deny, webhook namespace label", () => {
            const ns = named(kubernetesObjects(us.resources), "Namespace", NS);
            assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "baseline");
            assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/warn"], "restricted");
            assert.equal(ns.metadata.labels?.["redis.io/redisenterprise.admission.enable"], NS);
            const policies = ofKind(inNamespace(us), "NetworkPolicy");
            assert.ok(policies.some((p) => p.metadata.name === "default-deny"));
            // Apps reach only the database port of the cluster's node pods.
            const clients = named(policies, "NetworkPolicy", "allow-database-clients");
            assert.deepEqual(clients.spec.ingress[0].ports, [{ protocol: "TCP", port: 12000 }]);
            assert.deepEqual(
                clients.spec.ingress[0].from
                    .map((f: any) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"])
                    .sort(),
                ["ecommerce", "warung-kopi"],
            );
            // No ingress rule open to everything except the webhook port of the operator.
            for (const p of policies) {
                for (const rule of p.spec.ingress ?? []) {
                    assert.ok(
                        rule.from?.length,
                        `${p.metadata.name}: an ingress rule without sources admits every pod`,
                    );
                    if (rule.from.some((f: any) => f.ipBlock))
                        assert.deepEqual(
                            rule.ports,
                            [{ protocol: "TCP", port: 8443 }],
                            `${p.metadata.name}: only the webhook is open by address`,
                        );
                }
            }
        });

        it("lets Prometheus scrape the cluster's metrics endpoint (ServiceMonitor over HTTPS, allowed from the monitoring namespace)", () => {
            const objects = kubernetesObjects(us.resources);
            const monitor = ofKind(objects, "ServiceMonitor", NS)[0];
            assert.ok(monitor, "a ServiceMonitor in redis-enterprise");
            assert.deepEqual(monitor.spec.selector.matchLabels, { "redis.io/service": "prom-metrics" });
            assert.equal(monitor.spec.endpoints[0].port, "prometheus");
            assert.equal(monitor.spec.endpoints[0].scheme, "https");
            const allow = named(objects, "NetworkPolicy", "allow-metrics-scrape", NS);
            assert.deepEqual(allow.spec.ingress[0].ports, [{ protocol: "TCP", port: 8070 }]);
            assert.equal(
                allow.spec.ingress[0].from[0].namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
                "monitoring",
            );
        });

        it("gives the applications the database as their cache, and publishes the cluster (password secret) for the peers", () => {
            const outputs = us.outputs as any;
            assert.equal(
                outputs.endpoints.redisEnterpriseDatabase,
                "ecommerce-cache.redis-enterprise.svc.cluster.local:12000",
            );
            assert.equal(outputs.endpoints.redisEnterpriseApi, "https://redis-api.us.shop.example.com");
            assert.deepEqual(redisPending(us), []);
            const pub = isSecretMarked(outputs.publishedForPeers)
                ? outputs.publishedForPeers.$secret
                : outputs.publishedForPeers;
            const redis = pub.redis;
            assert.equal(redis.recName, "rec-us");
            assert.equal(redis.apiFqdnUrl, "redis-api.us.shop.example.com");
            assert.equal(redis.activeActiveDatabase, "ecommerce-cache");
            const admin = named(kubernetesObjects(us.resources), "Secret", "rec-us", NS);
            assert.equal(redis.password, admin.stringData.password, "peers get this cluster's admin password");
            assert.ok(isSecretAt(outputs, ["publishedForPeers", "redis", "password"]), "published as a secret");
        });
    });

    describe("peer wiring (us owns the Active-Active database; eu and asia are its peers)", () => {
        it("no peer deployed yet: the cluster and its own RERC deploy, the database waits, the links are reported pending", async () => {
            const r = await deployedStack("us", { stackOutputs: NO_PEERS });
            const objects = redisObjects(r);
            assert.equal(ofKind(objects, KINDS.rec).length, 1);
            assert.deepEqual(
                ofKind(objects, KINDS.rerc).map((o) => o.metadata.name),
                ["rerc-us"],
            );
            assert.equal(ofKind(objects, KINDS.reaadb).length, 0, "no database until every participating RERC exists");
            assert.deepEqual(redisPending(r).sort(), ["redis:asia", "redis:eu"]);
            assert.equal(
                (r.outputs as any).endpoints.redisEnterpriseDatabase,
                undefined,
                "apps are not pointed at a database that does not exist",
            );
            assert.equal((r.outputs as any).endpoints.redisEnterpriseApi, "https://redis-api.us.shop.example.com");
        });

        it("some peers deployed: links those, still no database, the rest pending", async () => {
            const r = await deployedStack("us", { stackOutputs: EU_ONLY });
            const objects = redisObjects(r);
            assert.deepEqual(
                ofKind(objects, KINDS.rerc)
                    .map((o) => o.metadata.name)
                    .sort(),
                ["rerc-eu", "rerc-us"],
            );
            assert.equal(ofKind(objects, KINDS.reaadb).length, 0);
            assert.deepEqual(redisPending(r), ["redis:asia"]);
        });

        it("all peers deployed: three RERCs and the database, nothing pending", async () => {
            const r = await deployedStack("us", { stackOutputs: ALL_PEERS });
            assert.equal(ofKind(redisObjects(r), KINDS.rerc).length, 3);
            assert.equal(ofKind(redisObjects(r), KINDS.reaadb).length, 1);
            assert.deepEqual(redisPending(r), []);
        });

        it("a peer region never creates the database itself; it takes the owner's password once the owner published it", async () => {
            const r = await deployedStack("eu", {
                stackOutputs: { [stackOf("us")]: US_CREATED, [stackOf("asia")]: published("asia") },
            });
            const objects = kubernetesObjects(r.resources);
            assert.equal(ofKind(redisObjects(r), KINDS.reaadb).length, 0, "the operator brings the replica");
            assert.deepEqual(
                ofKind(redisObjects(r), KINDS.rerc)
                    .map((o) => o.metadata.name)
                    .sort(),
                ["rerc-asia", "rerc-eu", "rerc-us"],
            );
            const dbSecret = named(objects, "Secret", "ecommerce-cache-password", NS);
            assert.equal(
                dbSecret.stringData.password,
                "owner-db-password",
                "the same password in every participating region",
            );
            assert.ok(isSecretAt(dbSecret.$resource.inputs, ["stringData", "password"]));
            assert.deepEqual(redisPending(r), []);
            assert.equal(
                (r.outputs as any).endpoints.redisEnterpriseDatabase,
                "ecommerce-cache.redis-enterprise.svc.cluster.local:12000",
            );
        });

        it("a peer region whose owner has not created the database yet reports it pending and gives apps no Redis Enterprise cache", async () => {
            const r = await deployedStack("eu", { stackOutputs: { [stackOf("us")]: published("us") } });
            assert.equal(ofKind(redisObjects(r), KINDS.reaadb).length, 0);
            assert.deepEqual(redisPending(r).sort(), ["redis-database:us", "redis:asia"]);
            assert.equal((r.outputs as any).endpoints.redisEnterpriseDatabase, undefined);
            assert.equal(
                ofKind(kubernetesObjects(r.resources), "Secret", NS).some(
                    (s) => s.metadata.name === "ecommerce-cache-password",
                ),
                false,
            );
        });

        it("the owner is a config choice: with asia as owner, us (all peers present) creates no database", async () => {
            const r = await deployedStack("us", {
                stackOutputs: ALL_PEERS,
                configOverrides: ASIA_OWNS,
            });
            assert.equal(ofKind(redisObjects(r), KINDS.reaadb).length, 0);
            assert.deepEqual(redisPending(r), ["redis-database:asia"]);
        });
    });

    describe("in the dev stack", () => {
        it("creates no Redis Enterprise objects (it does not fit a laptop)", async () => {
            const dev = await deployedStack("dev");
            assert.deepEqual(
                redisObjects(dev).map((o) => `${o.kind} ${o.metadata.name}`),
                [],
            );
            assert.equal(operatorRelease(dev), undefined);
            assert.equal(
                kubernetesObjects(dev.resources).some((o) => o.kind === "Namespace" && o.metadata.name === NS),
                false,
            );
        });
    });

    describe("schema subset", () => {
        it("rejects what the CRDs reject: unknown fields, bad enums, a misnamed RERC Secret, a one-cluster Active-Active database", () => {
            const meta = { name: "x", namespace: NS };
            const problems = (o: any) => redisEnterpriseSchemaProblems(o) ?? [];
            assert.notDeepEqual(
                problems({ apiVersion: `${GROUP}v1`, kind: KINDS.rec, metadata: meta, spec: { nodes: 3, nodez: 1 } }),
                [],
            );
            assert.notDeepEqual(
                problems({
                    apiVersion: `${GROUP}v1`,
                    kind: KINDS.rec,
                    metadata: meta,
                    spec: { ingressOrRouteSpec: { apiFqdnUrl: "a", dbFqdnSuffix: "b", method: "nginx" } },
                }),
                [],
            );
            assert.notDeepEqual(
                problems({
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.rerc,
                    metadata: meta,
                    spec: { recName: "r", recNamespace: NS, apiFqdnUrl: "a", secretName: "redis-enterprise-y" },
                }),
                [],
            );
            assert.notDeepEqual(
                problems({
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.rerc,
                    metadata: meta,
                    spec: { recName: "r", apiFqdnUrl: "a" },
                }),
                [],
            );
            assert.notDeepEqual(
                problems({
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.reaadb,
                    metadata: meta,
                    spec: { participatingClusters: [{ name: "a" }] },
                }),
                [],
            );
            assert.notDeepEqual(
                problems({
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.reaadb,
                    metadata: meta,
                    spec: {
                        participatingClusters: [{ name: "a" }, { name: "b" }],
                        globalConfigurations: { tlsMode: "on" },
                    },
                }),
                [],
            );
            assert.deepEqual(
                problems({
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.rerc,
                    metadata: meta,
                    spec: { recName: "r", recNamespace: NS, apiFqdnUrl: "a", secretName: "redis-enterprise-x" },
                }),
                [],
            );
            assert.equal(redisEnterpriseSchemaProblems({ apiVersion: "v1", kind: "Secret" }), undefined);
        });
    });
});
