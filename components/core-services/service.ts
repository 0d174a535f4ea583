// One core service: a Microservice (hardened Deployment, Service, ServiceAccount, PDB, NetworkPolicy)
// plus its autoscaler (KEDA ScaledObject, or the Microservice's CPU HPA), mesh traffic policy, public
// route and monitoring. Service-specific configuration lives in the subclasses' `specifics()`.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { input } from "@pulumi/kubernetes/types";
import { resourcesFor, type ServiceConfig } from "../../config";
import type { CacheEndpoint } from "../cache";
import type { DatabaseLogin } from "../database";
import { appLabels, container, selectorLabels, type StackContext } from "../defaults";
import { publicHosts } from "../hosts";
import { Microservice } from "../microservice";
import type { ServiceMesh } from "../mesh";
import { meshTrafficPolicy, type MeshTrafficArgs, publicRoute } from "../mesh/traffic";
import type { Observability } from "../observability";
import {
    type AlertRule,
    cacheHitRatioAlert,
    paymentFailureAlert,
    requestRateExpr,
    type ServiceSlo,
} from "../observability/alerts";
import { serviceMonitor } from "../observability/monitors";
import { callersOf, flowsOf } from "./flows";

export const PART_OF = "ecommerce";
/** Container port of every core service, and the Service port in front of it. */
export const APP_PORT = 8080;
export const SERVICE_PORT = 80;
/** Prometheus metrics port of apps/service.js. */
export const METRICS_PORT = 9464;
/** UID/GID of the `node` user in the node image. */
const NODE_UID = 1000;
/** Requests per second per pod that KEDA targets when a service's config does not say. */
const DEFAULT_REQUESTS_PER_SECOND = 20;

export interface CoreServiceArgs {
    ctx: StackContext;
    namespace: string;
    config: ServiceConfig;
    /** Names of all core services in the stack (flows to absent services are not opened). */
    present: string[];
    /** ConfigMap with service.js (apps/service.js) and its checksum (rolls pods when it changes). */
    runtime: { configMap: string; checksum: string };
    /** The shared cache and the name of the Secret (in `namespace`) holding its password. */
    cache?: { endpoint: CacheEndpoint; secretName: string };
    mesh?: ServiceMesh;
    observability?: Observability;
    /** Resources the workload waits for (namespace, runtime ConfigMap, cache Secret). */
    dependsOn: pulumi.Resource[];
    /** Payment's login on the transactional PostgreSQL, when the stack runs one. */
    transactionDatabase?: DatabaseLogin;
}

/** What a service adds to the shared shape. */
export interface ServiceSpecifics {
    /** app.kubernetes.io/component. */
    component: string;
    env?: input.core.v1.EnvVar[];
    envFrom?: input.core.v1.EnvFromSource[];
    volumes?: input.core.v1.Volume[];
    volumeMounts?: input.core.v1.VolumeMount[];
    initContainers?: input.core.v1.Container[];
    podAnnotations?: Record<string, string>;
    /** Egress besides DNS, the mesh, the cache and the core services it calls. */
    allowTo?: input.networking.v1.NetworkPolicyEgressRule[];
    /** Mesh retries: only where a retried request cannot do harm twice. */
    retries: MeshTrafficArgs["retries"];
    timeout: string;
    slo?: Partial<ServiceSlo>;
    extraAlerts?: AlertRule[];
}

const env = (name: string, value: pulumi.Input<string>): input.core.v1.EnvVar => ({ name, value });
const secretEnv = (name: string, secret: pulumi.Input<string>, key: string): input.core.v1.EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key } },
});
const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

/** A core service with no service-specific configuration; the four known services extend it. */
export class CoreService extends pulumi.ComponentResource {
    public readonly workload: Microservice;
    /** KEDA ScaledObject (CPU + Prometheus request rate) when custom-metric autoscaling is on. */
    public readonly scaledObject?: k8s.apiextensions.CustomResource;
    public readonly serviceName: string;
    /** Public URL prefix on the API host, when the service is exposed through the ingress gateway. */
    public readonly publicUrl?: string;

