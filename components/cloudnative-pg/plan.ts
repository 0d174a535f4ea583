// PostgreSQL on CloudNativePG as data: the Cluster, its ObjectStore (Barman Cloud plugin), the
// scheduled base backups, the declared databases and roles, the point-in-time restore, the alert
// rules and the charts' values. Pure functions (no Pulumi resources): tests and the restore script
// build exactly what the program sends.
//
// Facts used (operator 1.30 / chart cloudnative-pg 0.29.0, plugin v0.13.0 / chart plugin-barman-cloud
// 0.7.0): instance pods carry `cnpg.io/cluster: <cluster>` and `cnpg.io/podRole: instance`; Services
// `<cluster>-rw` (primary) and `<cluster>-ro` (hot standbys); the instance manager's status port 8000
// (the operator calls it) and metrics port 9187 (container port `metrics`); pg_hba lines from
// `postgresql.pg_hba` come after the operator's fixed rules (local peer, streaming_replica by
// certificate) and before its fallback `host all all all scram-sha-256`; base backups and WAL go
// through the plugin named barman-cloud.cloudnative-pg.io, configured by an ObjectStore.
import { CHART_PODS } from "../chart-pods";
import { type PlatformConfig, objectStoreProvider, resourcesFor } from "../../config";
import { parseQuantity } from "../../config/quantity";
import type { RuleGroup } from "../contracts";
import { databaseScheduling, POSTGRES_PORT } from "../database";
import { resourceRequirements, zoneSpread } from "../defaults";
import { serviceFqdn } from "../hosts";
import { DATABASES, NAMESPACES } from "../names";
import { quotaFor } from "../quota";

export const NAMESPACE = NAMESPACES.databases;
export const OPERATOR_NAMESPACE = NAMESPACES.cnpgSystem;
/** The Cluster: Services postgres-rw / postgres-ro, pods postgres-1..n, runbooks `kubectl cnpg status postgres -n databases`. */
export const CLUSTER = "postgres";
export const OBJECT_STORE = "postgres-backups";
export const SCHEDULED_BACKUP = "postgres-daily";
export const PLUGIN = "barman-cloud.cloudnative-pg.io";
export const API_VERSION = "postgresql.cnpg.io/v1";
export const OBJECT_STORE_API_VERSION = "barmancloud.cnpg.io/v1";

export const PORTS = {
    postgres: POSTGRES_PORT,
    /** Instance manager status endpoint (HTTPS), called by the operator. */
    status: 8000,
    /** Instance manager Prometheus exporter (container port `metrics`). */
    metrics: 9187,
    /** Operator admission webhooks (chart webhook.port), called by the API server. */
    webhook: 9443,
    /** Operator metrics (container port `metrics`). */
    operatorMetrics: 8080,
    /** Barman Cloud plugin gRPC (mTLS), called by the operator. */
    plugin: 9090,
} as const;

/** The labels the operator gives the database instances of the Cluster `name`. */
const instancesOf = (name: string) => ({ "cnpg.io/cluster": name, "cnpg.io/podRole": "instance" });

/** Pod labels: the instances (and the operator's bootstrap/join Jobs) of the Cluster, the operator, the plugin. */
export const LABELS = {
    cluster: { "cnpg.io/cluster": CLUSTER },
    instances: instancesOf(CLUSTER),
    operator: CHART_PODS.cnpgOperator.selector,
    plugin: CHART_PODS.barmanCloudPlugin.selector,
} as const;

/** Secrets (kubernetes.io/basic-auth, in the Cluster's namespace) the managed roles take their passwords from. */
export const ROLE_SECRETS = {
    migration: "postgres-role-kopi-migrate",
    app: "postgres-role-kopi-app",
    payment: "postgres-role-payment",
} as const;
/** Object store credentials when workload identity is not used (config backupCredentials). */
export const BACKUP_CREDENTIALS_SECRET = "postgres-backup-credentials";

