// One core service, whichever it is: a Microservice (hardened Deployment, Service, ServiceAccount,
// PDB, NetworkPolicy) plus its autoscaler (KEDA ScaledObject, or the Microservice's CPU HPA), mesh
// traffic policy, public route and monitoring. What differs between services is data: its flows
// (config) and its description (./catalog.ts).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import type { input } from "@pulumi/kubernetes/types";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { type PlatformConfig, resourcesFor, type ServiceConfig } from "../../config";
import { requestRateExpr } from "../alerts";
import type { CacheEndpoint, DatabaseAccess, MeshContract, MonitoringContract, StackContext } from "../contracts";
import { container } from "../defaults";
import type { FlowTable } from "../flows";
import { publicHosts } from "../hosts";
import { appLabels, componentLabel } from "../labels";
import { Microservice } from "../microservice";
import { APP_PORTS, cacheKeyPrefix } from "../names";
import type { ServiceDescription } from "./catalog";

export const PART_OF = "ecommerce";
/** Container port of every core service, and the Service port in front of it. */
export const APP_PORT = APP_PORTS.http;
export const SERVICE_PORT = 80;
/** Prometheus metrics port of apps/service.js. */
export const METRICS_PORT = APP_PORTS.metrics;
/** Where a service finds the CA of its cache's server certificate (CACHE_CA_FILE). */
export const CACHE_CA_DIR = "/etc/cache-tls";
/** UID/GID of the `node` user in the node image. */
const NODE_UID = 1000;
/** Requests per second per pod that KEDA targets when a service's config does not say. */
const DEFAULT_REQUESTS_PER_SECOND = 20;
const MODEL_DIR = __dirname;

export interface CoreServiceArgs {
    ctx: StackContext;
    namespace: string;
    /** The service's configuration: scaling and flows. */
    config: ServiceConfig;
    description: ServiceDescription;
    /** Who calls whom: the service's NetworkPolicy (both directions) comes from it. */
    flows: FlowTable;
    /** ConfigMap with service.js (apps/service.js) and its checksum (rolls pods when it changes). */
    runtime: { configMap: string; checksum: string };
    /**
     * The service's own cache endpoint, the Secret (in `namespace`) with its login (keys password and,
     * for an ACL user, username) and, with TLS, the ConfigMap (key ca.crt) with the server's CA.
     */
    cache?: { endpoint: CacheEndpoint; secretName: string; caConfigMap?: string };
    mesh?: MeshContract;
    monitoring?: MonitoringContract;
    /** Payment's login on the transactional PostgreSQL, when the stack runs one. */
    transactionDatabase?: DatabaseAccess;
    /** Resources the workload waits for (namespace, runtime ConfigMap, cache Secret). */
    dependsOn: pulumi.Resource[];
}

const env = (name: string, value: pulumi.Input<string>): input.core.v1.EnvVar => ({ name, value });
const secretEnv = (name: string, secret: pulumi.Input<string>, key: string): input.core.v1.EnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: secret, key } },
});
const sha = (s: string) => crypto.createHash("sha256").update(s).digest("hex");

/** What a feature of a description adds to the pod. */
interface Additions {
    env: input.core.v1.EnvVar[];
    envFrom: input.core.v1.EnvFromSource[];
    volumes: input.core.v1.Volume[];
    volumeMounts: input.core.v1.VolumeMount[];
    initContainers: input.core.v1.Container[];
    podAnnotations: Record<string, string>;
    /** Readiness dependencies (DEPENDS_ON URLs, apps/service.js). */
    dependencies: pulumi.Input<string>[];
}

export class CoreService extends pulumi.ComponentResource {
    public readonly workload: Microservice;
    /** KEDA ScaledObject (CPU + Prometheus request rate) when custom-metric autoscaling is on. */
    public readonly scaledObject?: k8s.apiextensions.CustomResource;
    public readonly serviceName: string;
    /** Public URL prefix on the API host, when the service is exposed through the ingress gateway. */
    public readonly publicUrl?: string;