    constructor(
        name: string,
        args: CoreServiceArgs,
        opts?: pulumi.ComponentResourceOptions,
        type = "ecommerce:platform:CoreService",
    ) {
        super(type, name, {}, opts);
        const { cfg, provider } = args.ctx;
        const svc = args.config.name;
        this.serviceName = svc;
        const s = this.specifics(name, args);
        const flows = flowsOf(svc, args.present);
        const callers = callersOf(svc, args.present);
        const podsOf = (n: string): input.networking.v1.NetworkPolicyPeer => ({
            podSelector: { matchLabels: selectorLabels(n) },
        });

        // Ingress: the ingress gateway for public services, and the core services that call this one.
        const allowFrom = [...(flows.publicPrefix && args.mesh ? args.mesh.gatewayPeers : []), ...callers.map(podsOf)];
        // Egress: the services it calls, the cache, and what the service itself needs.
        const allowTo: input.networking.v1.NetworkPolicyEgressRule[] = [
            ...flows.calls.map((c) => ({ to: [podsOf(c)], ports: [{ protocol: "TCP", port: APP_PORT }] })),
            ...(args.cache ? [cacheEgress(args.cache.endpoint)] : []),
            ...(s.allowTo ?? []),
        ];

        const cacheEnv = args.cache
            ? [
                  env("CACHE_HOST", args.cache.endpoint.host),
                  env("CACHE_PORT", String(args.cache.endpoint.port)),
                  env("CACHE_TLS", String(args.cache.endpoint.tls)),
                  secretEnv("CACHE_PASSWORD", args.cache.secretName, "password"),
              ]
            : [];
        const autoscaling = args.config.autoscaling;
        const keda = autoscaling && cfg.layers.customMetricsAutoscaling ? args.observability?.keda : undefined;

        this.workload = new Microservice(
            name,
            {
                ctx: args.ctx,
                namespace: args.namespace,
                name: svc,
                partOf: PART_OF,
                component: s.component,
                image: cfg.images.service,
                command: ["node", "/opt/app/service.js"],
                env: [
                    env("SERVICE_NAME", svc),
                    env("ROLE", "api"),
                    env("PORT", String(APP_PORT)),
                    env("METRICS_PORT", String(METRICS_PORT)),
                    env("NODE_ENV", "production"),
                    // Readiness follows the hard data dependency (the cache), never other services: a
                    // slow neighbour must not take this service out of its load balancer.
                    env(
                        "DEPENDS_ON",
                        args.cache ? pulumi.interpolate`${args.cache.endpoint.host}:${args.cache.endpoint.port}` : "",
                    ),
                    ...cacheEnv,
                    ...(s.env ?? []),
                ],
                envFrom: s.envFrom,
                volumes: [{ name: "app-runtime", configMap: { name: args.runtime.configMap } }, ...(s.volumes ?? [])],
                volumeMounts: [
                    { name: "app-runtime", mountPath: "/opt/app", readOnly: true },
                    ...(s.volumeMounts ?? []),
                ],
                initContainers: s.initContainers,
                resources: resourcesFor(cfg, svc),
                runAsUser: NODE_UID,
                port: { containerPort: APP_PORT, servicePort: SERVICE_PORT, name: "http" },
                health: { http: { path: "/healthz", readyPath: "/readyz", port: "http" } },
                replicas: autoscaling?.minReplicas ?? args.config.replicas,
                // KEDA's ScaledObject owns the HPA when present; otherwise the Microservice's CPU HPA.
                autoscaling: keda ? undefined : autoscaling,
                externalAutoscaler: !!keda,
                metricsPort: METRICS_PORT,
                monitoringNamespace: args.observability?.namespace,
                allowFrom,
                allowTo,
                podAnnotations: { "checksum/app-runtime": args.runtime.checksum, ...s.podAnnotations },
                dependsOn: args.mesh?.ready,
            },
            { parent: this, dependsOn: args.dependsOn },
        );

        if (keda && autoscaling && args.observability) {
            const rps = autoscaling.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND;
            this.scaledObject = new k8s.apiextensions.CustomResource(
                `${name}-scaledobject`,
                {
                    apiVersion: "keda.sh/v1alpha1",
                    kind: "ScaledObject",
                    metadata: { name: svc, namespace: args.namespace, labels: appLabels(svc, PART_OF, s.component) },
                    spec: {
                        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: svc },
                        minReplicaCount: autoscaling.minReplicas,
                        maxReplicaCount: autoscaling.maxReplicas,
                        pollingInterval: 15,
                        advanced: {
                            // The HPA KEDA creates carries the service's name: `kubectl get hpa -n ecommerce`.
                            horizontalPodAutoscalerConfig: {
                                name: svc,
                                behavior: {
                                    scaleDown: {
                                        stabilizationWindowSeconds: 300,
                                        policies: [{ type: "Percent", value: 50, periodSeconds: 60 }],
                                    },
                                },
                            },
                        },
                        triggers: [
                            {
                                type: "cpu",
                                metricType: "Utilization",
                                metadata: { value: String(autoscaling.cpuUtilization) },
                            },
                            {
                                type: "prometheus",
                                metricType: "AverageValue",
                                metadata: {
                                    serverAddress: args.observability.prometheusUrl,
                                    query: requestRateExpr(args.namespace, svc),
                                    // Target requests per second per replica.
                                    threshold: String(rps),
                                    ignoreNullValues: "true",
                                },
                            },
                        ],
                    },
                },
                { parent: this, provider, dependsOn: [keda, this.workload.deployment] },
            );
        }

