// The Warung Kopi shop: every object of the seed scenario, as components, in namespace
// cfg.shop.namespace, with the node metrics agent in a namespace of its own. It meets the other
// layers through their contracts: the mesh (sidecars, gateway, traffic policy), monitoring (scrapes,
// alerts), an external cache when the stack has one.
import * as pulumi from "@pulumi/pulumi";
import type {
    CacheEndpoint,
    DatabaseAccess,
    DatabaseEndpoint,
    LayerReport,
    MeshContract,
    MonitoringContract,
    Peer,
    ShopDatabase,
    StackContext,
    TrafficPolicyArgs,
} from "../contracts";
import type { FlowTable } from "../flows";
import { selectorLabels } from "../labels";
import { namespacePeer } from "../network";
import { ShopApps } from "./apps";
import { DatabaseJobs } from "./database-jobs";
import { exporterReachAlert } from "./exporters";
import { ShopFoundation } from "./foundation";
import { NodeMetrics } from "./node-metrics";
import {
    DATABASE,
    NAMES,
    PART_OF,
    PAYMENT_DATABASE,
    PORTS,
    quotaFor,
    serviceHost,
    shopClaims,
    shopPodShapes,
} from "./plan";
import { Postgres } from "./postgres";
import { ShopRedis } from "./redis";
import { ShopStorage } from "./storage";

/** The shop's login on an external cache (and the prefix of its keys there). */
export const SHOP_CACHE_USER = PART_OF;

export interface WarungKopiArgs {
    ctx: StackContext;
    mesh?: MeshContract;
    monitoring?: MonitoringContract;
    /** The edge serves the shop host over HTTPS (its certificate is issued): plain HTTP is redirected. */
    tls: boolean;
    /**
     * The shop's own endpoint of the external cache (Redis Enterprise: its own login and key prefix,
     * TLS); when absent (dev) the shop runs its own Redis.
     */
    cache?: CacheEndpoint;
    /** The database from its own layer (CloudNativePG in the regions); when absent the shop runs its own PostgreSQL (dev). */
    database?: ShopDatabase;
    /** Who calls whom: every NetworkPolicy and AuthorizationPolicy of the shop comes from it. */
    flows: FlowTable;
    /** On the shop's own PostgreSQL: payment keeps its transaction history there (its login and database). */
    paymentLogin: boolean;
}