export const HOSTS = {
    readWrite: serviceFqdn(`${CLUSTER}-rw`, NAMESPACE),
    readOnly: serviceFqdn(`${CLUSTER}-ro`, NAMESPACE),
} as const;

/** A managed role: logs in with the password of its Secret, and nothing more (no superuser, no role or database creation). */
export function managedRole(name: string, secret: string): Record<string, unknown> {
    return {
        name,
        ensure: "present",
        login: true,
        superuser: false,
        createdb: false,
        createrole: false,
        replication: false,
        bypassrls: false,
        inherit: true,
        passwordSecret: { name: secret },
    };
}

/** The roles the Cluster declares (payment's only when the core services keep their history here). */
export function managedRoles(payment: boolean): Record<string, unknown>[] {
    const { shop } = DATABASES;
    return [
        managedRole(shop.roles.migration, ROLE_SECRETS.migration),
        managedRole(shop.roles.app, ROLE_SECRETS.app),
        ...(payment ? [managedRole(DATABASES.payment.roles.owner, ROLE_SECRETS.payment)] : []),
    ];
}

/**
 * Client authentication, after the operator's fixed rules: each database admits only its own roles,
 * over TLS; any other login to it is rejected (payment never reaches the shop's rows, the shop's
 * roles never reach payment's ledger), whatever grants a later change might add.
 */
export function pgHba(payment: boolean): string[] {
    const { shop } = DATABASES;
    const own = [
        `hostssl ${shop.name} ${shop.roles.app},${shop.roles.migration} all scram-sha-256`,
        ...(payment ? [`hostssl ${DATABASES.payment.name} ${DATABASES.payment.roles.owner} all scram-sha-256`] : []),
    ];
    const databases = [shop.name, ...(payment ? [DATABASES.payment.name] : [])].join(",");
    return [...own, `host ${databases} all all reject`];
}

/** Placement: never two instances on one node; spread over zones (DoNotSchedule) where the stack spreads. */
function placement(cfg: PlatformConfig): Record<string, unknown> {
    // Plain values (the builder returns no outputs), typed as Kubernetes inputs.
    const s = databaseScheduling(cfg) as {
        nodeSelector?: Record<string, string>;
        affinity?: { nodeAffinity?: unknown };
    };
    const nodeAffinity = s.affinity?.nodeAffinity;
    return {
        affinity: {
            enablePodAntiAffinity: true,
            topologyKey: "kubernetes.io/hostname",
            podAntiAffinityType: "required",
            ...(s.nodeSelector ? { nodeSelector: { ...s.nodeSelector } } : {}),
            ...(cfg.scheduling.tolerations.length > 0
                ? { tolerations: cfg.scheduling.tolerations.map((t) => ({ ...t })) }
                : {}),
            ...(nodeAffinity ? { nodeAffinity: JSON.parse(JSON.stringify(nodeAffinity)) as unknown } : {}),
        },
        ...zoneSpread(cfg, LABELS.instances, "DoNotSchedule"),
    };
}

/** The plugin entry of a Cluster: archives WAL and takes base backups into the ObjectStore (under `serverName`). */
export function backupPlugin(serverName = CLUSTER): Record<string, unknown> {
    return {
        name: PLUGIN,
        isWALArchiver: true,
        parameters: { barmanObjectName: OBJECT_STORE, ...(serverName === CLUSTER ? {} : { serverName }) },
    };
}