        if (args.mesh) {
            meshTrafficPolicy(
                name,
                {
                    ctx: args.ctx,
                    mesh: args.mesh,
                    namespace: args.namespace,
                    service: svc,
                    port: SERVICE_PORT,
                    selector: this.workload.selector,
                    retries: s.retries,
                    timeout: s.timeout,
                    metricsPort: METRICS_PORT,
                },
                this,
            );
            if (flows.publicPrefix) {
                publicRoute(
                    name,
                    {
                        ctx: args.ctx,
                        mesh: args.mesh,
                        namespace: args.namespace,
                        service: svc,
                        port: SERVICE_PORT,
                        prefix: `${flows.publicPrefix}/`,
                        rewrite: "/",
                        timeout: s.timeout,
                    },
                    this,
                );
                this.publicUrl = `https://${publicHosts(cfg).api}${flows.publicPrefix}`;
            }
        }

        if (args.observability) {
            serviceMonitor(
                name,
                {
                    ctx: args.ctx,
                    observability: args.observability,
                    namespace: args.namespace,
                    service: svc,
                    selector: this.workload.selector,
                    port: "http-metrics",
                    alerts: { slo: s.slo, extra: s.extraAlerts },
                },
                this,
            );
        }

        this.registerOutputs({ address: this.workload.address });
    }

    /** Service-specific configuration; may create the service's own Secrets/ConfigMaps (parent: this). */
    protected specifics(_name: string, _args: CoreServiceArgs): ServiceSpecifics {
        return {
            component: "api",
            retries: { attempts: 2, perTryTimeout: "2s", retryOn: "connect-failure,refused-stream,unavailable" },
            timeout: "5s",
        };
    }
}

function cacheEgress(c: CacheEndpoint): input.networking.v1.NetworkPolicyEgressRule {
    return {
        to: [
            {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": c.namespace } },
                ...(c.podSelector ? { podSelector: { matchLabels: c.podSelector } } : {}),
            },
        ],
        ports: [{ protocol: "TCP", port: c.port }],
    };
}

/** Product catalogue: cached reads (read-through, TTL) and search/filter over the catalogue. */
export class ProductCatalog extends CoreService {
    constructor(name: string, args: CoreServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(name, args, opts, "ecommerce:platform:ProductCatalog");
    }
    protected specifics(_name: string, args: CoreServiceArgs): ServiceSpecifics {
        return {
            component: "catalog",
            env: [
                env("CACHE_STRATEGY", "read-through"),
                env("CACHE_KEY_PREFIX", "catalog:"),
                env("CACHE_TTL_SECONDS", "300"),
                env("CACHE_NEGATIVE_TTL_SECONDS", "30"),
                env("SEARCH_FILTERS", "category,origin,roast,process,price,in_stock"),
                env("SEARCH_SORTS", "relevance,price_asc,price_desc,newest"),
                env("SEARCH_DEFAULT_PAGE_SIZE", "24"),
                env("SEARCH_MAX_PAGE_SIZE", "100"),
            ],
            // Catalogue reads are idempotent: retry connection failures and 5xx, briefly.
            retries: {
                attempts: 3,
                perTryTimeout: "1s",
                retryOn: "connect-failure,refused-stream,unavailable,cancelled,5xx",
            },
            timeout: "3s",
            slo: { latencyP95Seconds: 0.3 },
            extraAlerts: [cacheHitRatioAlert(args.namespace, args.config.name)],
        };
    }
}

