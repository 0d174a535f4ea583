// The Redis Enterprise custom resources' specs (app.redislabs.com, operator 8.2): pure builders, so
// tests check them without a Pulumi runtime. Field names follow the operator's CRDs (tests validate
// every object against tests/schemas/redis-enterprise.ts, a subset transcribed from them).
import { type PlatformConfig, resourcesFor } from "../../config";
import { publicHosts } from "../hosts";
import {
    type ConsumerAccess,
    consumerAcl,
    consumerObjectName,
    DATABASES,
    type DatabaseRef,
    LICENSE_SECRET,
    PEERING_USER,
    recName,
    REGIONAL_SESSIONS_SECRET,
    SESSIONS_SECRET,
} from "./plan";

/** Secret (kubernetes.io/tls: tls.crt, tls.key, ca.crt) of the certificate the databases and the metrics exporter present. */
export const SERVER_CERTIFICATE_SECRET = "redis-enterprise-server-tls";
/** ConfigMap (key ca.crt) with the CA that signs it, next to the cluster (Prometheus verifies the exporter with it). */
export const CA_CONFIGMAP = "redis-enterprise-ca";
/**
 * Annotation the operator is asked to put on the routing objects it creates for ingressOrRouteSpec
 * (its Istio Gateway and VirtualService): external-dns skips objects whose controller is not its own.
 * The program's own peer Gateway is the one that may carry the names into DNS (config publicDns).
 */
export const OPERATOR_ROUTES_DNS_OPT_OUT = { "external-dns.alpha.kubernetes.io/controller": "none" };

export interface ClusterSpecOptions {
    /** Admin user name (its Secret is the REC's clusterCredentialSecretName). */
    username: string;
    storageClassName: string;
    /** Peers configured: the cluster gets the external names Active-Active needs (ingressOrRouteSpec). */
    activeActive: boolean;
    /** The program created the licence Secret (LICENSE_SECRET) from the secret config key redisEnterpriseLicense. */
    licenseFromConfig: boolean;
}

/** The RedisEnterpriseCluster spec for this region. */
export function clusterSpec(cfg: PlatformConfig, o: ClusterSpecOptions): Record<string, unknown> {
    const r = cfg.redisEnterprise;
    const hosts = publicHosts(cfg);
    const s = cfg.scheduling;
    const node = resourcesFor(cfg, "redis-enterprise-node");
    return {
        nodes: r.nodes,
        username: o.username,
        // Our Secret (created first), so the credentials are known to this program; they never leave the region.
        clusterCredentialSecretName: recName(cfg.region),
        // requests == limits: Redis Enterprise nodes should run with Guaranteed QoS.
        redisEnterpriseNodeResources: {
            requests: { cpu: node.requests.cpu, memory: node.requests.memory },
            limits: { cpu: node.requests.cpu, memory: node.requests.memory },
        },
        persistentSpec: { enabled: true, volumeSize: r.storageSize, storageClassName: o.storageClassName },
        // Clients and Prometheus verify the databases' and the exporter's certificate against our CA.
        certificates: {
            proxyCertificateSecretName: SERVER_CERTIFICATE_SECRET,
            metricsExporterCertificateSecretName: SERVER_CERTIFICATE_SECRET,
        },
        // Active-Active: the external names peers use for the cluster API and the databases. The
        // operator routes them through Istio; the program serves them to the peers' addresses only,
        // from a gateway of its own (./exposure.ts), and keeps them out of the public ingress gateway.
        ...(o.activeActive
            ? {
                  ingressOrRouteSpec: {
                      method: "istio",
                      apiFqdnUrl: hosts.redisApi,
                      dbFqdnSuffix: hosts.redisDbSuffix,
                      ingressAnnotations: { ...OPERATOR_ROUTES_DNS_OPT_OUT },
                  },
              }
            : {}),
        // The licence (key `license`): the Secret the program made from config, or one kept outside
        // Pulumi (config/rules.ts allows one of them); none: the trial (no production stack runs on it).
        ...(o.licenseFromConfig
            ? { licenseSecretName: LICENSE_SECRET }
            : r.licenseSecretName
              ? { licenseSecretName: r.licenseSecretName }
              : {}),
        // No SYS_RESOURCE capability: node containers drop ALL capabilities and cannot escalate.
        securityContext: { resourceLimits: { allowAutoAdjustment: false } },
        uiServiceType: "ClusterIP",
        ...(Object.keys(s.nodeSelector).length > 0 ? { nodeSelector: { ...s.nodeSelector } } : {}),
        ...(s.tolerations.length > 0 ? { podTolerations: s.tolerations.map((t) => ({ ...t })) } : {}),
    };
}

