// The Warung Kopi shop as data: fixed names, ports, storage per distribution, the migration SQL and
// the namespace quota computed from the workloads. Pure functions, no Pulumi resources.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type PlatformConfig, type Resources, resourcesFor } from "../../config";
import { parseQuantity } from "../../config/quantity";
import { serviceFqdn } from "../hosts";
import { APP_PORTS, DATABASES, SHOP_WORKLOADS } from "../names";
import { type PodFootprint, type PodShape, podFootprint, type QuotaExtras, quotaFor } from "../quota";

/** `app.kubernetes.io/part-of` of everything the shop runs. */
export const PART_OF = "warung-kopi";

/** Kubernetes names the runbooks use (fixed, never auto-suffixed). */
export const NAMES = {
    config: "warung-kopi-config",
    appRuntime: "app-runtime",
    frontendNginx: "frontend-nginx",
    dbSchema: "db-schema",
    /** The shop's own PostgreSQL's superuser (dev): the server and the role provisioning Job only. */
    postgresSecret: "postgres-credentials",
    /** Logins of the shop's roles, whichever engine serves the database. */
    appDbSecret: "db-app-credentials",
    migrationDbSecret: "db-migrate-credentials",
    apiKeySecret: "warung-kopi-api-key",
    redisSecret: "redis-credentials",
    /** The external cache's CA certificate (ConfigMap, key ca.crt). */
    redisCa: "redis-ca",
    storageClass: "warung-kopi-standard",
    backupVolume: "warung-kopi-backups",
    backupClaim: "postgres-backups",
    postgres: SHOP_WORKLOADS.postgres,
    redis: SHOP_WORKLOADS.redis,
    backend: SHOP_WORKLOADS.backend,
    worker: SHOP_WORKLOADS.worker,
    frontend: SHOP_WORKLOADS.frontend,
    frontendNodePort: "frontend-nodeport",
    frontendPublic: "frontend-public",
    ingress: "warung-kopi",
    tlsSecret: "warung-kopi-tls",
    migrate: SHOP_WORKLOADS.migrate,
    /** Dev: creates the roles and databases on the shop's own PostgreSQL (what the operator does in the regions). */
    roles: SHOP_WORKLOADS.roles,
    backup: SHOP_WORKLOADS.backup,
    nodeMetrics: "node-metrics",
} as const;

/** Namespace of the node-level metrics agent (the documented Pod Security exception). */
export const nodeAgentsNamespace = (cfg: PlatformConfig) => `${cfg.shop.namespace}-node-agents`;

export const PORTS = {
    backend: APP_PORTS.http,
    worker: APP_PORTS.http,
    /** nginx-unprivileged listens on 8080; the Service `frontend` publishes it on 80. */
    frontendContainer: APP_PORTS.http,
    frontendService: 80,
    /**
     * /metrics of every shop pod: the reference service (apps/service.js) and the exporter sidecars
     * of PostgreSQL, Redis and the frontend (one scrape port for the whole shop).
     */
    metrics: APP_PORTS.metrics,
    /** nginx stub_status, on the frontend pod's loopback only (read by its exporter sidecar). */
    nginxStatus: 8081,
    postgres: 5432,
    redis: 6379,
    nodeMetrics: 9100,
} as const;

/** UIDs the images run as (non-root; see /tmp/notes/charts.md "Images"). */
export const UIDS = {
    node: 1000,
    nginx: 101,
    postgres: 70,
    redis: { uid: 999, gid: 1000 },
    nobody: 65534,
} as const;

/** Where the backend and the worker find the external cache's CA (REDIS_CA_FILE). */
export const REDIS_CA_DIR = "/etc/redis-tls";

/** The shop's database and roles (components/names.ts DATABASES); `superuser` is the dev StatefulSet's only. */
export const DATABASE = {
    name: DATABASES.shop.name,
    user: DATABASES.shop.roles.app,
    migrationUser: DATABASES.shop.roles.migration,
    superuser: "postgres",
} as const;
/** The core services' payment ledger: its own database and login (on the shop's own PostgreSQL in dev). */
export const PAYMENT_DATABASE = {
    name: DATABASES.payment.name,
    user: DATABASES.payment.roles.owner,
    secret: "payment-db-credentials",
    client: "payment",
} as const;

/** In-cluster DNS name of a Service. */
export const serviceHost = (cfg: PlatformConfig, service: string, namespace = cfg.shop.namespace) =>
    serviceFqdn(service, namespace);

// ---------------------------------------------------------------------------------------------
// Migration SQL

export const SQL_DIR = path.resolve(__dirname, "..", "..", "sql");