    constructor(name: string, args: CoreServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:CoreService", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const { config, description: d } = args;
        const svc = config.name;
        this.serviceName = svc;
        const o = { parent: this, provider, dependsOn: args.dependsOn };
        const labels = appLabels(svc, PART_OF, d.component);

        const add: Additions = {
            env: [],
            envFrom: [],
            volumes: [],
            volumeMounts: [],
            initContainers: [],
            podAnnotations: {},
            dependencies: [],
        };
        if (d.model) modelArtefact(name, args, d.model, add, o);
        if (d.oidcIssuer) oidcIssuer(name, args, labels, add, o);
        if (d.transactionHistory && args.transactionDatabase)
            transactionHistory(name, args, args.transactionDatabase, labels, add, o);

        // In: the ingress gateway (public services), the services that call this one, the east-west
        // gateway for callers in other regions, Prometheus. Out: the services it calls, its data.
        const party = args.flows.of(args.namespace, svc);
        // The cache contract's variables (components/contracts.ts CacheEndpoint).
        const cache = args.cache;
        const cacheEnv = cache
            ? [
                  env("CACHE_HOST", cache.endpoint.host),
                  env("CACHE_PORT", String(cache.endpoint.port)),
                  env("CACHE_TLS", String(cache.endpoint.tls)),
                  ...(cache.endpoint.username ? [secretEnv("CACHE_USERNAME", cache.secretName, "username")] : []),
                  secretEnv("CACHE_PASSWORD", cache.secretName, "password"),
                  ...(cache.caConfigMap ? [env("CACHE_CA_FILE", `${CACHE_CA_DIR}/ca.crt`)] : []),
                  // Sessions live in a database of their own; cache keys carry the service's prefix.
                  ...(d.sessions ? [] : [env("CACHE_KEY_PREFIX", cache.endpoint.keyPrefix ?? cacheKeyPrefix(svc))]),
              ]
            : [];
        if (cache?.caConfigMap) {
            add.volumes.push({ name: "cache-ca", configMap: { name: cache.caConfigMap } });
            add.volumeMounts.push({ name: "cache-ca", mountPath: CACHE_CA_DIR, readOnly: true });
        }
        const autoscaling = config.autoscaling;
        const keda = autoscaling ? args.monitoring?.autoscaler : undefined;

        this.workload = new Microservice(
            name,
            {
                ctx: args.ctx,
                namespace: args.namespace,
                name: svc,
                partOf: PART_OF,
                component: d.component,
                image: cfg.images.service,
                command: ["node", "/opt/app/service.js"],
                env: [
                    env("SERVICE_NAME", svc),
                    env("ROLE", d.oidcIssuer ? "auth" : "api"),
                    env("PORT", String(APP_PORT)),
                    env("METRICS_PORT", String(METRICS_PORT)),
                    env("NODE_ENV", "production"),
                    // Readiness follows the hard data dependencies (the cache, payment's records), asked in
                    // their own protocol, never other services: a slow neighbour must not take this
                    // service out of its load balancer.
                    env(
                        "DEPENDS_ON",
                        pulumi
                            .all([
                                ...(args.cache
                                    ? [
                                          pulumi.interpolate`${args.cache.endpoint.tls ? "rediss" : "redis"}://${args.cache.endpoint.host}:${args.cache.endpoint.port}?${[
                                              "passwordFrom=CACHE_PASSWORD",
                                              ...(args.cache.endpoint.username ? ["userFrom=CACHE_USERNAME"] : []),
                                              ...(args.cache.caConfigMap ? ["caFileFrom=CACHE_CA_FILE"] : []),
                                          ].join("&")}`,
                                      ]
                                    : []),
                                ...add.dependencies,
                            ])
                            .apply((urls) => urls.join(",")),
                    ),
                    ...cacheEnv,
                    ...Object.entries(d.env ?? {}).map(([k, v]) => env(k, v)),
                    ...add.env,
                ],
                envFrom: add.envFrom.length > 0 ? add.envFrom : undefined,
                volumes: [{ name: "app-runtime", configMap: { name: args.runtime.configMap } }, ...add.volumes],
                volumeMounts: [{ name: "app-runtime", mountPath: "/opt/app", readOnly: true }, ...add.volumeMounts],
                initContainers: add.initContainers.length > 0 ? add.initContainers : undefined,
                resources: resourcesFor(cfg, svc),
                runAsUser: NODE_UID,
                port: { containerPort: APP_PORT, servicePort: SERVICE_PORT, name: "http" },
                health: { http: { path: "/healthz", readyPath: "/readyz", port: "http" } },
                replicas: config.replicas,
                // KEDA's ScaledObject owns the HPA when present; otherwise the Microservice's CPU HPA.
                autoscaling: keda ? undefined : autoscaling,
                externalAutoscaler: !!keda,
                metricsPort: METRICS_PORT,
                ingress: args.flows.ingress(party),
                egress: args.flows.egress(party),
                podAnnotations: { "checksum/app-runtime": args.runtime.checksum, ...add.podAnnotations },
                // Its readiness asks payment's database server for a session at start (a startup message,
                // which the server answers before its roles or databases exist): the server comes first
                // (the contract's first `ready` resource), not the whole bootstrap, which would make a
                // first deploy deeper than the mesh's chain (tests/start-order.test.ts).
                dependsOn: [
                    ...(args.mesh?.ready ?? []),
                    ...(d.transactionHistory && args.transactionDatabase
                        ? args.transactionDatabase.endpoint.ready.slice(0, 1)
                        : []),
                ],
            },
            { parent: this, dependsOn: args.dependsOn },
        );

        if (keda && autoscaling && args.monitoring) {
            this.scaledObject = new k8s.apiextensions.CustomResource(
                `${name}-scaledobject`,
                {
                    apiVersion: "keda.sh/v1alpha1",
                    kind: "ScaledObject",
                    metadata: { name: svc, namespace: args.namespace, labels },
                    spec: scaledObjectSpec(svc, args.namespace, autoscaling, args.monitoring.prometheusUrl),
                },
                { parent: this, provider, dependsOn: [keda, this.workload.deployment] },
            );
        }

        if (args.mesh) {
            args.mesh.trafficPolicy(
                name,
                {
                    namespace: args.namespace,
                    service: svc,
                    port: SERVICE_PORT,
                    selector: this.workload.selector,
                    retries: d.retries,
                    timeout: d.timeout,
                    plaintextPorts: args.flows.plaintextPorts(party),
                },
                this,
            );
            if (config.publicPrefix) {
                args.mesh.publicRoute(
                    name,
                    {
                        namespace: args.namespace,
                        service: svc,
                        port: SERVICE_PORT,
                        prefix: `${config.publicPrefix}/`,
                        rewrite: "/",
                        timeout: d.timeout,
                    },
                    this,
                );
                this.publicUrl = `https://${publicHosts(cfg).api}${config.publicPrefix}`;
            }
        }

        args.monitoring?.serviceMonitor(
            name,
            {
                namespace: args.namespace,
                service: svc,
                selector: this.workload.selector,
                port: "http-metrics",
                alerts: { slo: d.slo, extra: d.alerts?.(args.namespace, svc) },
            },
            this,
        );

        this.registerOutputs({ address: this.workload.address });
    }
}