export class WarungKopi extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** The cache the shop uses (its own Redis, or the external one). */
    public readonly cache: CacheEndpoint;
    /** Payment's ledger on the shop's own PostgreSQL (when it runs one and `paymentLogin` is set). */
    public readonly transactionDatabase?: DatabaseAccess;

    /** Pods of the shop that use its database (backend, worker and the database jobs), for the database's ingress. */
    static databaseClients(cfg: { shop: { namespace: string } }): Peer[] {
        return [NAMES.backend, NAMES.worker]
            .map((w) => selectorLabels(w))
            .concat(DatabaseJobs.clientSelectors)
            .map((labels) => namespacePeer(cfg.shop.namespace, labels));
    }

    constructor(name: string, args: WarungKopiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:WarungKopi", name, {}, opts);
        const { ctx, mesh, monitoring } = args;
        const { cfg } = ctx;
        const ns = cfg.shop.namespace;
        const ownRedis = !args.cache;
        const ownDatabase = !args.database;
        const meshReady = mesh?.ready ?? [];
        const monitoringNamespace = monitoring?.namespace;
        const child = { parent: this };
        const { flows } = args;
        const party = (workload: string) => flows.of(ns, workload);

        // ---- Namespace, quota (every workload at its maximum plus the Jobs), config and credentials.
        const quota = quotaFor(
            shopPodShapes(cfg, { ownRedis, ownDatabase }),
            {
                ...shopClaims(cfg, ownRedis, ownDatabase),
                // frontend-public.
                loadBalancers: 1,
                // frontend-public's node port (a LoadBalancer allocates one too), and frontend-nodeport's in dev.
                nodePorts: cfg.tier === "dev" ? 2 : 1,
            },
            mesh?.proxyResources,
        );
        const foundation = new ShopFoundation(
            `${name}-foundation`,
            {
                ctx,
                quota,
                istioInjection: !!mesh,
                sidecarStatsScrapedFrom: monitoringNamespace,
                platformEgress: mesh?.workloadEgress,
                cache: args.cache,
                database: args.database?.endpoint ?? {
                    host: serviceHost(cfg, NAMES.postgres),
                    readOnlyHost: serviceHost(cfg, NAMES.postgres),
                    port: PORTS.postgres,
                    database: DATABASE.name,
                    sslMode: "disable",
                },
                logins: args.database && { app: args.database.app, migration: args.database.migration },
                paymentLogin: ownDatabase && args.paymentLogin,
            },
            child,
        );
        const namespace = foundation.namespace;

        const storage = new ShopStorage(`${name}-storage`, { ctx, namespace, ownDatabase }, child);

        // ---- Data: the shop's own PostgreSQL (dev; the seed's StatefulSet), and (without an external cache) Redis.
        const postgres = ownDatabase
            ? new Postgres(
                  `${name}-postgres`,
                  {
                      ctx,
                      namespace,
                      storageClass: storage.storageClass,
                      credentials: foundation.postgresSecret!,
                      config: foundation.configMap,
                      // The backend, the worker, the Jobs, payment (its transaction history), Prometheus.
                      ingress: flows.ingress(party(NAMES.postgres)),
                      dependsOn: meshReady,
                  },
                  child,
              )
            : undefined;
        const endpoint: DatabaseEndpoint = args.database?.endpoint ?? {
            host: serviceHost(cfg, NAMES.postgres),
            readOnlyHost: serviceHost(cfg, NAMES.postgres),
            port: PORTS.postgres,
            database: DATABASE.name,
            sslMode: "disable",
            namespace: ns,
            podSelector: postgres!.selector,
            ready: [postgres!.statefulSet],
        };

        if (args.cache) {
            this.cache = args.cache;
        } else {
            const redis = new ShopRedis(
                `${name}-redis`,
                {
                    ctx,
                    namespace,
                    credentials: foundation.redisSecret,
                    storageClassName: storage.storageClass.metadata.name,
                    ingress: flows.ingress(party(NAMES.redis)),
                    dependsOn: meshReady,
                },
                child,
            );
            this.cache = {
                // Through the Deployment: whoever gates readiness on the cache (the core services) starts
                // after it is up, as they do after Redis Enterprise's database.
                host: redis.deployment.metadata.apply(() => serviceHost(cfg, NAMES.redis)),
                port: PORTS.redis,
                password: foundation.redisPassword,
                tls: false,
                namespace: ns,
                podSelector: redis.selector,
            };
        }

        const jobs = new DatabaseJobs(
            `${name}-db-jobs`,
            {
                ctx,
                namespace,
                endpoint,
                migrationLogin: foundation.migrationDbSecret,
                appLogin: foundation.appDbSecret,
                ownServer: postgres && {
                    roles: {
                        superuser: foundation.postgresSecret!,
                        payment: foundation.paymentSecret,
                        passwords: [
                            foundation.logins.app.password,
                            foundation.logins.migration.password,
                            ...(foundation.paymentPassword ? [foundation.paymentPassword] : []),
                        ],
                        server: postgres.statefulSet,
                    },
                    backupClaim: storage.backupClaim!,
                },
                flows,
                dependsOn: meshReady,
            },
            child,
        );

        // ---- Applications.
        const apps = new ShopApps(
            `${name}-apps`,
            {
                ctx,
                namespace,
                config: foundation.configMap,
                databaseLogin: foundation.appDbSecret,
                apiKeySecret: foundation.apiKeySecret,
                redisSecret: foundation.redisSecret,
                cache: {
                    host: foundation.cacheHost,
                    port: foundation.cachePort,
                    username: !!args.cache?.username,
                    tls: args.cache?.tls ?? false,
                    ca: foundation.cacheCa,
                },
                database: { host: endpoint.host, port: endpoint.port, sslMode: endpoint.sslMode },
                flows,
                tls: args.tls,
                dependsOn: meshReady,
            },
            child,
        );

        if (postgres && foundation.paymentPassword) {
            // Payment's ledger: a database of its own on this server, reached only by its role; ready once
            // the provisioning Job created role and database.
            this.transactionDatabase = {
                endpoint: {
                    ...endpoint,
                    database: PAYMENT_DATABASE.name,
                    ready: [...endpoint.ready, ...(jobs.roles ? [jobs.roles] : [])],
                },
                login: { username: PAYMENT_DATABASE.user, password: foundation.paymentPassword },
            };
        }

        const nodeMetrics = new NodeMetrics(`${name}-node-metrics`, { ctx, monitoringNamespace }, child);

        // ---- Mesh traffic policy: retries only where a request never reached the application
        // (safe for every method, writes included), bounded timeouts.
        if (mesh) {
            const safeRetries = { attempts: 2, perTryTimeout: "3s", retryOn: "connect-failure,refused-stream" };
            // Plain text from outside the mesh only where the flow table has such a caller (Prometheus on
            // the metrics port, direct access on the frontend's serving port): PERMISSIVE there, STRICT elsewhere.
            const policy = (id: string, a: Omit<TrafficPolicyArgs, "namespace" | "metricsPort" | "plaintextPorts">) =>
                mesh.trafficPolicy(
                    `${name}-${id}`,
                    { namespace: ns, plaintextPorts: flows.plaintextPorts(party(a.service)), ...a },
                    this,
                );
            policy("backend", {
                service: NAMES.backend,
                port: PORTS.backend,
                selector: apps.backend.selector,
                retries: safeRetries,
                timeout: "10s",
            });
            // The worker serves no requests; its policy exists for the plain-text metrics port Prometheus scrapes.
            policy("worker", {
                service: NAMES.worker,
                port: PORTS.worker,
                selector: apps.worker.selector,
                retries: "none",
                timeout: "10s",
            });
            policy("frontend", {
                service: NAMES.frontend,
                port: PORTS.frontendService,
                selector: apps.frontend.selector,
                retries: safeRetries,
                timeout: "15s",
            });
            // PostgreSQL and Redis speak TCP (only the DestinationRule and PeerAuthentication apply):
            // mTLS for their clients, plain text for Prometheus on the exporter sidecars' port.
            if (postgres)
                policy("postgres", {
                    service: NAMES.postgres,
                    port: PORTS.postgres,
                    selector: postgres.selector,
                    retries: "none",
                    timeout: "30s",
                });
            if (ownRedis)
                policy("redis", {
                    service: NAMES.redis,
                    port: PORTS.redis,
                    selector: selectorLabels(NAMES.redis),
                    retries: "none",
                    timeout: "10s",
                });
            // Identity-based authorization: nothing is allowed but the flows of the table, by caller principal.
            mesh.authorization(`${name}-authorization`, { namespace: ns, policies: flows.authorization(ns) }, this);
        }

        // ---- Scrape targets: the services with a metrics port, and the node agent.
        if (monitoring) {
            for (const workload of [NAMES.backend, NAMES.worker]) {
                monitoring.serviceMonitor(
                    `${name}-${workload}`,
                    { namespace: ns, selector: selectorLabels(workload), port: "http-metrics" },
                    this,
                );
            }
            // Exporter sidecars (container `metrics`): no HTTP SLO metrics; the watched container's
            // saturation and restarts, and an alert when the exporter cannot reach it.
            const exporters: [string, string, "nginx_up" | "pg_up" | "redis_up", string][] = [
                [NAMES.frontend, NAMES.frontend, "nginx_up", "nginx"],
                ...(postgres
                    ? [[NAMES.postgres, "postgres", "pg_up", "PostgreSQL"] as [string, string, "pg_up", string]]
                    : []),
                ...(ownRedis
                    ? [[NAMES.redis, "redis", "redis_up", "Redis"] as [string, string, "redis_up", string]]
                    : []),
            ];
            for (const [service, containerName, metric, what] of exporters) {
                monitoring.serviceMonitor(
                    `${name}-${service}`,
                    {
                        namespace: ns,
                        selector: selectorLabels(service),
                        port: "http-metrics",
                        service,
                        alerts: {
                            http: false,
                            container: containerName,
                            extra: [exporterReachAlert(ns, service, metric, what)],
                        },
                    },
                    this,
                );
            }
            monitoring.serviceMonitor(
                `${name}-node-metrics`,
                {
                    namespace: nodeMetrics.namespace,
                    selector: nodeMetrics.selector,
                    port: "http-metrics",
                    // node-exporter serves no application requests: no HTTP SLO alerts; its container is `node-exporter`.
                    alerts: { http: false, container: "node-exporter" },
                },
                this,
            );
        }

        this.report = {
            endpoints: { shop: `https://${cfg.shop.ingressHost}` },
            portForward: {
                frontend: `kubectl port-forward svc/${NAMES.frontend} -n ${ns} 8080:${PORTS.frontendService}`,
            },
        };
        this.registerOutputs({ namespace });
    }
}