/** What every database shares: a replica shard on another node, TLS for every connection, AOF persistence. */
function databaseSettings(memorySize: string, db: DatabaseRef) {
    return {
        memorySize,
        replication: db.replication,
        shardCount: db.shardCount,
        databasePort: db.port,
        // Every client and replication connection is TLS, verified against the cluster's CA.
        tlsMode: "enabled",
        // Sessions survive a restart of every node.
        persistence: "aofEverySecond",
    };
}

/** The regional cache database: no default user (no shared password), one ACL user per consumer. */
export function cacheDatabaseSpec(cfg: PlatformConfig): Record<string, unknown> {
    return {
        redisEnterpriseCluster: { name: recName(cfg.region) },
        ...databaseSettings(cfg.redisEnterprise.databaseMemory, DATABASES.cache),
        defaultUser: false,
    };
}

/** auth's regional sessions database: its default user's password is auth's alone. */
export function regionalSessionsSpec(cfg: PlatformConfig): Record<string, unknown> {
    return {
        redisEnterpriseCluster: { name: recName(cfg.region) },
        ...databaseSettings(cfg.redisEnterprise.sessionsMemory, DATABASES.regionalSessions),
        databaseSecretName: REGIONAL_SESSIONS_SECRET,
    };
}

/** auth's Active-Active sessions database, across the participating clusters (their RERC names). */
export function activeActiveSessionsSpec(cfg: PlatformConfig, participants: string[]): Record<string, unknown> {
    return {
        participatingClusters: participants.map((name) => ({ name })),
        globalConfigurations: {
            ...databaseSettings(cfg.redisEnterprise.sessionsMemory, DATABASES.sessions),
            databaseSecretName: SESSIONS_SECRET,
        },
    };
}

/** A custom resource of the operator's access-control kinds (app.redislabs.com/v1alpha1). */
export interface AccessObject {
    kind:
        | "RedisEnterpriseUser"
        | "RedisEnterpriseACL"
        | "RedisEnterpriseRole"
        | "RedisEnterpriseRoleBinding"
        | "RedisEnterpriseClusterRole"
        | "RedisEnterpriseClusterRoleBinding";
    name: string;
    spec: Record<string, unknown>;
}

/** A user (password from `secret`, key `password`), the way users log in to the cluster. */
function user(name: string, username: string, email: string, secret: string): AccessObject {
    return {
        kind: "RedisEnterpriseUser",
        name,
        // Single: the password changes in place when the Secret changes (the Secret stays ours to update).
        spec: { username, email, passwordSecrets: [{ name: secret }], passwordMode: "Single" },
    };
}

/**
 * One cache consumer's access: an ACL for its own keys, a role scoped to the cache database with that
 * ACL and no management rights, the binding, and its user (password in Secret consumerObjectName()).
 */
export function consumerAccessObjects(cfg: PlatformConfig, a: ConsumerAccess): AccessObject[] {
    if (!a.username) return [];
    const name = consumerObjectName(a.consumer);
    return [
        { kind: "RedisEnterpriseACL", name, spec: { acl: consumerAcl(a.consumer) } },
        {
            kind: "RedisEnterpriseRole",
            name,
            spec: {
                managementRole: "None",
                scopes: [{ kind: "RedisEnterpriseDatabase", name: a.database.name }],
                acl: { kind: "RedisEnterpriseACL", name },
            },
        },
        user(name, a.username, `${name}@${cfg.domain}`, name),
        {
            kind: "RedisEnterpriseRoleBinding",
            name,
            spec: {
                roleRef: { kind: "RedisEnterpriseRole", name },
                subjects: [{ kind: "RedisEnterpriseUser", name }],
            },
        },
    ];
}

/** The peering user's login name (RERC credentials of this cluster in every participating region). */
export const peeringUsername = (cfg: PlatformConfig) => `${PEERING_USER}@${cfg.domain}`;

/**
 * The Active-Active peering identity: Admin management role (Active-Active management runs with
 * administrator credentials of each participating cluster), no data access (no ACL). Its own user, so
 * the cluster's administrator (the operator's login) never leaves the region and the peering login
 * can be rotated or revoked alone.
 */
export function peeringAccessObjects(cfg: PlatformConfig): AccessObject[] {
    return [
        { kind: "RedisEnterpriseClusterRole", name: PEERING_USER, spec: { managementRole: "Admin" } },
        user(PEERING_USER, peeringUsername(cfg), peeringUsername(cfg), PEERING_USER),
        {
            kind: "RedisEnterpriseClusterRoleBinding",
            name: PEERING_USER,
            spec: {
                roleRef: { kind: "RedisEnterpriseClusterRole", name: PEERING_USER },
                subjects: [{ kind: "RedisEnterpriseUser", name: PEERING_USER }],
            },
        },
    ];
}