/** Everything a Cluster of this stack has, whatever it bootstraps from. */
function clusterBase(cfg: PlatformConfig, storageClass: string, payment: boolean): Record<string, unknown> {
    const p = cfg.cloudNativePg;
    const wi = p.backup.workloadIdentity;
    return {
        instances: p.instances,
        imageName: cfg.images.postgresCluster,
        // Applications never get the superuser: the operator keeps it to itself (local socket only).
        enableSuperuserAccess: false,
        // The operator's PodDisruptionBudgets: a drain never takes the primary and a standby at once.
        enablePDB: true,
        // Rolling updates move the primary by switchover (seconds of read-only), never by restarting it.
        primaryUpdateStrategy: "unsupervised",
        primaryUpdateMethod: "switchover",
        postgresql: {
            // A commit returns once a standby in another zone has it too.
            ...(p.synchronousStandbys > 0
                ? { synchronous: { method: "any", number: p.synchronousStandbys, dataDurability: "required" } }
                : {}),
            pg_hba: pgHba(payment),
        },
        managed: { roles: managedRoles(payment) },
        storage: { storageClass, size: p.storage },
        walStorage: { storageClass, size: p.walStorage },
        resources: resourceRequirements(resourcesFor(cfg, "postgres-instance")),
        ...placement(cfg),
        plugins: [backupPlugin()],
        ...(wi && Object.keys(wi.annotations).length > 0
            ? { serviceAccountTemplate: { metadata: { annotations: { ...wi.annotations } } } }
            : {}),
        ...(wi && Object.keys(wi.podLabels).length > 0 ? { inheritedMetadata: { labels: { ...wi.podLabels } } } : {}),
    };
}

/** The Cluster spec: a new cluster creates the shop's database, owned by the migration role. */
export function clusterSpec(cfg: PlatformConfig, storageClass: string, payment: boolean): Record<string, unknown> {
    const { shop } = DATABASES;
    return {
        ...clusterBase(cfg, storageClass, payment),
        bootstrap: {
            initdb: {
                database: shop.name,
                owner: shop.roles.migration,
                secret: { name: ROLE_SECRETS.migration },
                dataChecksums: true,
            },
        },
    };
}

/** Payment's ledger: a database of its own, owned by its role; kept when the resource goes away. */
export function paymentDatabaseSpec(): Record<string, unknown> {
    const { payment } = DATABASES;
    return {
        cluster: { name: CLUSTER },
        name: payment.name,
        owner: payment.roles.owner,
        ensure: "present",
        databaseReclaimPolicy: "retain",
    };
}

/** How the backup sidecar authenticates to the store: workload identity, or the credentials Secret. */
function storeCredentials(cfg: PlatformConfig, destinationPath: string): Record<string, unknown> {
    const provider = objectStoreProvider(destinationPath);
    const identity = !!cfg.cloudNativePg.backup.workloadIdentity;
    const ref = (key: string) => ({ name: BACKUP_CREDENTIALS_SECRET, key });
    switch (provider) {
        case "s3":
            return {
                s3Credentials: identity
                    ? { inheritFromIAMRole: true }
                    : { accessKeyId: ref("accessKeyId"), secretAccessKey: ref("secretAccessKey") },
            };
        case "google":
            return {
                googleCredentials: identity
                    ? { gkeEnvironment: true }
                    : { applicationCredentials: ref("applicationCredentials") },
            };
        case "azure":
            return {
                azureCredentials: identity
                    ? { useDefaultAzureCredentials: true }
                    : { storageAccount: ref("storageAccount"), storageKey: ref("storageKey") },
            };
    }
}

/** The ObjectStore: where WAL and base backups go, how long they stay (the plugin enforces the retention). */
export function objectStoreSpec(cfg: PlatformConfig): Record<string, unknown> {
    const b = cfg.cloudNativePg.backup;
    const destinationPath = b.destinationPath ?? "";
    return {
        retentionPolicy: b.retention,
        configuration: {
            destinationPath,
            ...(b.endpointURL ? { endpointURL: b.endpointURL } : {}),
            ...storeCredentials(cfg, destinationPath),
            wal: { compression: "gzip", maxParallel: 4 },
            data: { compression: "gzip", jobs: 2 },
        },
        instanceSidecarConfiguration: {
            resources: resourceRequirements(resourcesFor(cfg, "barman-cloud-sidecar")),
            ...(b.region ? { env: [{ name: "AWS_DEFAULT_REGION", value: b.region }] } : {}),
        },
    };
}