/**
 * Payments: no retries at the mesh (a retried charge can charge twice; clients retry with an
 * Idempotency-Key the service deduplicates), transaction history in PostgreSQL.
 */
export class Payment extends CoreService {
    constructor(name: string, args: CoreServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(name, args, opts, "ecommerce:platform:Payment");
    }
    protected specifics(name: string, args: CoreServiceArgs): ServiceSpecifics {
        const { provider } = args.ctx;
        // The transaction history lives in a database of its own on the stack's PostgreSQL, whose layer
        // generates the login and creates role and database; the pod gets it by Secret reference only.
        const db = args.transactionDatabase;
        const dbSecret =
            db &&
            new k8s.core.v1.Secret(
                `${name}-db`,
                {
                    metadata: {
                        name: `${args.config.name}-db`,
                        namespace: args.namespace,
                        labels: appLabels(args.config.name, PART_OF, "payments"),
                    },
                    type: "Opaque",
                    stringData: {
                        username: pulumi.secret(db.username),
                        password: db.password,
                        database: pulumi.secret(db.database),
                    },
                },
                { parent: this, provider, dependsOn: args.dependsOn },
            );
        return {
            component: "payments",
            env: [
                env("PAYMENT_RETRY_MODE", "idempotency-key"),
                env("PAYMENT_IDEMPOTENCY_TTL_SECONDS", "86400"),
                ...(db && dbSecret
                    ? [
                          env("TRANSACTION_DB_HOST", db.host),
                          env("TRANSACTION_DB_PORT", String(db.port)),
                          secretEnv("TRANSACTION_DB_NAME", dbSecret.metadata.name, "database"),
                          secretEnv("TRANSACTION_DB_USER", dbSecret.metadata.name, "username"),
                          secretEnv("TRANSACTION_DB_PASSWORD", dbSecret.metadata.name, "password"),
                      ]
                    : []),
            ],
            allowTo: db
                ? [
                      {
                          to: [
                              {
                                  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": db.namespace } },
                                  podSelector: { matchLabels: db.podSelector },
                              },
                          ],
                          ports: [{ protocol: "TCP", port: db.port }],
                      },
                  ]
                : [],
            retries: "none",
            timeout: "10s",
            slo: { availability: 0.999, latencyP95Seconds: 1 },
            extraAlerts: [paymentFailureAlert(args.namespace, args.config.name)],
        };
    }
}

const MODEL_FILE = path.join(__dirname, "model.json");

/**
 * Recommendations: the model artefact is mounted read-only from an emptyDir an init container fills
 * (here from the `recommendation-model` ConfigMap; a model registry download in the same place
 * later); results are cached in the distributed cache.
 */
export class Recommendation extends CoreService {
    constructor(name: string, args: CoreServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(name, args, opts, "ecommerce:platform:Recommendation");
    }
    protected specifics(name: string, args: CoreServiceArgs): ServiceSpecifics {
        const { cfg, provider } = args.ctx;
        const modelText = fs.readFileSync(MODEL_FILE, "utf8");
        const model = JSON.parse(modelText) as { version: string };
        const artefact = new k8s.core.v1.ConfigMap(
            `${name}-model`,
            {
                metadata: {
                    name: `${args.config.name}-model`,
                    namespace: args.namespace,
                    labels: appLabels(args.config.name, PART_OF, "model"),
                },
                data: { "model.json": modelText },
            },
            { parent: this, provider, dependsOn: args.dependsOn },
        );
        return {
            component: "recommendations",
            env: [
                env("MODEL_PATH", "/models/current/model.json"),
                env("MODEL_VERSION", model.version),
                env("CACHE_KEY_PREFIX", "reco:"),
                env("CACHE_TTL_SECONDS", "600"),
                env("MAX_RECOMMENDATIONS", "8"),
            ],
            volumes: [
                { name: "model-artefact", configMap: { name: artefact.metadata.name } },
                { name: "model", emptyDir: { sizeLimit: "64Mi" } },
            ],
            volumeMounts: [{ name: "model", mountPath: "/models/current", readOnly: true }],
            initContainers: [
                container({
                    name: "load-model",
                    image: cfg.images.service,
                    command: ["cp", "/artefact/model.json", "/models/current/model.json"],
                    resources: resourcesFor(cfg, args.config.name),
                    volumeMounts: [
                        { name: "model-artefact", mountPath: "/artefact", readOnly: true },
                        { name: "model", mountPath: "/models/current" },
                    ],
                }),
            ],
            podAnnotations: { "checksum/model": sha(modelText) },
            // Reads: a quick second try, then degrade to "no recommendations" rather than wait.
            retries: { attempts: 2, perTryTimeout: "500ms", retryOn: "connect-failure,refused-stream,unavailable,5xx" },
            timeout: "1s",
            slo: { latencyP95Seconds: 0.25 },
        };
    }
}

