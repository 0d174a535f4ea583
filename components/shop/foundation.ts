// The shop's namespace and what every workload in it reads: guardrails (Pod Security, quota,
// limit range, default-deny), the application ConfigMap and the generated credentials.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

import { CONTAINER_DEFAULTS, HardenedNamespace } from "../namespace";

import { DATABASE, NAMES, PART_OF, PAYMENT_DATABASE, PORTS, REDIS_CA_DIR, serviceHost } from "./plan";
import type { CacheEndpoint, DatabaseEndpoint, DatabaseLogin, EgressRule, StackContext } from "../contracts";
import { appLabels, partOfLabel } from "../labels";

export interface ShopFoundationArgs {
    ctx: StackContext;
    /** ResourceQuota hard limits (computed from the workloads, see plan.ts quotaFor). */
    quota: Record<string, string>;
    /** Label the namespace for Istio sidecar injection. */
    istioInjection: boolean;
    /** Egress every pod needs besides DNS (the mesh's sidecar to istiod, spans to the collector). */
    platformEgress?: EgressRule[];
    /** With injection: the namespace Prometheus scrapes every sidecar's Envoy stats from. */
    sidecarStatsScrapedFrom?: string;
    /** External cache; when absent the shop runs its own Redis and generates its password. */
    cache?: CacheEndpoint;
    /** Where the database is (hosts, port, name, TLS), whichever engine serves it. */
    database: Pick<DatabaseEndpoint, "host" | "readOnlyHost" | "port" | "database" | "sslMode">;
    /** Logins of the app and migration roles from the database's layer; absent = the shop's own PostgreSQL (generated here). */
    logins?: { app: DatabaseLogin; migration: DatabaseLogin };
    /** Generate the payment service's database login (its ledger on the shop's own PostgreSQL). */
    paymentLogin: boolean;
}

/**
 * Namespace `warung-kopi` (restricted, quota, limit range, default-deny + DNS), ConfigMap
 * `warung-kopi-config`, and the Secrets `db-app-credentials`, `db-migrate-credentials`,
 * `warung-kopi-api-key` and `redis-credentials` (plus, on the shop's own PostgreSQL,
 * `postgres-credentials` of its superuser and `payment-db-credentials`), whose values are generated
 * (RandomPassword) here or by the database's layer and stay Pulumi secrets.
 */
export class ShopFoundation extends pulumi.ComponentResource {
    /** Namespace name, as an output that depends on the namespace existing. */
    public readonly namespace: pulumi.Output<string>;
    public readonly configMap: k8s.core.v1.ConfigMap;
    /** The own PostgreSQL's superuser (dev): the server and the role provisioning Job only. */
    public readonly postgresSecret?: k8s.core.v1.Secret;
    /** Login of the app role (backend, worker): reads and writes the shop's rows. */
    public readonly appDbSecret: k8s.core.v1.Secret;
    /** Login of the migration role (owner of the schema): the migration Job and the dump. */
    public readonly migrationDbSecret: k8s.core.v1.Secret;
    /** The app and migration logins (generated here on the shop's own PostgreSQL). */
    public readonly logins: { app: DatabaseLogin; migration: DatabaseLogin };
    public readonly apiKeySecret: k8s.core.v1.Secret;
    public readonly redisSecret: k8s.core.v1.Secret;
    /** Login of the payment service's database (only when the core services run), for the migration Job. */
    public readonly paymentSecret?: k8s.core.v1.Secret;
    public readonly paymentPassword?: pulumi.Output<string>;
    /** The Redis password (a Pulumi secret): generated, or the external cache's. */
    public readonly redisPassword: pulumi.Output<string>;
    /** Host and port the applications use for the cache. */
    public readonly cacheHost: pulumi.Input<string>;
    public readonly cachePort: number;
    /** The external cache's CA (ConfigMap `redis-ca`, key ca.crt), when it speaks TLS. */
    public readonly cacheCa?: k8s.core.v1.ConfigMap;