/** Daily base backups through the plugin, taken on a standby where one is healthy. */
export function scheduledBackupSpec(cfg: PlatformConfig): Record<string, unknown> {
    return {
        cluster: { name: CLUSTER },
        schedule: cfg.cloudNativePg.backup.schedule,
        method: "plugin",
        pluginConfiguration: { name: PLUGIN },
        // A first base backup right away: point-in-time recovery starts from one.
        immediate: true,
        backupOwnerReference: "self",
        target: "prefer-standby",
    };
}

export interface RestoreArgs {
    /** Name of the new Cluster, e.g. postgres-restore-20261201. */
    name: string;
    /** Recover up to this moment (RFC 3339, e.g. 2026-12-01T09:55:00Z); omitted = the end of the WAL archive. */
    targetTime?: string;
    /** The archive to recover from: the server name the damaged cluster archives under (default the live Cluster). */
    sourceServerName?: string;
}

/**
 * Point-in-time recovery: a NEW Cluster (the live one is never touched) bootstrapped from the base
 * backup before `targetTime` plus the archived WAL up to it. It archives its own WAL under its own
 * name in the same store (an archive must not be written by two clusters).
 */
export function restoreCluster(
    cfg: PlatformConfig,
    storageClass: string,
    payment: boolean,
    r: RestoreArgs,
): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> } {
    const { shop } = DATABASES;
    return {
        apiVersion: API_VERSION,
        kind: "Cluster",
        metadata: { name: r.name, namespace: NAMESPACE },
        spec: {
            ...clusterBase(cfg, storageClass, payment),
            ...zoneSpread(cfg, instancesOf(r.name), "DoNotSchedule"),
            plugins: [backupPlugin(r.name)],
            bootstrap: {
                recovery: {
                    source: "origin",
                    database: shop.name,
                    owner: shop.roles.migration,
                    secret: { name: ROLE_SECRETS.migration },
                    ...(r.targetTime ? { recoveryTarget: { targetTime: r.targetTime } } : {}),
                },
            },
            externalClusters: [
                {
                    name: "origin",
                    plugin: {
                        name: PLUGIN,
                        parameters: { barmanObjectName: OBJECT_STORE, serverName: r.sourceServerName ?? CLUSTER },
                    },
                },
            ],
        },
    };
}