/** KEDA ScaledObject: CPU and the Prometheus request rate; the HPA it creates carries the service's name. */
export function scaledObjectSpec(
    svc: string,
    namespace: string,
    a: NonNullable<ServiceConfig["autoscaling"]>,
    prometheusUrl: string,
) {
    return {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: svc },
        minReplicaCount: a.minReplicas,
        maxReplicaCount: a.maxReplicas,
        pollingInterval: 15,
        advanced: {
            // `kubectl get hpa -n ecommerce` lists the services by name.
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
            { type: "cpu", metricType: "Utilization", metadata: { value: String(a.cpuUtilization) } },
            {
                type: "prometheus",
                metricType: "AverageValue",
                metadata: {
                    serverAddress: prometheusUrl,
                    query: requestRateExpr(namespace, svc),
                    // Target requests per second per replica.
                    threshold: String(a.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND),
                    ignoreNullValues: "true",
                },
            },
        ],
    };
}

/**
 * The model artefact is mounted read-only from an emptyDir an init container fills (here from a
 * ConfigMap holding the file shipped with the program; a model registry download in the same place
 * later).
 */
function modelArtefact(
    name: string,
    args: CoreServiceArgs,
    model: NonNullable<ServiceDescription["model"]>,
    add: Additions,
    o: pulumi.CustomResourceOptions,
) {
    const { cfg } = args.ctx;
    const svc = args.config.name;
    const text = fs.readFileSync(path.join(MODEL_DIR, model.file), "utf8");
    const { version } = JSON.parse(text) as { version: string };
    const artefact = new k8s.core.v1.ConfigMap(
        `${name}-model`,
        {
            metadata: { name: `${svc}-model`, namespace: args.namespace, labels: appLabels(svc, PART_OF, "model") },
            data: { [model.file]: text },
        },
        o,
    );
    add.env.push(env("MODEL_PATH", `${model.mountPath}/${model.file}`), env("MODEL_VERSION", version));
    add.volumes.push(
        { name: "model-artefact", configMap: { name: artefact.metadata.name } },
        { name: "model", emptyDir: { sizeLimit: "64Mi" } },
    );
    add.volumeMounts.push({ name: "model", mountPath: model.mountPath, readOnly: true });
    add.initContainers.push(
        container({
            name: "load-model",
            image: cfg.images.service,
            command: ["cp", `/artefact/${model.file}`, `${model.mountPath}/${model.file}`],
            resources: resourcesFor(cfg, svc),
            volumeMounts: [
                { name: "model-artefact", mountPath: "/artefact", readOnly: true },
                { name: "model", mountPath: model.mountPath },
            ],
        }),
    );
    add.podAnnotations["checksum/model"] = sha(text);
}