    constructor(name: string, args: ShopFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ShopFoundation", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const ns = cfg.shop.namespace;

        const hardened = new HardenedNamespace(
            `${name}-namespace`,
            {
                ctx: args.ctx,
                name: ns,
                podSecurity: "restricted",
                istioInjection: args.istioInjection,
                sidecarStatsScrapedFrom: args.sidecarStatsScrapedFrom,
                quota: args.quota,
                // Defaults for containers that set nothing (e.g. `kubectl debug`); ours all set their own.
                containerDefaults: CONTAINER_DEFAULTS,
                platformEgress: args.platformEgress,
                labels: partOfLabel(PART_OF),
            },
            { parent: this },
        );
        this.namespace = hardened.name;
        const o = { parent: this, provider, dependsOn: [hardened] };
        const labels = (component: string) => appLabels(PART_OF, PART_OF, component);

        this.cacheHost = args.cache?.host ?? serviceHost(cfg, NAMES.redis);
        this.cachePort = args.cache?.port ?? PORTS.redis;

        this.configMap = new k8s.core.v1.ConfigMap(
            `${name}-config`,
            {
                metadata: { name: NAMES.config, namespace: this.namespace, labels: labels("config") },
                data: {
                    APP_NAME: "Warung Kopi",
                    SHOP_CURRENCY: "IDR",
                    LOG_LEVEL: cfg.tier === "dev" ? "debug" : "info",
                    API_BASE: "/api",
                    // Writes go to the primary; reads that accept replication lag may use the standbys.
                    DATABASE_HOST: args.database.host,
                    DATABASE_READ_HOST: args.database.readOnlyHost,
                    DATABASE_PORT: String(args.database.port),
                    DATABASE_NAME: args.database.database,
                    DATABASE_SSLMODE: args.database.sslMode,
                    REDIS_HOST: this.cacheHost,
                    REDIS_PORT: String(this.cachePort),
                    REDIS_TLS: String(args.cache?.tls ?? false),
                    ...(args.cache?.tls ? { REDIS_CA_FILE: `${REDIS_CA_DIR}/ca.crt` } : {}),
                    ...(args.cache?.keyPrefix ? { REDIS_KEY_PREFIX: args.cache.keyPrefix } : {}),
                },
            },
            o,
        );

        // Credentials: generated once, kept encrypted in the state, reaching pods only through Secrets.
        const generated = (id: string) =>
            pulumi.secret(
                new random.RandomPassword(`${name}-${id}`, { length: 32, special: false }, { parent: this }).result,
            );
        const loginSecret = (id: string, secretName: string, login: DatabaseLogin) =>
            new k8s.core.v1.Secret(
                `${name}-${id}`,
                {
                    metadata: { name: secretName, namespace: this.namespace, labels: labels("database") },
                    type: "kubernetes.io/basic-auth",
                    stringData: { username: pulumi.secret(login.username), password: login.password },
                },
                o,
            );
        if (!args.logins) {
            this.postgresSecret = loginSecret("postgres-credentials", NAMES.postgresSecret, {
                username: DATABASE.superuser,
                password: generated("postgres-password"),
            });
        }
        this.logins = args.logins ?? {
            app: { username: DATABASE.user, password: generated("app-db-password") },
            migration: { username: DATABASE.migrationUser, password: generated("migration-db-password") },
        };
        this.appDbSecret = loginSecret("app-db-credentials", NAMES.appDbSecret, this.logins.app);
        this.migrationDbSecret = loginSecret(
            "migration-db-credentials",
            NAMES.migrationDbSecret,
            this.logins.migration,
        );

        const apiKey = new random.RandomPassword(`${name}-api-key`, { length: 40, special: false }, { parent: this });
        this.apiKeySecret = new k8s.core.v1.Secret(
            `${name}-api-key`,
            {
                metadata: { name: NAMES.apiKeySecret, namespace: this.namespace, labels: labels("backend") },
                type: "Opaque",
                stringData: { "api-key": apiKey.result },
            },
            o,
        );

        this.redisPassword = args.cache
            ? pulumi.secret(args.cache.password)
            : new random.RandomPassword(`${name}-redis-password`, { length: 32, special: false }, { parent: this })
                  .result;
        this.redisSecret = new k8s.core.v1.Secret(
            `${name}-redis-credentials`,
            {
                metadata: { name: NAMES.redisSecret, namespace: this.namespace, labels: labels("cache") },
                type: "Opaque",
                stringData: {
                    // The external cache's login is the shop's own (a Redis ACL user); its own Redis has no users.
                    ...(args.cache?.username ? { username: pulumi.secret(args.cache.username) } : {}),
                    password: this.redisPassword,
                },
            },
            o,
        );
        if (args.cache?.tls && args.cache.caCertificate) {
            this.cacheCa = new k8s.core.v1.ConfigMap(
                `${name}-redis-ca`,
                {
                    metadata: { name: NAMES.redisCa, namespace: this.namespace, labels: labels("cache") },
                    data: { "ca.crt": args.cache.caCertificate },
                },
                o,
            );
        }

        if (args.paymentLogin) {
            this.paymentPassword = generated("payment-db-password");
            this.paymentSecret = loginSecret("payment-db-credentials", PAYMENT_DATABASE.secret, {
                username: PAYMENT_DATABASE.user,
                password: this.paymentPassword,
            });
        }

        this.registerOutputs({ namespace: this.namespace });
    }
}