/** Alerts on the Cluster: replication lag, a failover, a missing primary or standby, WAL archiving and backup age. */
export function clusterAlerts(cfg: PlatformConfig, backupMaxAgeHours = 26): RuleGroup {
    const sel = `namespace="${NAMESPACE}", pod=~"${CLUSTER}-[0-9]+"`;
    const standbys = cfg.cloudNativePg.instances - 1;
    return {
        name: "postgres.cloudnative-pg",
        rules: [
            {
                alert: "PostgresReplicationLagHigh",
                expr: `max by (pod) (cnpg_pg_replication_lag{${sel}}) > 30`,
                for: "5m",
                labels: { severity: "warning" },
                annotations: {
                    summary: "A PostgreSQL standby lags behind the primary",
                    description:
                        "{{ $labels.pod }} replays WAL more than 30 s behind the primary: a failover to it would lose nothing (synchronous commit) but reads from postgres-ro are stale.",
                },
            },
            {
                alert: "PostgresFailover",
                expr: `max(changes(cnpg_pg_replication_in_recovery{${sel}}[10m])) > 0`,
                labels: { severity: "warning" },
                annotations: {
                    summary: "The PostgreSQL primary moved (failover or switchover)",
                    description:
                        "An instance of cluster postgres changed between primary and standby in the last 10 minutes: check `kubectl cnpg status postgres -n databases` and why the old primary went away.",
                },
            },
            {
                alert: "PostgresPrimaryMissing",
                expr: `count(cnpg_pg_replication_in_recovery{${sel}} == 0) != 1`,
                for: "2m",
                labels: { severity: "critical" },
                annotations: {
                    summary: "PostgreSQL has no single primary",
                    description:
                        "Cluster postgres has no (or more than one) instance accepting writes: payments and orders fail.",
                },
            },
            {
                alert: "PostgresStandbysMissing",
                expr: `max(cnpg_pg_replication_streaming_replicas{${sel}}) < ${standbys}`,
                for: "10m",
                labels: { severity: "warning" },
                annotations: {
                    summary: "Fewer PostgreSQL standbys stream than the cluster declares",
                    description: `The primary streams to fewer than ${standbys} standbys: one more failure blocks writes (synchronous commit) or loses the zone spread.`,
                },
            },
            {
                alert: "PostgresWalArchivingStalled",
                expr: `max(cnpg_pg_stat_archiver_seconds_since_last_archival{${sel}}) > 900 or max(increase(cnpg_pg_stat_archiver_failed_count{${sel}}[15m])) > 0`,
                for: "10m",
                labels: { severity: "critical" },
                annotations: {
                    summary: "PostgreSQL WAL archiving fails or stalls",
                    description:
                        "No WAL reached the object store for 15 minutes (or archiving failed): point-in-time recovery cannot reach the present, and WAL accumulates on the primary's volume.",
                },
            },
            {
                alert: "PostgresBackupTooOld",
                expr: `(time() - max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${sel}})) > ${backupMaxAgeHours * 3600} or absent(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{${sel}})`,
                for: "30m",
                labels: { severity: "critical" },
                annotations: {
                    summary: "The newest PostgreSQL base backup is too old",
                    description: `No base backup newer than ${backupMaxAgeHours} h is in the object store: a restore would replay a day or more of WAL, or find no base backup at all.`,
                },
            },
        ],
    };
}

/** The operator chart's values: the stack's placement and sizes, webhooks on, two replicas (leader election) outside dev. */
export function operatorValues(cfg: PlatformConfig): Record<string, unknown> {
    return {
        replicaCount: cfg.tier === "dev" ? 1 : 2,
        resources: resourceRequirements(resourcesFor(cfg, "cnpg-operator")),
        nodeSelector: { ...cfg.scheduling.nodeSelector },
        tolerations: cfg.scheduling.tolerations.map((t) => ({ ...t })),
        // The operator's PodMonitor is ours (after the monitoring CRDs): the release waits for nothing of monitoring's.
        monitoring: { podMonitorEnabled: false },
    };
}

/** The plugin chart's values: placement and size; its certificates come from cert-manager (its own self-signed issuer). */
export function pluginValues(cfg: PlatformConfig): Record<string, unknown> {
    return {
        resources: resourceRequirements(resourcesFor(cfg, "barman-cloud-plugin")),
        nodeSelector: { ...cfg.scheduling.nodeSelector },
        tolerations: cfg.scheduling.tolerations.map((t) => ({ ...t })),
    };
}

/**
 * The databases namespace's quota: the Cluster's instances (PostgreSQL and the backup sidecar in each),
 * the operator's bootstrap or join Job beside them, and as much again for the runbook's restore, which
 * builds a second Cluster of the same size next to the live one; their data and WAL volumes; no load
 * balancer or node port.
 */
export function databasesQuota(cfg: PlatformConfig): Record<string, string> {
    const p = cfg.cloudNativePg;
    const instance = resourcesFor(cfg, "postgres-instance");
    const clusters = 2;
    return quotaFor(
        [
            {
                workload: "postgres-instance",
                pods: clusters * p.instances + 1,
                containers: [instance, resourcesFor(cfg, "barman-cloud-sidecar")],
                // The instance manager's bootstrap init container runs with the instance's resources.
                initContainers: [instance],
            },
        ],
        {
            persistentVolumeClaims: clusters * p.instances * 2,
            storage: clusters * p.instances * (parseQuantity(p.storage) + parseQuantity(p.walStorage)),
            loadBalancers: 0,
            nodePorts: 0,
        },
    );
}