/** The OIDC issuer's public settings (discovery on the public API host under /auth). */
export function oidcSettings(cfg: PlatformConfig): Record<string, string> {
    const issuer = `https://${publicHosts(cfg).api}/auth`;
    return {
        OIDC_ISSUER: issuer,
        OIDC_DISCOVERY_URL: `${issuer}/.well-known/openid-configuration`,
        OIDC_JWKS_URI: `${issuer}/.well-known/jwks.json`,
        // Access tokens are for the API host; the mesh accepts no other audience.
        OIDC_AUDIENCE: `https://${publicHosts(cfg).api}`,
        OIDC_USERINFO_ENDPOINT: `${issuer}/userinfo`,
        OIDC_AUTHORIZATION_ENDPOINT: `${issuer}/authorize`,
        OIDC_TOKEN_ENDPOINT: `${issuer}/token`,
        OIDC_SCOPES: "openid profile email offline_access",
        OIDC_GRANT_TYPES: "authorization_code,refresh_token",
        OIDC_PKCE_REQUIRED: "true",
        OIDC_SIGNING_ALG: "RS256",
        ACCESS_TOKEN_TTL: "15m",
        REFRESH_TOKEN_TTL: "336h",
        // The shop's web client: public (no secret), PKCE required, back to the shop's host.
        OIDC_CLIENTS: JSON.stringify([
            { client_id: "warung-kopi", redirect_uris: [`https://${cfg.shop.ingressHost}/callback`] },
        ]),
    };
}

/**
 * A laptop's sign-in: user `demo` with a generated password (Secret `<service>-users`, key
 * demo-password), which the reference issuer checks against a scrypt hash (key users.json, the only
 * file mounted). Production stacks have no demo user: the real identity service's image takes over.
 */
function demoUser(
    name: string,
    args: CoreServiceArgs,
    labels: Record<string, string>,
    add: Additions,
    o: pulumi.CustomResourceOptions,
) {
    const svc = args.config.name;
    const password = new random.RandomPassword(
        `${name}-demo-password`,
        { length: 24, special: false },
        { parent: o.parent },
    );
    // A salt fixed per stack, so the same password gives the same file (no diff on every update).
    const salt = crypto.createHash("sha256").update(`${args.ctx.cfg.stack}/${svc}/demo`).digest().subarray(0, 16);
    const users = password.result.apply((pw) =>
        JSON.stringify({
            demo: { salt: salt.toString("base64"), hash: crypto.scryptSync(pw, salt, 32).toString("base64") },
        }),
    );
    const secret = new k8s.core.v1.Secret(
        `${name}-users`,
        {
            metadata: { name: `${svc}-users`, namespace: args.namespace, labels },
            type: "Opaque",
            stringData: { "users.json": pulumi.secret(users), "demo-password": password.result },
        },
        o,
    );
    add.env.push(env("USERS_PATH", "/var/run/secrets/auth-users/users.json"));
    add.volumes.push({
        name: "users",
        secret: {
            secretName: secret.metadata.name,
            defaultMode: 0o440,
            items: [{ key: "users.json", path: "users.json" }],
        },
    });
    add.volumeMounts.push({ name: "users", mountPath: "/var/run/secrets/auth-users", readOnly: true });
}

/** A JWKS document holding one RSA public key (PEM), with its key ID. */
export function jwks(publicKeyPem: string, kid: string): string {
    const jwk = crypto.createPublicKey(publicKeyPem).export({ format: "jwk" });
    return JSON.stringify({ keys: [{ kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: "RS256", use: "sig" }] });
}

