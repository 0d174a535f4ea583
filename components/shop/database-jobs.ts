// Run-to-completion work on the shop database: the schema migration (a Job per version of the SQL
// the program ships) and the daily backup (a CronJob writing pg_dump archives to the backup volume).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { input } from "@pulumi/kubernetes/types";
import { resourcesFor } from "../../config";
import { container, podSpec } from "../defaults";
import { migrationJobName, migrationScripts, NAMES, PART_OF, PAYMENT_DATABASE, PORTS, serviceHost, UIDS } from "./plan";
import type { StackContext } from "../contracts";
import { appLabels, selectorLabels } from "../labels";

/** Lets an injected Istio sidecar run as a native sidecar, so it never keeps a Job's pod alive. */
export const JOB_POD_ANNOTATIONS = { "sidecar.istio.io/nativeSidecar": "true" };

export interface DatabaseJobsArgs {
    ctx: StackContext;
    namespace: pulumi.Input<string>;
    /** Secret with keys username and password. */
    credentials: k8s.core.v1.Secret;
    /** ConfigMap with key DATABASE_NAME. */
    config: k8s.core.v1.ConfigMap;
    /** The database: the migration runs once it is ready. */
    database: pulumi.Resource;
    /** Labels selecting the database pods (NetworkPolicy egress). */
    databaseSelector: Record<string, string>;
    backupClaim: k8s.core.v1.PersistentVolumeClaim;
    /** Secret (username, password) of the payment service's login: the migration creates its role and database. */
    paymentLogin?: k8s.core.v1.Secret;
    /** The password in `paymentLogin` (a Pulumi secret): a new password means a new migration Job, which sets it. */
    paymentPassword?: pulumi.Output<string>;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * ConfigMap `db-schema` (sql/*.sql), Job `db-migrate-<sha8 of the SQL>[-<sha8 of the payment
 * login's password>]`, CronJob `postgres-backup`,
 * each job with its own ServiceAccount (no API token) and a NetworkPolicy that lets it reach
 * PostgreSQL only.
 */
export class DatabaseJobs extends pulumi.ComponentResource {
    public readonly migration: k8s.batch.v1.Job;
    public readonly backup: k8s.batch.v1.CronJob;
    /** Pod labels of the two jobs, for the database's ingress rule. */
    public static readonly clientSelectors = [selectorLabels(NAMES.migrate), selectorLabels(NAMES.backup)];

    constructor(name: string, args: DatabaseJobsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:DatabaseJobs", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const o = { parent: this, provider };

        const secretKey = (key: string) => ({ secretKeyRef: { name: args.credentials.metadata.name, key } });
        const libpqEnv: input.core.v1.EnvVar[] = [
            { name: "PGHOST", value: serviceHost(cfg, NAMES.postgres) },
            { name: "PGPORT", value: String(PORTS.postgres) },
            {
                name: "PGDATABASE",
                valueFrom: { configMapKeyRef: { name: args.config.metadata.name, key: "DATABASE_NAME" } },
            },
            { name: "PGUSER", valueFrom: secretKey("username") },
            { name: "PGPASSWORD", valueFrom: secretKey("password") },
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
        const toDatabaseOnly = (id: string, workload: string, labels: Record<string, string>) =>
            new k8s.networking.v1.NetworkPolicy(
                `${name}-${id}-netpol`,
                {
                    metadata: { name: workload, namespace: args.namespace, labels },
                    spec: {
                        podSelector: { matchLabels: selectorLabels(workload) },
                        policyTypes: ["Ingress", "Egress"],
                        egress: [
                            {
                                to: [{ podSelector: { matchLabels: args.databaseSelector } }],
                                ports: [{ protocol: "TCP", port: PORTS.postgres }],
                            },
                        ],
                    },
                },
                o,
            );

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
        const migrate = [
            "set -eu",
            'until pg_isready -q; do echo "waiting for $PGHOST"; sleep 2; done',
            "for f in /migrations/*.sql; do",
            '  echo "applying $f"',
            '  psql -v ON_ERROR_STOP=1 --single-transaction --no-psqlrc -f "$f"',
            "done",
            // The payment ledger: its own login and database (idempotent; the password comes from a Secret).
            ...(args.paymentLogin
                ? [
                      `psql -v ON_ERROR_STOP=1 --no-psqlrc -v user="$PAYMENT_DB_USER" -v pw="$PAYMENT_DB_PASSWORD" -v db=${PAYMENT_DATABASE.name} <<'SQL'`,
                      "SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user')\\gexec",
                      "SELECT format('ALTER ROLE %I PASSWORD %L', :'user', :'pw')\\gexec",
                      "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\\gexec",
                      "SQL",
                  ]
                : []),
        ].join("\n");
        const paymentEnv: input.core.v1.EnvVar[] = args.paymentLogin
            ? [
                  {
                      name: "PAYMENT_DB_USER",
                      valueFrom: { secretKeyRef: { name: args.paymentLogin.metadata.name, key: "username" } },
                  },
                  {
                      name: "PAYMENT_DB_PASSWORD",
                      valueFrom: { secretKeyRef: { name: args.paymentLogin.metadata.name, key: "password" } },
                  },
              ]
            : [];
        // The payment role's password is set only here: its digest in the name makes a rotated
        // password (a replaced RandomPassword) create a new Job that applies it. The digest of a
        // random 32-character password reveals nothing, so the name is shown in plain text.
        if (args.paymentLogin && !args.paymentPassword)
            throw new Error("DatabaseJobs: paymentLogin needs paymentPassword (the Job name follows it)");
        const jobName: pulumi.Input<string> = args.paymentPassword
            ? pulumi.unsecret(args.paymentPassword.apply((pw) => migrationJobName(digest, pw)))
            : migrationJobName(digest);
        this.migration = new k8s.batch.v1.Job(
            `${name}-migrate`,
            {
                metadata: {
                    name: jobName,
                    namespace: args.namespace,
                    labels: { ...migrateLabels, "warung-kopi.io/sql-digest": digest },
                },
                spec: {
                    backoffLimit: 4,
                    activeDeadlineSeconds: 900,
                    template: {
                        metadata: { labels: migrateLabels, annotations: JOB_POD_ANNOTATIONS },
                        spec: podSpec(cfg, {
                            serviceAccountName: NAMES.migrate,
                            runAsUser: UIDS.postgres,
                            restartPolicy: "Never",
                            containers: [
                                container({
                                    name: "migrate",
                                    image: cfg.images.postgres,
                                    command: ["sh", "-c", migrate],
                                    env: [...libpqEnv, ...paymentEnv],
                                    volumeMounts: [
                                        { name: "schema", mountPath: "/migrations", readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                    ],
                                    resources: resourcesFor(cfg, "db-migrate"),
                                }),
                            ],
                            volumes: [
                                { name: "schema", configMap: { name: schema.metadata.name } },
                                { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                            ],
                        }),
                    },
                },
            },
            {
                ...o,
                dependsOn: [
                    args.database,
                    schema,
                    migrateSa,
                    ...(args.paymentLogin ? [args.paymentLogin] : []),
                    ...(args.dependsOn ?? []),
                ],
            },
        );

        // ---- Backup: daily pg_dump (custom format) onto the backup volume, with a retention window.
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
                            template: {
                                metadata: { labels: backupLabels, annotations: JOB_POD_ANNOTATIONS },
                                spec: podSpec(cfg, {
                                    serviceAccountName: NAMES.backup,
                                    runAsUser: UIDS.postgres,
                                    restartPolicy: "Never",
                                    containers: [
                                        container({
                                            name: "backup",
                                            image: cfg.images.postgres,
                                            command: ["sh", "-c", backup],
                                            env: [
                                                ...libpqEnv,
                                                {
                                                    name: "RETENTION_DAYS",
                                                    value: cfg.tier === "production" ? "30" : "7",
                                                },
                                            ],
                                            volumeMounts: [
                                                { name: "backups", mountPath: "/backups" },
                                                { name: "tmp", mountPath: "/tmp" },
                                            ],
                                            resources: resourcesFor(cfg, "db-backup"),
                                        }),
                                    ],
                                    volumes: [
                                        {
                                            name: "backups",
                                            persistentVolumeClaim: { claimName: args.backupClaim.metadata.name },
                                        },
                                        { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                                    ],
                                }),
                            },
                        },
                    },
                },
            },
            { ...o, dependsOn: [backupSa, ...(args.dependsOn ?? [])] },
        );

        this.registerOutputs({ migration: this.migration.metadata.name });
    }
}
