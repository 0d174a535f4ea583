// Production data (issue 12): PostgreSQL on CloudNativePG (replicated across zones, a synchronous
// standby, WAL archiving and base backups with retention, a restore that builds a new Cluster), and
// no single-instance stateful workload anywhere in a production stack, whatever creates it.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CLUSTER, clusterSpec, OBJECT_STORE, PLUGIN, restoreCluster } from "../components/cloudnative-pg/plan";
import { PLATFORM_STORAGE_CLASS } from "../components/storage";
import { deployedStack, prefetch } from "./harness/evaluate";
import { type K8sObject, helmReleases, kubernetesObjects, named, ofKind, podTemplate, unsecret } from "./harness/k8s";
import { configOf, STACKS, stackConfig } from "./harness/stack-config";
import type { RecordedResource } from "./harness/types";
import { claimedUrns } from "./harness/urns";
import { cloudNativePgSchemaProblems } from "./schemas/cloudnative-pg";

const PRODUCTION = ["us", "eu", "asia"] as const;
prefetch(...STACKS.map((stack) => ({ stack })));

// ---------------------------------------------------------------------------------------------
// Stateful workloads, whatever creates them

/** Replicas of a stateful custom resource, by apiVersion group/kind. */
const STATEFUL_KINDS: Record<string, (spec: any) => number> = {
    "postgresql.cnpg.io/Cluster": (s) => s.instances ?? 1,
    "app.redislabs.com/RedisEnterpriseCluster": (s) => s.nodes ?? 3,
    "app.redislabs.com/RedisEnterpriseDatabase": (s) => (s.replication ? 2 : 1),
    "app.redislabs.com/RedisEnterpriseActiveActiveDatabase": (s) => (s.globalConfigurations?.replication ? 2 : 1),
};
/** Custom resources that hold no data of their own (configuration, or data held by a resource above). */
const STATELESS_GROUPS = [
    "networking.istio.io",
    "security.istio.io",
    "telemetry.istio.io",
    "monitoring.coreos.com",
    "cert-manager.io",
    "keda.sh",
];
const STATELESS_KINDS = [
    // A database inside a Cluster (replicated with it), its backup schedule and store configuration.
    "postgresql.cnpg.io/Database",
    "postgresql.cnpg.io/ScheduledBackup",
    "barmancloud.cnpg.io/ObjectStore",
    "app.redislabs.com/RedisEnterpriseRemoteCluster",
    // Logins and their permissions, kept by the Redis Enterprise cluster.
    "app.redislabs.com/RedisEnterpriseUser",
    "app.redislabs.com/RedisEnterpriseACL",
    "app.redislabs.com/RedisEnterpriseRole",
    "app.redislabs.com/RedisEnterpriseRoleBinding",
    "app.redislabs.com/RedisEnterpriseClusterRole",
    "app.redislabs.com/RedisEnterpriseClusterRoleBinding",
];
/**
 * Charts whose pods hold data: how many copies the values give. Every chart the program installs
 * must be here or in STATELESS_CHARTS, so a new chart is classified before it ships.
 */
const STATEFUL_CHARTS: Record<string, (values: any) => { what: string; replicas: number }[]> = {
    "kube-prometheus-stack": (v) => [
        { what: "prometheus", replicas: v.prometheus?.prometheusSpec?.replicas ?? 1 },
        { what: "alertmanager", replicas: v.alertmanager?.alertmanagerSpec?.replicas ?? 1 },
    ],
    // Traces: in Jaeger's own pod (memory, the chart's default; Badger): one copy, or in a store whose indices keep
    // 1 + replicas copies of each shard (the store's own nodes are classified by its chart).
    jaeger: (v) =>
        Object.entries<any>(v.userconfig?.extensions?.jaeger_storage?.backends ?? { default: { memory: {} } }).map(
            ([name, b]) => {
                const store = b.opensearch ?? b.elasticsearch;
                // Each Jaeger pod keeps its own spans: more pods are not more copies of a trace.
                if (!store) return { what: `jaeger (${name} in its pod)`, replicas: 1 };
                const copies = ["spans", "services"].map((i) => 1 + (store.indices?.[i]?.replicas ?? 1));
                return { what: `jaeger (${name}) indices`, replicas: Math.min(...copies) };
            },
        ),
    opensearch: (v) => [{ what: "opensearch", replicas: v.singleNode ? 1 : (v.replicas ?? 3) }],
};
const STATELESS_CHARTS = [
    "base",
    "istiod",
    "gateway",
    "cni",
    "keda",
    "redis-enterprise-operator",
    "metrics-server",
    "cert-manager",
    "external-dns",
    "cloudnative-pg",
    "plugin-barman-cloud",
];
/** Workload labels (app.kubernetes.io/component) of data stores that run as Deployments. */
const DATA_COMPONENTS = ["database", "cache"];

