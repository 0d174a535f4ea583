// Run-to-completion work on the shop database. In every tier: the schema migration (a Job per
// version of the SQL the program ships), as the migration role, against the read-write endpoint of
// whichever engine serves the database. On the shop's own PostgreSQL (dev) also: the role
// provisioning Job (what the operator's managed roles do in the regions) and the daily backup (a
// CronJob writing pg_dump archives to the backup volume; the regions archive WAL instead).
import * as crypto from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { input } from "@pulumi/kubernetes/types";
import { resourcesFor } from "../../config";
import { container, podSpec } from "../defaults";
import { migrationJobName, migrationScripts, NAMES, PART_OF, PAYMENT_DATABASE, UIDS } from "./plan";
import type { DatabaseEndpoint, StackContext } from "../contracts";
import type { FlowTable } from "../flows";
import { appLabels, selectorLabels } from "../labels";
import { networkPolicy } from "../network";

/** Lets an injected Istio sidecar run as a native sidecar, so it never keeps a Job's pod alive. */
export const JOB_POD_ANNOTATIONS = { "sidecar.istio.io/nativeSidecar": "true" };

/** Creates what the operator's managed roles and Database resources declare in the regions. */
export interface RoleProvisioning {
    /** Secret (username, password) of the server's superuser. */
    superuser: k8s.core.v1.Secret;
    /** Secret of the payment service's login, when its ledger lives here. */
    payment?: k8s.core.v1.Secret;
    /** Every password the Job sets (Pulumi secrets): a new one means a new Job, which applies it. */
    passwords: pulumi.Output<string>[];
    /** The server: the Job runs once it is up. */
    server: pulumi.Resource;
}

export interface DatabaseJobsArgs {
    ctx: StackContext;
    namespace: pulumi.Input<string>;
    /** The shop's database, whichever engine serves it. */
    endpoint: DatabaseEndpoint;
    /** Secret (username, password) of the migration role: owner of the schema. */
    migrationLogin: k8s.core.v1.Secret;
    /** Secret (username, password) of the app role: the migration grants it read and write on the rows. */
    appLogin: k8s.core.v1.Secret;
    /** The shop's own PostgreSQL (dev): provision its roles, and dump it daily onto this claim. */
    ownServer?: { roles: RoleProvisioning; backupClaim: k8s.core.v1.PersistentVolumeClaim };
    /** Who calls whom: the jobs' NetworkPolicies (to the database only) come from it. */
    flows: FlowTable;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Role provisioning on the shop's own PostgreSQL, as its superuser, idempotent: each role logs in
 * and can do nothing else (no superuser, no role or database creation); the shop's database is
 * owned by the migration role, payment's by payment; nobody else may connect to either.
 * Role names and passwords come from the environment (Secrets), never from the script.
 */
export function roleProvisioningScript(payment: boolean): string {
    const role = (v: string) => [
        `SELECT format('CREATE ROLE %I', :'${v}_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'${v}_user')\\gexec`,
        `SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD %L', :'${v}_user', :'${v}_pw')\\gexec`,
    ];
    const vars = (v: string, env: string) => `-v ${v}_user="$${env}_USER" -v ${v}_pw="$${env}_PASSWORD"`;
    return [
        "set -eu",
        'until pg_isready -q; do echo "waiting for $PGHOST"; sleep 2; done',
        `psql -v ON_ERROR_STOP=1 --no-psqlrc ${vars("migrate", "MIGRATE_DB")} ${vars("app", "APP_DB")}${payment ? ` ${vars("payment", "PAYMENT_DB")} -v payment_db=${PAYMENT_DATABASE.name}` : ""} -v shop_db="$SHOP_DB_NAME" <<'SQL'`,
        ...role("migrate"),
        ...role("app"),
        ...(payment ? role("payment") : []),
        "SELECT format('ALTER DATABASE %I OWNER TO %I', :'shop_db', :'migrate_user')\\gexec",
        "SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'shop_db')\\gexec",
        ...(payment
            ? [
                  "SELECT format('CREATE DATABASE %I OWNER %I', :'payment_db', :'payment_user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'payment_db')\\gexec",
                  "SELECT format('ALTER DATABASE %I OWNER TO %I', :'payment_db', :'payment_user')\\gexec",
                  "SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'payment_db')\\gexec",
              ]
            : []),
        "SQL",
        'echo "roles and databases in place"',
    ].join("\n");
}

/**
 * ConfigMap `db-schema` (sql/*.sql), Job `db-migrate-<sha8 of the SQL>`; on the shop's own
 * PostgreSQL also Job `postgres-roles-<generation>` and CronJob `postgres-backup`. Each job has its
 * own ServiceAccount (no API token) and a NetworkPolicy that lets it reach PostgreSQL only.
 */
export class DatabaseJobs extends pulumi.ComponentResource {
    public readonly migration: k8s.batch.v1.Job;
    public readonly backup?: k8s.batch.v1.CronJob;
    public readonly roles?: k8s.batch.v1.Job;
    /** Pod labels of the jobs, for the database's ingress rule. */
    public static readonly clientSelectors = [
        selectorLabels(NAMES.migrate),
        selectorLabels(NAMES.backup),
        selectorLabels(NAMES.roles),
    ];