/** Tokens signed with a generated RSA key (Secret, mounted read-only); rotate by replacing the key resource. */
function oidcIssuer(
    name: string,
    args: CoreServiceArgs,
    labels: Record<string, string>,
    add: Additions,
    o: pulumi.CustomResourceOptions,
) {
    const svc = args.config.name;
    const key = new tls.PrivateKey(`${name}-signing-key`, { algorithm: "RSA", rsaBits: 2048 }, { parent: o.parent });
    const keyId = new random.RandomId(
        `${name}-signing-key-id`,
        { byteLength: 8, keepers: { key: key.id } },
        { parent: o.parent },
    );
    const signingKey = new k8s.core.v1.Secret(
        `${name}-signing-key`,
        {
            metadata: { name: `${svc}-signing-key`, namespace: args.namespace, labels },
            type: "Opaque",
            stringData: { "signing-key.pem": key.privateKeyPemPkcs8 },
        },
        o,
    );
    const oidc = new k8s.core.v1.ConfigMap(
        `${name}-oidc`,
        { metadata: { name: `${svc}-oidc`, namespace: args.namespace, labels }, data: oidcSettings(args.ctx.cfg) },
        o,
    );
    add.envFrom.push({ configMapRef: { name: oidc.metadata.name } });
    if (args.ctx.cfg.tier === "dev") demoUser(name, args, labels, add, o);
    add.env.push(env("SIGNING_KEY_PATH", "/var/run/secrets/auth/signing-key.pem"), env("SIGNING_KEY_ID", keyId.hex));
    // Every sidecar of the namespace validates this issuer's tokens against its public key (inline: istiod,
    // outside the mesh, could not fetch the JWKS from a STRICT mTLS service), so requirements on user
    // paths hold without a call to auth. A new key is a new JWKS here and in the service at once.
    if (args.mesh) {
        const settings = oidcSettings(args.ctx.cfg);
        args.mesh.authorization(
            `${name}-issuer`,
            {
                namespace: args.namespace,
                policies: [],
                requestAuthentications: [
                    {
                        name: `${svc}-issuer`,
                        spec: {
                            jwtRules: [
                                {
                                    issuer: settings.OIDC_ISSUER,
                                    audiences: [settings.OIDC_AUDIENCE],
                                    jwks: pulumi
                                        .all([key.publicKeyPem, keyId.hex])
                                        .apply(([pem, kid]) => jwks(pem, kid)),
                                    forwardOriginalToken: true,
                                },
                            ],
                        },
                    },
                ],
            },
            o.parent!,
        );
    }
    add.volumes.push({ name: "signing-key", secret: { secretName: signingKey.metadata.name, defaultMode: 0o440 } });
    add.volumeMounts.push({ name: "signing-key", mountPath: "/var/run/secrets/auth", readOnly: true });
}

/**
 * The transaction history lives in a database of its own, served by whichever engine the stack runs
 * (the contract hides which); its layer generates the login and declares role and database. The pod
 * gets the login by Secret reference only, and writes through the read-write host.
 */
function transactionHistory(
    name: string,
    args: CoreServiceArgs,
    db: DatabaseAccess,
    labels: Record<string, string>,
    add: Additions,
    o: pulumi.CustomResourceOptions,
) {
    const svc = args.config.name;
    const { endpoint, login } = db;
    const secret = new k8s.core.v1.Secret(
        `${name}-db`,
        {
            metadata: {
                name: `${svc}-db`,
                namespace: args.namespace,
                labels: { ...labels, ...componentLabel("payments") },
            },
            type: "Opaque",
            stringData: {
                username: pulumi.secret(login.username),
                password: login.password,
                database: pulumi.secret(endpoint.database),
            },
        },
        o,
    );
    add.env.push(
        env("TRANSACTION_DB_HOST", endpoint.host),
        env("TRANSACTION_DB_PORT", String(endpoint.port)),
        env("TRANSACTION_DB_SSLMODE", endpoint.sslMode),
        secretEnv("TRANSACTION_DB_NAME", secret.metadata.name, "database"),
        secretEnv("TRANSACTION_DB_USER", secret.metadata.name, "username"),
        secretEnv("TRANSACTION_DB_PASSWORD", secret.metadata.name, "password"),
    );
    // Payment cannot take a charge it cannot record: its database is a readiness dependency.
    add.dependencies.push(
        pulumi.interpolate`postgres://${endpoint.host}:${endpoint.port}/?userFrom=TRANSACTION_DB_USER&databaseFrom=TRANSACTION_DB_NAME&sslmode=${endpoint.sslMode}`,
    );
}