export interface StatefulFinding {
    what: string;
    replicas: number;
}

/** Every stateful workload of a stack and its copies; unclassified kinds and charts are findings too. */
export function statefulWorkloads(resources: RecordedResource[]): { found: StatefulFinding[]; unclassified: string[] } {
    const objects = kubernetesObjects(resources);
    const found: StatefulFinding[] = [];
    const unclassified: string[] = [];
    const minReplicas = (o: K8sObject) => {
        const hpa = objects.find(
            (h) =>
                h.kind === "HorizontalPodAutoscaler" &&
                h.metadata.namespace === o.metadata.namespace &&
                h.spec.scaleTargetRef.name === o.metadata.name,
        );
        return hpa?.spec.minReplicas ?? o.spec?.replicas ?? 1;
    };
    for (const o of objects) {
        const id = `${o.kind} ${o.metadata.namespace ?? ""}/${o.metadata.name}`;
        const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
        const builtIn = group === "" || !group.includes(".") || group.endsWith(".k8s.io");
        if (builtIn) {
            const template = podTemplate(o);
            if (!template || ["Job", "CronJob", "DaemonSet", "Pod"].includes(o.kind)) continue;
            const claims = (template.spec.volumes ?? []).some((v: any) => v.persistentVolumeClaim);
            const component = template.metadata?.labels?.["app.kubernetes.io/component"];
            if (o.kind === "StatefulSet" || claims || DATA_COMPONENTS.includes(component))
                found.push({ what: id, replicas: minReplicas(o) });
            continue;
        }
        const key = `${group}/${o.kind}`;
        if (STATEFUL_KINDS[key]) found.push({ what: id, replicas: STATEFUL_KINDS[key](o.spec ?? {}) });
        else if (!STATELESS_GROUPS.includes(group) && !STATELESS_KINDS.includes(key)) unclassified.push(key);
    }
    for (const rel of helmReleases(resources)) {
        const chart = rel.inputs.chart as string;
        const values = unsecret(rel.inputs.values ?? {});
        if (STATEFUL_CHARTS[chart])
            for (const c of STATEFUL_CHARTS[chart](values))
                found.push({ what: `chart ${chart} (${rel.inputs.name}) ${c.what}`, replicas: c.replicas });
        else if (!STATELESS_CHARTS.includes(chart)) unclassified.push(`chart ${chart}`);
    }
    return { found, unclassified: [...new Set(unclassified)] };
}

/**
 * Known single instances still being worked on elsewhere, by pattern; each entry must still match
 * something (a fixed one fails the test until it is removed from this list).
 */
const PENDING: { pattern: RegExp; why: string }[] = [];