    constructor(name: string, args: DatabaseJobsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:DatabaseJobs", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const o = { parent: this, provider };
        const ep = args.endpoint;

        const secretEnv = (envName: string, secret: k8s.core.v1.Secret, key: string): input.core.v1.EnvVar => ({
            name: envName,
            valueFrom: { secretKeyRef: { name: secret.metadata.name, key } },
        });
        /** libpq's environment: the read-write endpoint, as `login`. */
        const libpqEnv = (login: k8s.core.v1.Secret, database = ep.database): input.core.v1.EnvVar[] => [
            { name: "PGHOST", value: ep.host },
            { name: "PGPORT", value: String(ep.port) },
            { name: "PGDATABASE", value: database },
            { name: "PGSSLMODE", value: ep.sslMode },
            secretEnv("PGUSER", login, "username"),
            secretEnv("PGPASSWORD", login, "password"),
            { name: "HOME", value: "/tmp" },
        ];
        const serviceAccount = (id: string, workload: string, labels: Record<string, string>) =>
            new k8s.core.v1.ServiceAccount(
                `${name}-${id}-sa`,
                {
                    metadata: { name: workload, namespace: args.namespace, labels },
                    automountServiceAccountToken: false,
                },
                o,
            );
        // Each job reaches the database and nothing else (the flow table).
        const toDatabaseOnly = (id: string, workload: string, labels: Record<string, string>) => {
            const party = args.flows.of(cfg.shop.namespace, workload);
            return networkPolicy(
                `${name}-${id}-netpol`,
                {
                    namespace: args.namespace,
                    name: workload,
                    labels,
                    podSelector: party.pods,
                    ingress: args.flows.ingress(party),
                    egress: args.flows.egress(party),
                },
                o,
            );
        };
        const jobPod = (
            workload: string,
            labels: Record<string, string>,
            c: input.core.v1.Container,
            volumes: input.core.v1.Volume[],
        ) => ({
            metadata: { labels, annotations: JOB_POD_ANNOTATIONS },
            spec: podSpec(cfg, {
                serviceAccountName: workload,
                runAsUser: UIDS.postgres,
                restartPolicy: "Never",
                containers: [c],
                volumes,
            }),
        });
        const tmp: input.core.v1.Volume = { name: "tmp", emptyDir: { sizeLimit: "16Mi" } };

        // ---- Roles (own server only): re-run whenever a password changes (a new generation, no
        // relation to the passwords themselves, names the Job).
        const own = args.ownServer;
        if (own) {
            const labels = appLabels(NAMES.roles, PART_OF, "provisioning");
            const sa = serviceAccount("roles", NAMES.roles, labels);
            toDatabaseOnly("roles", NAMES.roles, labels);
            const generation = new random.RandomId(
                `${name}-roles-generation`,
                {
                    byteLength: 4,
                    keepers: {
                        passwords: pulumi.secret(
                            pulumi
                                .all(own.roles.passwords)
                                .apply((pws) => crypto.createHash("sha256").update(pws.join("\0")).digest("hex")),
                        ),
                    },
                },
                { parent: this },
            );
            const env: input.core.v1.EnvVar[] = [
                // The superuser's own database: provisioning changes who may connect to the shop's.
                ...libpqEnv(own.roles.superuser, "postgres"),
                { name: "SHOP_DB_NAME", value: ep.database },
                secretEnv("MIGRATE_DB_USER", args.migrationLogin, "username"),
                secretEnv("MIGRATE_DB_PASSWORD", args.migrationLogin, "password"),
                secretEnv("APP_DB_USER", args.appLogin, "username"),
                secretEnv("APP_DB_PASSWORD", args.appLogin, "password"),
                ...(own.roles.payment
                    ? [
                          secretEnv("PAYMENT_DB_USER", own.roles.payment, "username"),
                          secretEnv("PAYMENT_DB_PASSWORD", own.roles.payment, "password"),
                      ]
                    : []),
            ];
            this.roles = new k8s.batch.v1.Job(
                `${name}-roles`,
                {
                    metadata: {
                        name: pulumi.interpolate`${NAMES.roles}-${generation.hex}`,
                        namespace: args.namespace,
                        labels,
                    },
                    spec: {
                        backoffLimit: 4,
                        activeDeadlineSeconds: 900,
                        template: jobPod(
                            NAMES.roles,
                            labels,
                            container({
                                name: "roles",
                                image: cfg.images.postgres,
                                command: ["sh", "-c", roleProvisioningScript(!!own.roles.payment)],
                                env,
                                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                                resources: resourcesFor(cfg, "db-migrate"),
                            }),
                            [tmp],
                        ),
                    },
                },
                {
                    ...o,
                    dependsOn: [
                        own.roles.server,
                        sa,
                        own.roles.superuser,
                        args.migrationLogin,
                        args.appLogin,
                        ...(own.roles.payment ? [own.roles.payment] : []),
                        ...(args.dependsOn ?? []),
                    ],
                },
            );
        }

        // ---- Migration: a new Job whenever the SQL changes (its name carries the SQL's digest).
        const { files, digest } = migrationScripts();
        const migrateLabels = appLabels(NAMES.migrate, PART_OF, "migration");
        const schema = new k8s.core.v1.ConfigMap(
            `${name}-schema`,
            {
                metadata: {
                    name: NAMES.dbSchema,
                    namespace: args.namespace,
                    labels: migrateLabels,
                    annotations: { "warung-kopi.io/sql-digest": digest },
                },
                data: files,
            },
            o,
        );
        const migrateSa = serviceAccount("migrate", NAMES.migrate, migrateLabels);
        toDatabaseOnly("migrate", NAMES.migrate, migrateLabels);
        // As the migration role (owner of the schema); the SQL grants the app role its rows (psql variable app_role).
        const migrate = [
            "set -eu",
            'until pg_isready -q; do echo "waiting for $PGHOST"; sleep 2; done',
            "for f in /migrations/*.sql; do",
            '  echo "applying $f"',
            '  psql -v ON_ERROR_STOP=1 --single-transaction --no-psqlrc -v app_role="$APP_DB_USER" -f "$f"',
            "done",
        ].join("\n");
        this.migration = new k8s.batch.v1.Job(
            `${name}-migrate`,
            {
                metadata: {
                    name: migrationJobName(digest),
                    namespace: args.namespace,
                    labels: { ...migrateLabels, "warung-kopi.io/sql-digest": digest },
                },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 900,
                    template: jobPod(
                        NAMES.migrate,
                        migrateLabels,
                        container({
                            name: "migrate",
                            image: cfg.images.postgres,
                            command: ["sh", "-c", migrate],
                            env: [
                                ...libpqEnv(args.migrationLogin),
                                secretEnv("APP_DB_USER", args.appLogin, "username"),
                            ],
                            volumeMounts: [
                                { name: "schema", mountPath: "/migrations", readOnly: true },
                                { name: "tmp", mountPath: "/tmp" },
                            ],
                            resources: resourcesFor(cfg, "db-migrate"),
                        }),
                        [{ name: "schema", configMap: { name: schema.metadata.name } }, tmp],
                    ),
                },
            },
            {
                ...o,
                dependsOn: [
                    ...ep.ready,
                    ...(this.roles ? [this.roles] : []),
                    schema,
                    migrateSa,
                    args.migrationLogin,
                    args.appLogin,
                    ...(args.dependsOn ?? []),
                ],
            },
        );