/**
 * The SQL the program ships (sql/*.sql, applied in name order) and a digest of it: the migration
 * Job is named after the digest, so any change to the SQL creates a new Job that applies it.
 */
export function migrationScripts(dir = SQL_DIR): { files: Record<string, string>; digest: string } {
    const names = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".sql"))
        .sort();
    if (names.length === 0) throw new Error(`no migration SQL in ${dir}`);
    const files = Object.fromEntries(names.map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
    const hash = createHash("sha256");
    for (const [f, text] of Object.entries(files)) hash.update(f).update("\0").update(text).update("\0");
    return { files, digest: hash.digest("hex").slice(0, 8) };
}

/** Name of the migration Job: the SQL's digest, so a change to the SQL creates a new Job that applies it. */
export function migrationJobName(sqlDigest: string): string {
    return `${NAMES.migrate}-${sqlDigest}`;
}

// ---------------------------------------------------------------------------------------------
// Quota: every workload at its maximum, plus the Jobs

/** Extra pods a Deployment runs during a rolling update (maxSurge in components/microservice.ts). */
export const ROLLING_SURGE = 1;

// One kind of pod and a quota that holds every kind at its maximum: components/quota.ts.
export { podFootprint, quotaFor };
export type { PodFootprint, PodShape, QuotaExtras };

/** Resources of the frontend's site-rendering init container (the same Node.js runtime as the worker). */
export const frontendBuildResources = (cfg: PlatformConfig) => resourcesFor(cfg, "worker");

/** Resources of the exporter sidecars (container `metrics`). */
export const exporterResources = (
    cfg: PlatformConfig,
    exporter: "postgres-exporter" | "redis-exporter" | "nginx-exporter",
) => resourcesFor(cfg, exporter);

/** Every pod shape in the shop namespace, at its maximum count. */
export function shopPodShapes(cfg: PlatformConfig, opts: { ownRedis: boolean; ownDatabase: boolean }): PodShape[] {
    const app = (name: "frontend" | "backend" | "worker") => {
        const s = cfg.shop[name];
        return (s.autoscaling?.maxReplicas ?? s.replicas) + ROLLING_SURGE;
    };
    return [
        {
            workload: "frontend",
            pods: app("frontend"),
            containers: [resourcesFor(cfg, "frontend"), exporterResources(cfg, "nginx-exporter")],
            initContainers: [frontendBuildResources(cfg)],
        },
        { workload: "backend", pods: app("backend"), containers: [resourcesFor(cfg, "backend")] },
        { workload: "worker", pods: app("worker"), containers: [resourcesFor(cfg, "worker")] },
        // StatefulSet rolling updates replace one pod at a time: never more than `replicas`.
        ...(opts.ownDatabase
            ? [
                  {
                      workload: "postgres",
                      pods: 1,
                      containers: [resourcesFor(cfg, "postgres"), exporterResources(cfg, "postgres-exporter")],
                  },
              ]
            : []),
        // Recreate strategy: one pod.
        ...(opts.ownRedis
            ? [
                  {
                      workload: "redis",
                      pods: 1,
                      containers: [resourcesFor(cfg, "redis"), exporterResources(cfg, "redis-exporter")],
                  },
              ]
            : []),
        // A migration, the role provisioning and a backup may run at the same time (CronJob
        // concurrencyPolicy Forbid: one backup); the last two only on the shop's own PostgreSQL.
        { workload: "db-migrate", pods: 1, containers: [resourcesFor(cfg, "db-migrate")] },
        ...(opts.ownDatabase
            ? [
                  { workload: "postgres-roles", pods: 1, containers: [resourcesFor(cfg, "db-migrate")] },
                  { workload: "db-backup", pods: 1, containers: [resourcesFor(cfg, "db-backup")] },
              ]
            : []),
    ];
}

/** PersistentVolumeClaims the shop namespace holds: PostgreSQL data and backups (own database), Redis data (optional). */
export function shopClaims(
    cfg: PlatformConfig,
    ownRedis: boolean,
    ownDatabase = true,
): Pick<QuotaExtras, "persistentVolumeClaims" | "storage"> {
    const sizes = [
        ...(ownDatabase ? [cfg.shop.postgres.storage, cfg.shop.postgres.backupStorage] : []),
        ...(ownRedis && cfg.shop.redis.storage ? [cfg.shop.redis.storage] : []),
    ];
    return { persistentVolumeClaims: sizes.length, storage: sizes.reduce((a, s) => a + parseQuantity(s), 0) };
}

/** Memory Redis may use for data: 80% of its container limit, leaving room for the process itself. */
export function redisMaxMemoryMb(r: Resources): number {
    return Math.max(16, Math.floor((parseQuantity(r.limits.memory) * 0.8) / 2 ** 20));
}
