// The Warung Kopi shop (issue 3): every object of the seed scenario, as components, in namespace
// cfg.shop.namespace, with the node metrics agent in a namespace of its own.
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import { selectorLabels, namespacePeer } from "../defaults";
import type { StackContext } from "../defaults";
import type { ServiceMesh } from "../mesh";
import type { Observability } from "../observability";
import type { ClusterAddons } from "../addons";
import type { CacheEndpoint } from "../cache";
import type { DatabaseLogin } from "../database";
import type { Peer } from "../microservice";
import { meshTrafficPolicy } from "../mesh/traffic";
import { serviceMonitor } from "../observability/monitors";
import { ShopApps } from "./apps";
import { DatabaseJobs } from "./database-jobs";
import { ShopFoundation } from "./foundation";
import { NodeMetrics } from "./node-metrics";
import { exporterReachAlert } from "./exporters";
import { NAMES, PAYMENT_DATABASE, PORTS, quotaFor, serviceHost, shopClaims, shopPodShapes } from "./plan";
import { Postgres } from "./postgres";
import { ShopRedis } from "./redis";
import { ShopStorage } from "./storage";
import { CORE_SERVICES_NAMESPACE } from "../names";

export interface WarungKopiArgs {
    ctx: StackContext;
    mesh?: ServiceMesh;
    observability?: Observability;
    addons: ClusterAddons;
    /** External cache (Redis Enterprise Active-Active); when absent the shop runs its own Redis. */
    cache?: CacheEndpoint;
}