        // ---- Backup (own server only): daily pg_dump (custom format) onto the backup volume, with a retention window.
        if (own) {
            const backupLabels = appLabels(NAMES.backup, PART_OF, "backup");
            const backupSa = serviceAccount("backup", NAMES.backup, backupLabels);
            toDatabaseOnly("backup", NAMES.backup, backupLabels);
            const backup = [
                "set -eu",
                'stamp="$(date -u +%Y%m%dT%H%M%SZ)"',
                'target="/backups/${PGDATABASE}-${stamp}.dump"',
                'pg_dump --format=custom --no-owner --file="${target}.partial"',
                'mv "${target}.partial" "${target}"',
                'find /backups -maxdepth 1 -name "${PGDATABASE}-*.dump" -mtime "+${RETENTION_DAYS}" -print -delete',
                'echo "wrote ${target}"',
            ].join("\n");
            this.backup = new k8s.batch.v1.CronJob(
                `${name}-backup`,
                {
                    metadata: { name: NAMES.backup, namespace: args.namespace, labels: backupLabels },
                    spec: {
                        schedule: cfg.shop.postgres.backupSchedule,
                        timeZone: "Etc/UTC",
                        concurrencyPolicy: "Forbid",
                        startingDeadlineSeconds: 3600,
                        successfulJobsHistoryLimit: 3,
                        failedJobsHistoryLimit: 3,
                        jobTemplate: {
                            metadata: { labels: backupLabels },
                            spec: {
                                backoffLimit: 2,
                                activeDeadlineSeconds: 3600,
                                template: jobPod(
                                    NAMES.backup,
                                    backupLabels,
                                    container({
                                        name: "backup",
                                        image: cfg.images.postgres,
                                        command: ["sh", "-c", backup],
                                        // The owner of every object dumps them (no superuser needed).
                                        env: [
                                            ...libpqEnv(args.migrationLogin),
                                            { name: "RETENTION_DAYS", value: cfg.tier === "production" ? "30" : "7" },
                                        ],
                                        volumeMounts: [
                                            { name: "backups", mountPath: "/backups" },
                                            { name: "tmp", mountPath: "/tmp" },
                                        ],
                                        resources: resourcesFor(cfg, "db-backup"),
                                    }),
                                    [
                                        {
                                            name: "backups",
                                            persistentVolumeClaim: { claimName: own.backupClaim.metadata.name },
                                        },
                                        tmp,
                                    ],
                                ),
                            },
                        },
                    },
                },
                { ...o, dependsOn: [backupSa, ...(args.dependsOn ?? [])] },
            );
        }

        this.registerOutputs({ migration: this.migration.metadata.name });
    }
}