describe("production data", () => {
    describe("no single-instance stateful workload in a production stack", () => {
        for (const stack of PRODUCTION) {
            it(`${stack}: every stateful workload (StatefulSet, data Deployment, operator resource, chart) runs 2+ copies`, async () => {
                const { found, unclassified } = statefulWorkloads((await deployedStack(stack)).resources);
                assert.deepEqual(unclassified, [], "classify these as stateful (with their replicas) or stateless");
                assert.ok(
                    found.some((f) => f.what.startsWith("Cluster databases/postgres")),
                    "the database is seen",
                );
                const single = found.filter((f) => f.replicas < 2).map((f) => f.what);
                const pending = PENDING.filter((p) => single.some((w) => p.pattern.test(w)));
                assert.deepEqual(
                    single.filter((w) => !PENDING.some((p) => p.pattern.test(w))),
                    [],
                    "single-instance stateful workloads",
                );
                assert.deepEqual(
                    PENDING.filter((p) => !pending.includes(p)).map((p) => p.why),
                    [],
                    "fixed: remove these from PENDING",
                );
            });
        }

        it("sees each kind of single instance (self-test on damaged copies of us)", async () => {
            const { resources } = await deployedStack("us");
            const damage = (f: (r: RecordedResource) => void) => {
                const copy = structuredClone(resources);
                copy.forEach(f);
                return statefulWorkloads(copy);
            };
            const single = (r: ReturnType<typeof statefulWorkloads>) =>
                r.found.filter((x) => x.replicas < 2).map((x) => x.what);
            assert.ok(
                single(damage((r) => r.inputs?.kind === "Cluster" && (r.inputs.spec.instances = 1))).includes(
                    "Cluster databases/postgres",
                ),
            );
            const withStatefulSet = damage((r) => {
                if (r.inputs?.kind === "Deployment" && r.inputs.metadata.name === "worker") {
                    r.inputs.kind = "StatefulSet";
                    r.inputs.spec.replicas = 1;
                }
                r.inputs.kind = "StatefulSet";
            });
            assert.ok(
                single(withStatefulSet).length > single(damage(() => undefined)).length,
                "a 1-replica StatefulSet",
            );
            const unknown = damage((r) => {
                if (r.inputs?.kind === "ScheduledBackup") r.inputs.apiVersion = "example.com/v1";
            });
            assert.deepEqual(unknown.unclassified, ["example.com/ScheduledBackup"]);
            const newChart = damage((r) => {
                if (r.inputs?.chart === "keda") r.inputs.chart = "some-database";
            });
            assert.deepEqual(newChart.unclassified, ["chart some-database"]);
            // Traces: back in Jaeger's memory, an index without replicas, a single OpenSearch node.
            const traces = (f: (values: any) => void) =>
                single(
                    damage((r) => {
                        if (r.inputs?.chart === "jaeger" || r.inputs?.chart === "opensearch") f(r.inputs.values);
                    }),
                ).filter((w) => w.startsWith("chart jaeger") || w.startsWith("chart opensearch"));
            assert.deepEqual(
                traces(() => undefined),
                [],
            );
            assert.deepEqual(
                traces((v) => v.userconfig && delete v.userconfig),
                ["chart jaeger (jaeger) jaeger (default in its pod)"],
            );
            assert.deepEqual(
                traces((v) => {
                    if (v.userconfig)
                        v.userconfig.extensions.jaeger_storage.backends.traces.opensearch.indices.spans.replicas = 0;
                }),
                ["chart jaeger (jaeger) jaeger (traces) indices"],
            );
            assert.deepEqual(
                traces((v) => v.userconfig === undefined && (v.singleNode = true)),
                ["chart opensearch (opensearch) opensearch"],
            );
        });
    });

    for (const stack of PRODUCTION) {
        describe(`PostgreSQL on CloudNativePG, stack ${stack}`, () => {
            let objects: (K8sObject & { $resource: RecordedResource })[];
            let cluster: K8sObject & { $resource: RecordedResource };
            before(async () => {
                objects = kubernetesObjects((await deployedStack(stack)).resources);
                cluster = named(objects, "Cluster", CLUSTER, "databases");
            });

            it("runs 3+ instances, one per node and spread over the zones, with a synchronous standby and the operator's PDBs", () => {
                const cfg = configOf(stack);
                const spec = cluster.spec;
                assert.ok(spec.instances >= 3);
                assert.ok(cfg.cluster.zones.length >= 3, "the stack names three zones");
                assert.equal(spec.affinity.enablePodAntiAffinity, true);
                assert.equal(spec.affinity.podAntiAffinityType, "required");
                assert.equal(spec.affinity.topologyKey, "kubernetes.io/hostname");
                const zone = spec.topologySpreadConstraints.find(
                    (t: any) => t.topologyKey === "topology.kubernetes.io/zone",
                );
                assert.ok(zone && zone.maxSkew === 1 && zone.whenUnsatisfiable === "DoNotSchedule", "one per zone");
                assert.deepEqual(zone.labelSelector.matchLabels, {
                    "cnpg.io/cluster": CLUSTER,
                    "cnpg.io/podRole": "instance",
                });
                assert.ok(spec.postgresql.synchronous.number >= 1);
                assert.equal(spec.postgresql.synchronous.dataDurability, "required");
                assert.equal(spec.enablePDB, true);
                assert.equal(spec.enableSuperuserAccess, false);
                assert.equal(spec.storage.storageClass, PLATFORM_STORAGE_CLASS);
                assert.equal(spec.walStorage.storageClass, PLATFORM_STORAGE_CLASS);
                assert.ok(cluster.$resource.protect && cluster.$resource.retainOnDelete);
            });

            it("archives WAL and takes daily base backups to object storage, with retention, through the plugin", () => {
                const archivers = cluster.spec.plugins.filter((p: any) => p.isWALArchiver);
                assert.deepEqual(
                    archivers.map((p: any) => [p.name, p.parameters.barmanObjectName]),
                    [[PLUGIN, OBJECT_STORE]],
                );
                const store = named(objects, "ObjectStore", OBJECT_STORE, "databases");
                assert.match(store.spec.retentionPolicy, /^[1-9][0-9]*[dwm]$/);
                assert.match(store.spec.configuration.destinationPath, /^(s3|gs|https):\/\//);
                const creds = ["s3Credentials", "googleCredentials", "azureCredentials"].filter(
                    (k) => store.spec.configuration[k],
                );
                assert.equal(creds.length, 1, "one way to reach the store");
                // Workload identity: the instance pods' ServiceAccount carries the cloud identity.
                const annotations = cluster.spec.serviceAccountTemplate?.metadata?.annotations ?? {};
                assert.ok(Object.keys(annotations).length > 0, "workload identity annotations");
                const scheduled = ofKind(objects, "ScheduledBackup", "databases");
                assert.equal(scheduled.length, 1);
                assert.equal(scheduled[0].spec.cluster.name, CLUSTER);
                assert.equal(scheduled[0].spec.method, "plugin");
                assert.equal(scheduled[0].spec.pluginConfiguration.name, PLUGIN);
                assert.ok(store.$resource.protect, "the store's configuration is protected too");
            });

            it("declares the shop's and payment's databases and roles, passwords generated and held as Pulumi secrets", () => {
                const roles = cluster.spec.managed.roles;
                assert.deepEqual(roles.map((r: any) => r.name).sort(), ["kopi_app", "kopi_migrate", "payment"]);
                for (const r of roles) {
                    assert.equal(r.superuser, false, r.name);
                    assert.equal(r.createrole, false, r.name);
                    const secret = named(objects, "Secret", r.passwordSecret.name, "databases");
                    assert.equal(secret.type, "kubernetes.io/basic-auth");
                    const data = secret.$resource.inputs.stringData;
                    assert.ok("$secret" in data || "$secret" in data.password, `${r.name}: a Pulumi secret`);
                }
                assert.equal(cluster.spec.bootstrap.initdb.owner, "kopi_migrate");
                assert.equal(named(objects, "Database", "payments", "databases").spec.owner, "payment");
            });

            it("monitors the instances: a PodMonitor and alerts on replication lag, failover, archiving and backup age", () => {
                const pm = named(objects, "PodMonitor", CLUSTER, "databases");
                assert.equal(pm.spec.podMetricsEndpoints[0].port, "metrics");
                const alerts = named(objects, "PrometheusRule", "postgres-alerts", "databases").spec.groups.flatMap(
                    (g: any) => g.rules.map((r: any) => r.alert),
                );
                for (const a of [
                    "PostgresReplicationLagHigh",
                    "PostgresFailover",
                    "PostgresWalArchivingStalled",
                    "PostgresBackupTooOld",
                ])
                    assert.ok(alerts.includes(a), a);
            });

            it("spreads the live and the restored Cluster across zones by the cluster profile's zone label", () => {
                // A cluster whose nodes carry their zone under another label (cluster.profile.zoneLabel).
                const cluster = stackConfig(ROOT, stack).stackFile.config?.["ecommerce-platform:cluster"] as object;
                const cfg = configOf(stack, { cluster: { ...cluster, profile: { zoneLabel: "example.com/zone" } } });
                const restore = restoreCluster(cfg, PLATFORM_STORAGE_CLASS, true, { name: "r", targetTime: "now" });
                for (const [what, spec] of [
                    ["Cluster", clusterSpec(cfg, PLATFORM_STORAGE_CLASS, true)],
                    ["restore", restore.spec],
                ] as const)
                    assert.deepEqual(
                        ((spec as any).topologySpreadConstraints ?? []).map((c: any) => c.topologyKey),
                        ["example.com/zone"],
                        what,
                    );
            });

            it("builds the runbook's point-in-time restore as a valid NEW Cluster from the object store", () => {
                const cfg = configOf(stack);
                const restore = restoreCluster(cfg, PLATFORM_STORAGE_CLASS, true, {
                    name: "postgres-restore",
                    targetTime: "2026-12-01T09:55:00Z",
                });
                assert.deepEqual(cloudNativePgSchemaProblems(restore), []);
                assert.notEqual(restore.metadata.name, CLUSTER, "never the live cluster");
                const spec = restore.spec as any;
                assert.equal(spec.bootstrap.recovery.recoveryTarget.targetTime, "2026-12-01T09:55:00Z");
                const source = spec.externalClusters.find((c: any) => c.name === spec.bootstrap.recovery.source);
                assert.deepEqual(source.plugin.parameters, { barmanObjectName: OBJECT_STORE, serverName: CLUSTER });
                assert.equal(spec.plugins[0].parameters.serverName, "postgres-restore", "archives under its own name");
                // Self-test: the schema check sees a broken restore.
                const broken = structuredClone(restore) as any;
                broken.spec.bootstrap.recovery.source = "nowhere";
                broken.spec.bootstrap.recovery.recoveryTarget.targetTme = "typo";
                const problems = cloudNativePgSchemaProblems(broken)!.join("\n");
                assert.match(problems, /names no externalClusters entry/);
                assert.match(problems, /must NOT have additional properties/);
            });
        });
    }
});

// ---------------------------------------------------------------------------------------------
// The runbook's move of a deployed region onto the Cluster: step 3 deploys the CloudNativePG layer alone

const ROOT = path.resolve(__dirname, "..");

/** The bash blocks of the runbook's move section, in order. */
function moveBlocks(): string[] {
    const text = fs.readFileSync(path.join(ROOT, "docs", "runbook.md"), "utf8");
    const start = text.indexOf("### Moving an existing region from the StatefulSet to CloudNativePG");
    const end = text.indexOf("\n## ", start);
    return [...text.slice(start, end).matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** Pulumi's reading of a --target glob: `**` any characters, `*` any but `:`. */
export function targetMatcher(glob: string): RegExp {
    const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp(
        `^${glob
            .split("**")
            .map((seg) => seg.split("*").map(quote).join("[^:]*"))
            .join(".*")}$`,
    );
}

/**
 * What goes wrong with `pulumi up --target <globs>` on a region deployed at the previous version
 * (`deployed`: its URNs): a resource of `layer` left out, a targeted resource outside `allowed`
 * (e.g. a client switched to a database that holds no data yet), a dependency (parent, provider,
 * dependsOn, or the StorageClass a Cluster names) neither targeted nor already deployed.
 */
export function targetedDeployProblems(
    resources: RecordedResource[],
    globs: string[],
    deployed: Set<string>,
    layer: Set<string>,
    allowed: Set<string>,
): string[] {
    const matchers = globs.map(targetMatcher);
    const targeted = new Set(resources.filter((r) => matchers.some((m) => m.test(r.urn))).map((r) => r.urn));
    const claims = claimedUrns(resources);
    const exists = (urn: string) => targeted.has(urn) || (claims.get(urn) ?? [urn]).some((u) => deployed.has(u));
    const problems = [
        ...[...layer].filter((u) => !targeted.has(u)).map((u) => `not targeted: ${u}`),
        ...[...targeted].filter((u) => !allowed.has(u)).map((u) => `targeted outside the layer: ${u}`),
    ];
    const objects = kubernetesObjects(resources);
    for (const r of resources.filter((x) => targeted.has(x.urn))) {
        const needs = [
            ...r.dependencies,
            ...(r.parent ? [r.parent] : []),
            ...(r.provider ? [r.provider.slice(0, r.provider.lastIndexOf("::"))] : []),
        ];
        if (r.inputs?.kind === "Cluster") {
            for (const cls of [r.inputs.spec?.storage?.storageClass, r.inputs.spec?.walStorage?.storageClass]) {
                const sc = objects.find((o) => o.kind === "StorageClass" && o.metadata.name === cls);
                needs.push(sc ? sc.$resource.urn : `StorageClass ${cls}`);
            }
        }
        // The stack itself always exists; anything else must be targeted or deployed already.
        for (const u of needs)
            if (!u.includes("::pulumi:pulumi:Stack::") && !(u.startsWith("urn:pulumi:") && exists(u)))
                problems.push(`${r.urn} needs ${u}, neither targeted nor deployed`);
    }
    return [...new Set(problems)];
}

describe("the runbook's move of a deployed region onto the Cluster", () => {
    it("step 3 deploys the CloudNativePG layer alone: everything of it, nothing that uses it, and only what exists or comes along", async () => {
        const { resources } = await deployedStack("us");
        const blocks = moveBlocks();
        const globs = [...(blocks[2] ?? "").matchAll(/--target '([^']+)'/g)].map((m) => m[1]);
        assert.ok(globs.length > 0, "step 3 runs a targeted pulumi up");
        // The version the regions run before the move: the URN snapshot of the stack.
        const deployed = new Set(
            fs
                .readFileSync(path.join(ROOT, "tests", "fixtures", "urns", "us.txt"), "utf8")
                .split("\n")
                .filter(Boolean),
        );
        const subtree = (type: string) => {
            const roots = resources.filter((r) => r.type === type).map((r) => r.urn);
            const out = new Set(roots);
            for (let grew = true; grew;) {
                grew = false;
                for (const r of resources)
                    if (r.parent && out.has(r.parent) && !out.has(r.urn)) {
                        out.add(r.urn);
                        grew = true;
                    }
            }
            return out;
        };
        const layer = subtree("ecommerce:platform:CloudNativePg");
        assert.ok(layer.size > 20, "the layer's resources are found");
        const allowed = new Set([...layer, ...subtree("ecommerce:platform:ClusterStorage")]);
        assert.deepEqual(targetedDeployProblems(resources, globs, deployed, layer, allowed), []);

        // Self-test: a target list that misses the StorageClass, one that takes the whole stack.
        const without = targetedDeployProblems(resources, [globs[0]], deployed, layer, allowed);
        assert.ok(
            without.some((p) => /needs .*StorageClass/.test(p)),
            without.join("\n"),
        );
        const everything = targetedDeployProblems(resources, ["urn:pulumi:us::**"], deployed, layer, allowed);
        assert.ok(everything.some((p) => /outside the layer: .*Deployment::warung-kopi-apps-backend/.test(p)));
        const part = targetedDeployProblems(
            resources,
            ["urn:pulumi:us::**::cloudnative-pg-cluster"],
            deployed,
            layer,
            allowed,
        );
        assert.ok(part.some((p) => /not targeted: .*ScheduledBackup/.test(p)) && part.some((p) => /needs/.test(p)));
        assert.ok(
            targetMatcher("urn:a::*::b").test("urn:a::x::b") && !targetMatcher("urn:a::*::b").test("urn:a::x:y::b"),
        );
    });
});