export class WarungKopi extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** The cache the shop uses (its own Redis, or the external one). */
    public readonly cache?: CacheEndpoint;
    /** The payment service's login on the shop's PostgreSQL (when the core services run). */
    public readonly transactionDatabase?: DatabaseLogin;

    constructor(name: string, args: WarungKopiArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:WarungKopi", name, {}, opts);
        const { ctx, mesh, observability } = args;
        const { cfg } = ctx;
        const ns = cfg.shop.namespace;
        const ownRedis = !args.cache;
        const meshReady = mesh?.ready ?? [];
        const monitoringNamespace = cfg.layers.monitoring ? cfg.monitoring.namespace : undefined;
        const child = { parent: this };
        const peer = (workload: string): Peer => ({ podSelector: { matchLabels: selectorLabels(workload) } });

        // ---- Namespace, quota (every workload at its maximum plus the Jobs), config and credentials.
        const quota = quotaFor(
            shopPodShapes(cfg, { ownRedis }),
            {
                ...shopClaims(cfg, ownRedis),
                // frontend-public.
                loadBalancers: 1,
                // frontend-nodeport's and frontend-public's one port each (a LoadBalancer allocates a node port too).
                nodePorts: 2,
            },
            mesh?.proxyResources,
        );
        const foundation = new ShopFoundation(
            `${name}-foundation`,
            {
                ctx,
                quota,
                istioInjection: !!mesh,
                platformEgress: mesh?.workloadEgress,
                cache: args.cache,
            },
            child,
        );
        const namespace = foundation.namespace;

        const storage = new ShopStorage(`${name}-storage`, { ctx, namespace }, child);

        // ---- Data: PostgreSQL and (without an external cache) Redis.
        const postgres = new Postgres(
            `${name}-postgres`,
            {
                ctx,
                namespace,
                storageClass: storage.storageClass,
                credentials: foundation.postgresSecret,
                config: foundation.configMap,
                clients: [
                    peer(NAMES.backend),
                    peer(NAMES.worker),
                    ...DatabaseJobs.clientSelectors.map((s) => ({ podSelector: { matchLabels: s } })),
                    // The payment service keeps its transaction history here, in a database of its own.
                    ...(foundation.paymentSecret
                        ? [namespacePeer(PAYMENT_DATABASE.clientNamespace, selectorLabels(PAYMENT_DATABASE.client))]
                        : []),
                ],
                monitoringNamespace,
                dependsOn: meshReady,
            },
            child,
        );

        let cachePeer: Peer;
        if (ownRedis) {
            const redis = new ShopRedis(
                `${name}-redis`,
                {
                    ctx,
                    namespace,
                    credentials: foundation.redisSecret,
                    storageClassName: storage.storageClass.metadata.name,
                    clients: [
                        peer(NAMES.backend),
                        peer(NAMES.worker),
                        // The core services share this Redis when the stack has no Redis Enterprise.
                        ...(cfg.layers.coreServices ? [namespacePeer(CORE_SERVICES_NAMESPACE)] : []),
                    ],
                    monitoringNamespace,
                    dependsOn: meshReady,
                },
                child,
            );
            cachePeer = { podSelector: { matchLabels: redis.selector } };
            this.cache = {
                host: serviceHost(cfg, NAMES.redis),
                port: PORTS.redis,
                password: foundation.redisPassword,
                tls: false,
                namespace: ns,
                podSelector: redis.selector,
            };
        } else {
            const external = args.cache!;
            cachePeer = {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": external.namespace } },
                ...(external.podSelector ? { podSelector: { matchLabels: external.podSelector } } : {}),
            };
            this.cache = external;
        }

        new DatabaseJobs(
            `${name}-db-jobs`,
            {
                ctx,
                namespace,
                credentials: foundation.postgresSecret,
                config: foundation.configMap,
                database: postgres.statefulSet,
                databaseSelector: postgres.selector,
                backupClaim: storage.backupClaim,
                paymentLogin: foundation.paymentSecret,
                paymentPassword: foundation.paymentPassword,
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
                postgresSecret: foundation.postgresSecret,
                apiKeySecret: foundation.apiKeySecret,
                redisSecret: foundation.redisSecret,
                cache: { host: foundation.cacheHost, port: foundation.cachePort, peer: cachePeer },
                databasePeer: { podSelector: { matchLabels: postgres.selector } },
                gatewayPeers: mesh?.gatewayPeers ?? [],
                monitoringNamespace,
                tls: !!args.addons.clusterIssuer,
                dependsOn: meshReady,
            },
            child,
        );

        if (foundation.paymentPassword) {
            this.transactionDatabase = {
                host: serviceHost(cfg, NAMES.postgres),
                port: PORTS.postgres,
                database: PAYMENT_DATABASE.name,
                username: PAYMENT_DATABASE.user,
                password: foundation.paymentPassword,
                namespace: ns,
                podSelector: postgres.selector,
            };
        }

        const nodeMetrics = new NodeMetrics(
            `${name}-node-metrics`,
            { ctx, monitoringNamespace: cfg.monitoring.namespace },
            child,
        );

        // ---- Mesh traffic policy: retries only where a request never reached the application
        // (safe for every method, writes included), bounded timeouts.
        if (mesh) {
            const safeRetries = { attempts: 2, perTryTimeout: "3s", retryOn: "connect-failure,refused-stream" };
            meshTrafficPolicy(
                `${name}-backend`,
                {
                    ctx,
                    mesh,
                    namespace: ns,
                    service: NAMES.backend,
                    port: PORTS.backend,
                    selector: apps.backend.selector,
                    retries: safeRetries,
                    timeout: "10s",
                    metricsPort: PORTS.metrics,
                },
                this,
            );
            // The worker serves no requests; its policy exists for the plain-text metrics port Prometheus scrapes.
            meshTrafficPolicy(
                `${name}-worker`,
                {
                    ctx,
                    mesh,
                    namespace: ns,
                    service: NAMES.worker,
                    port: PORTS.worker,
                    selector: apps.worker.selector,
                    retries: "none",
                    timeout: "10s",
                    metricsPort: PORTS.metrics,
                },
                this,
            );
            meshTrafficPolicy(
                `${name}-frontend`,
                {
                    ctx,
                    mesh,
                    namespace: ns,
                    service: NAMES.frontend,
                    port: PORTS.frontendService,
                    selector: apps.frontend.selector,
                    retries: safeRetries,
                    timeout: "15s",
                    metricsPort: PORTS.metrics,
                    // Direct access (frontend-nodeport, frontend-public, from shop.directAccessCidrs) is plain
                    // HTTP from outside the mesh to the serving port: PERMISSIVE there (the ingress gateway
                    // still speaks mTLS to it), STRICT on every other port.
                    plaintextPorts: [PORTS.frontendContainer],
                },
                this,
            );
            // PostgreSQL and Redis speak TCP (only the DestinationRule and PeerAuthentication apply):
            // mTLS for their clients, plain text for Prometheus on the exporter sidecars' port.
            meshTrafficPolicy(
                `${name}-postgres`,
                {
                    ctx,
                    mesh,
                    namespace: ns,
                    service: NAMES.postgres,
                    port: PORTS.postgres,
                    selector: postgres.selector,
                    retries: "none",
                    timeout: "30s",
                    metricsPort: PORTS.metrics,
                },
                this,
            );
            if (ownRedis) {
                meshTrafficPolicy(
                    `${name}-redis`,
                    {
                        ctx,
                        mesh,
                        namespace: ns,
                        service: NAMES.redis,
                        port: PORTS.redis,
                        selector: selectorLabels(NAMES.redis),
                        retries: "none",
                        timeout: "10s",
                        metricsPort: PORTS.metrics,
                    },
                    this,
                );
            }
        }

        // ---- Scrape targets: the services with a metrics port, and the node agent.
        if (observability) {
            for (const [id, workload] of [
                ["backend", NAMES.backend],
                ["worker", NAMES.worker],
            ] as const) {
                serviceMonitor(
                    `${name}-${id}`,
                    {
                        ctx,
                        observability,
                        namespace: ns,
                        selector: selectorLabels(workload),
                        port: "http-metrics",
                    },
                    this,
                );
            }
            // Exporter sidecars (container `metrics`): no HTTP SLO metrics; the watched container's
            // saturation and restarts, and an alert when the exporter cannot reach it.
            const exporters: [string, string, "nginx_up" | "pg_up" | "redis_up", string][] = [
                [NAMES.frontend, NAMES.frontend, "nginx_up", "nginx"],
                [NAMES.postgres, "postgres", "pg_up", "PostgreSQL"],
                ...(ownRedis
                    ? [[NAMES.redis, "redis", "redis_up", "Redis"] as [string, string, "redis_up", string]]
                    : []),
            ];
            for (const [service, containerName, metric, what] of exporters) {
                serviceMonitor(
                    `${name}-${service}`,
                    {
                        ctx,
                        observability,
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
            serviceMonitor(
                `${name}-node-metrics`,
                {
                    ctx,
                    observability,
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