/**
 * Authentication: OAuth2/OIDC issuer (discovery on the public API host under /auth), tokens signed
 * with a generated RSA key (Secret, mounted read-only), sessions kept in the distributed cache.
 */
export class Auth extends CoreService {
    constructor(name: string, args: CoreServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(name, args, opts, "ecommerce:platform:Auth");
    }
    protected specifics(name: string, args: CoreServiceArgs): ServiceSpecifics {
        const { cfg, provider } = args.ctx;
        const svc = args.config.name;
        const labels = appLabels(svc, PART_OF, "identity");
        const issuer = `https://${publicHosts(cfg).api}/auth`;
        // Token signing key (JWKS). Rotate by replacing this resource; pods roll on the new Secret.
        const key = new tls.PrivateKey(`${name}-signing-key`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
        const keyId = new random.RandomId(
            `${name}-signing-key-id`,
            { byteLength: 8, keepers: { key: key.id } },
            { parent: this },
        );
        const signingKey = new k8s.core.v1.Secret(
            `${name}-signing-key`,
            {
                metadata: { name: `${svc}-signing-key`, namespace: args.namespace, labels },
                type: "Opaque",
                stringData: { "signing-key.pem": key.privateKeyPemPkcs8 },
            },
            { parent: this, provider, dependsOn: args.dependsOn },
        );
        const oidc = new k8s.core.v1.ConfigMap(
            `${name}-oidc`,
            {
                metadata: { name: `${svc}-oidc`, namespace: args.namespace, labels },
                data: {
                    OIDC_ISSUER: issuer,
                    OIDC_DISCOVERY_URL: `${issuer}/.well-known/openid-configuration`,
                    OIDC_JWKS_URI: `${issuer}/.well-known/jwks.json`,
                    OIDC_AUTHORIZATION_ENDPOINT: `${issuer}/authorize`,
                    OIDC_TOKEN_ENDPOINT: `${issuer}/token`,
                    OIDC_SCOPES: "openid profile email offline_access",
                    OIDC_GRANT_TYPES: "authorization_code,refresh_token",
                    OIDC_PKCE_REQUIRED: "true",
                    OIDC_SIGNING_ALG: "RS256",
                    ACCESS_TOKEN_TTL: "15m",
                    REFRESH_TOKEN_TTL: "336h",
                    SESSION_STORE: "cache",
                    SESSION_KEY_PREFIX: "session:",
                    SESSION_TTL_SECONDS: "1800",
                },
            },
            { parent: this, provider, dependsOn: args.dependsOn },
        );
        return {
            component: "identity",
            envFrom: [{ configMapRef: { name: oidc.metadata.name } }],
            env: [env("SIGNING_KEY_PATH", "/var/run/secrets/auth/signing-key.pem"), env("SIGNING_KEY_ID", keyId.hex)],
            volumes: [{ name: "signing-key", secret: { secretName: signingKey.metadata.name, defaultMode: 0o440 } }],
            volumeMounts: [{ name: "signing-key", mountPath: "/var/run/secrets/auth", readOnly: true }],
            // Only failures where the request never reached a pod are retried: safe for POST /token too.
            retries: { attempts: 2, perTryTimeout: "2s", retryOn: "connect-failure,refused-stream,unavailable" },
            timeout: "5s",
            slo: { availability: 0.999, latencyP95Seconds: 0.3 },
        };
    }
}

/** The class for each known service; other names in config get the generic CoreService. */
export const SERVICE_KINDS: Record<
    string,
    new (name: string, args: CoreServiceArgs, opts?: pulumi.ComponentResourceOptions) => CoreService
> = {
    "product-catalog": ProductCatalog,
    payment: Payment,
    recommendation: Recommendation,
    auth: Auth,
};
